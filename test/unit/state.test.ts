import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advance,
  allowedTransitions,
  initialState,
  probeIsDue,
  policyFor,
  IllegalTransitionError,
} from '../../src/state/machine.js';
import type { AuthState, ConnectionState, StateChange, StatePolicy } from '../../src/state/types.js';
import { OUTCOMES, type Outcome } from '../../src/diagnosis/outcome-names.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const MINUTE = 60_000;
const policy: StatePolicy = { failureThreshold: 2, recoveryThreshold: 1, lockoutBackoff: false };

/** Feeds outcomes one minute apart; returns every step's state and change. */
function run(outcomes: Outcome[], p: StatePolicy = policy, start: ConnectionState = initialState(), startAt = T0) {
  let state = start;
  const steps: { state: ConnectionState; change: StateChange | null; at: string }[] = [];
  outcomes.forEach((outcome, i) => {
    const at = new Date(startAt + i * MINUTE).toISOString();
    const result = advance(state, { outcome, at }, p);
    state = result.next;
    steps.push({ state, change: result.change, at });
  });
  return { state, steps, changes: steps.flatMap((s) => (s.change ? [s.change] : [])) };
}
const states = (outcomes: Outcome[], p = policy) => run(outcomes, p).steps.map((s) => s.state.state);

test('a new connection starts unknown with nothing recorded', () => {
  const s = initialState();
  assert.equal(s.state, 'unknown');
  assert.equal(s.since, null);
  assert.equal(s.everSucceeded, false);
  assert.equal(probeIsDue(s, new Date(T0)), true);
});

test('from unknown one success is enough for ok, and since is the probe time', () => {
  const { state, changes } = run(['ok'], { ...policy, recoveryThreshold: 3 });
  assert.equal(state.state, 'ok');
  assert.equal(state.since, '2026-03-01T10:00:00.000Z');
  assert.equal(state.lastSuccessAt, '2026-03-01T10:00:00.000Z');
  assert.deepEqual(changes, [{ from: 'unknown', to: 'ok', at: '2026-03-01T10:00:00.000Z', outcome: 'ok' }]);
});

test('auth failures on a connection that never worked: failing only at the threshold', () => {
  assert.deepEqual(states(['auth_rejected', 'auth_rejected', 'auth_rejected']), ['unknown', 'failing', 'failing']);
  assert.deepEqual(states(['auth_rejected', 'auth_rejected', 'auth_rejected'], { ...policy, failureThreshold: 3 }), [
    'unknown',
    'unknown',
    'failing',
  ]);
  const { state, changes } = run(['basic_auth_rejected', 'basic_auth_rejected']);
  assert.equal(state.firstFailureAt, '2026-03-01T10:00:00.000Z');
  assert.equal(state.since, '2026-03-01T10:01:00.000Z');
  assert.equal(state.lastAuthOutcome, 'basic_auth_rejected');
  assert.deepEqual(changes, [{ from: 'unknown', to: 'failing', at: '2026-03-01T10:01:00.000Z', outcome: 'basic_auth_rejected' }]);
});

test('auth failures after a success, ever: regressed (the headline alert), not failing', () => {
  assert.deepEqual(states(['ok', 'scope_mismatch', 'scope_mismatch']), ['ok', 'ok', 'regressed']);
  const { state } = run(['ok', 'ok', 'captcha_required', 'captcha_required']);
  assert.equal(state.state, 'regressed');
  assert.equal(state.lastSuccessAt, '2026-03-01T10:01:00.000Z');
  assert.equal(state.firstFailureAt, '2026-03-01T10:02:00.000Z');
  assert.equal(state.everSucceeded, true);
});

test('a single failure between successes changes nothing and the run restarts after ok', () => {
  assert.deepEqual(states(['ok', 'auth_rejected', 'ok', 'auth_rejected', 'ok']), ['ok', 'ok', 'ok', 'ok', 'ok']);
  const { state } = run(['ok', 'auth_rejected', 'ok']);
  assert.equal(state.consecutiveFailures, 0);
  assert.equal(state.firstFailureAt, null);
});

test('network/tls/server failures from unknown or ok: unreachable, and the last auth verdict is kept', () => {
  assert.deepEqual(states(['timeout', 'dns_error']), ['unknown', 'unreachable']);
  assert.deepEqual(states(['ok', 'tls_cert_invalid', 'server_error']), ['ok', 'ok', 'unreachable']);
  const { state } = run(['ok', 'rate_limited', 'connect_error']);
  assert.equal(state.lastAuthOutcome, 'ok');
  assert.equal(state.lastOutcome, 'connect_error');
  assert.equal(state.lastOutcomeClass, 'network');
  assert.equal(state.consecutiveFailures, 2);
});

test('an unreachable connection moves to failing or regressed after failureThreshold auth answers in a row', () => {
  assert.deepEqual(states(['timeout', 'timeout', 'auth_rejected', 'auth_rejected']), ['unknown', 'unreachable', 'unreachable', 'failing']);
  assert.deepEqual(states(['ok', 'timeout', 'timeout', 'login_page', 'login_page']), ['ok', 'ok', 'unreachable', 'unreachable', 'regressed']);
  // Jira coming back from maintenance serves one login page, then works: no auth incident.
  assert.deepEqual(states(['ok', 'connect_error', 'connect_error', 'login_page', 'ok']), ['ok', 'ok', 'unreachable', 'unreachable', 'ok']);
});

test('failing and regressed stay put through network/tls/server outcomes; counters still advance', () => {
  const noise: Outcome[] = ['timeout', 'dns_error', 'tls_handshake_failed', 'server_error', 'not_found', 'rate_limited'];
  const failing = run(['auth_rejected', 'auth_rejected', ...noise]);
  assert.deepEqual(failing.changes.map((c) => c.to), ['failing']);
  assert.equal(failing.state.state, 'failing');
  assert.equal(failing.state.since, '2026-03-01T10:01:00.000Z');
  assert.equal(failing.state.consecutiveFailures, 2 + noise.length);
  assert.equal(failing.state.lastAuthOutcome, 'auth_rejected');
  assert.equal(failing.state.lastOutcome, 'rate_limited');

  const regressed = run(['ok', 'forbidden', 'forbidden', ...noise, 'anonymous']);
  assert.deepEqual(regressed.changes.map((c) => c.to), ['ok', 'regressed']);
  assert.equal(regressed.state.lastAuthOutcome, 'anonymous');
});

test('mixed runs: failureThreshold counts outcomes of one kind in a row; consecutiveFailures counts them all', () => {
  assert.deepEqual(states(['ok', 'auth_rejected', 'timeout']), ['ok', 'ok', 'ok']);
  assert.deepEqual(states(['ok', 'timeout', 'auth_rejected']), ['ok', 'ok', 'ok']);
  assert.deepEqual(states(['ok', 'auth_rejected', 'auth_rejected', 'timeout']), ['ok', 'ok', 'regressed', 'regressed'], 'a real regression is not reported as unreachable');
  assert.deepEqual(states(['ok', 'auth_rejected', 'timeout', 'timeout']), ['ok', 'ok', 'ok', 'unreachable']);
  assert.deepEqual(states(['connect_error', 'redirected', 'redirected']), ['unknown', 'unknown', 'failing']);
  const { state } = run(['ok', 'auth_rejected', 'timeout', 'server_error']);
  assert.equal(state.consecutiveFailures, 3);
  assert.equal(state.failureRun, 2);
});

test('the lockout back-off is not raised when nothing reached the server', () => {
  const dcBasic = { ...policy, lockoutBackoff: true };
  const missing = run(['credential_missing', 'credential_malformed', 'credential_missing'], dcBasic).state;
  assert.equal(missing.backoffUntil, null);
  assert.equal(missing.backoffLevel, 0);
  const rejected = run(['auth_rejected'], dcBasic).state;
  assert.notEqual(rejected.backoffUntil, null);
});

test('recovery from a bad state needs recoveryThreshold successes in a row', () => {
  const p = { ...policy, recoveryThreshold: 3 };
  assert.deepEqual(states(['ok', 'auth_rejected', 'auth_rejected', 'ok', 'ok', 'timeout', 'ok', 'ok', 'ok'], p), [
    'ok',
    'ok',
    'regressed',
    'regressed',
    'regressed',
    'regressed',
    'regressed',
    'regressed',
    'ok',
  ]);
  assert.deepEqual(states(['timeout', 'timeout', 'ok', 'ok', 'ok'], p), ['unknown', 'unreachable', 'unreachable', 'unreachable', 'ok']);
  const { changes } = run(['auth_rejected', 'auth_rejected', 'ok'], policy);
  assert.deepEqual(changes.map((c) => [c.from, c.to]), [['unknown', 'failing'], ['failing', 'ok']]);
});

test('a failing connection that authenticated once but not enough to recover stays failing, not regressed', () => {
  const p = { ...policy, recoveryThreshold: 2 };
  const { state, changes } = run(['auth_rejected', 'auth_rejected', 'ok', 'auth_rejected', 'auth_rejected'], p);
  assert.equal(state.state, 'failing');
  assert.equal(state.everSucceeded, true);
  assert.deepEqual(changes.map((c) => c.to), ['failing']);
});

test('lockout back-off: 5 min doubling to a 1 h cap after each auth failure, reset by ok', () => {
  const p = { ...policy, lockoutBackoff: true };
  const { steps } = run(Array<Outcome>(7).fill('captcha_required'), p);
  const delaysMin = steps.map((s) => (Date.parse(s.state.backoffUntil!) - Date.parse(s.at)) / MINUTE);
  assert.deepEqual(delaysMin, [5, 10, 20, 40, 60, 60, 60]);

  const recovered = run(['auth_rejected', 'auth_rejected', 'ok'], p);
  assert.equal(recovered.state.backoffUntil, null);
  assert.equal(recovered.state.backoffLevel, 0);
  const again = run(['auth_rejected'], p, recovered.state, T0 + 10 * MINUTE);
  assert.equal(again.state.backoffUntil, new Date(T0 + 15 * MINUTE).toISOString());
});

test('lockout back-off is not raised by network failures, nor without the lockout policy', () => {
  const p = { ...policy, lockoutBackoff: true };
  const { steps } = run(['auth_rejected', 'timeout', 'timeout'], p);
  assert.deepEqual(steps.map((s) => s.state.backoffUntil), Array(3).fill('2026-03-01T10:05:00.000Z'));
  assert.equal(run(['auth_rejected', 'auth_rejected'], policy).state.backoffUntil, null);
});

test('probeIsDue is false while the back-off runs and true from its end', () => {
  const { state } = run(['auth_rejected'], { ...policy, lockoutBackoff: true });
  assert.equal(probeIsDue(state, new Date(T0 + 1 * MINUTE)), false);
  assert.equal(probeIsDue(state, new Date(T0 + 5 * MINUTE - 1)), false);
  assert.equal(probeIsDue(state, new Date(T0 + 5 * MINUTE)), true);
  assert.equal(probeIsDue(state, new Date(T0 + 1 * MINUTE), { lockoutBackoff: false }), true, 'no longer Data Center basic auth: the old back-off is void');
});

test('the lockout policy applies to Data Center basic auth only', () => {
  const base = { failureThreshold: 3, recoveryThreshold: 2 };
  assert.deepEqual(policyFor({ ...base, deployment: 'datacenter', auth: { type: 'basic' } }), { ...base, lockoutBackoff: true });
  assert.equal(policyFor({ ...base, deployment: 'cloud', auth: { type: 'basic' } }).lockoutBackoff, false);
  assert.equal(policyFor({ ...base, deployment: 'datacenter', auth: { type: 'bearer' } }).lockoutBackoff, false);
});

test('timestamps are normalised, and a bad one is refused', () => {
  const { next } = advance(initialState(), { outcome: 'ok', at: '2026-03-01T11:00:00+01:00' }, policy);
  assert.equal(next.lastProbeAt, '2026-03-01T10:00:00.000Z');
  assert.throws(() => advance(initialState(), { outcome: 'ok', at: 'yesterday' }, policy), RangeError);
});

test('a state outside the table is refused rather than silently moved', () => {
  // A corrupted stored state (ok, never succeeded) would make auth failures lead to failing, which ok may not reach.
  const corrupted: ConnectionState = { ...initialState(), state: 'ok', since: new Date(T0).toISOString(), everSucceeded: false };
  assert.throws(() => run(['auth_rejected', 'auth_rejected'], policy, corrupted), IllegalTransitionError);
});

test('random outcome sequences only ever make transitions from the table, with consistent counters', () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const seen = new Set<string>();
  for (let round = 0; round < 300; round++) {
    const p: StatePolicy = {
      failureThreshold: 1 + Math.floor(random() * 3),
      recoveryThreshold: 1 + Math.floor(random() * 3),
      lockoutBackoff: random() < 0.5,
    };
    // Bias toward ok so that recoveries happen too.
    const outcomes = Array.from({ length: 40 }, () => (random() < 0.35 ? 'ok' : OUTCOMES[Math.floor(random() * OUTCOMES.length)]));
    let prev = initialState();
    for (const step of run(outcomes, p).steps) {
      if (step.change) {
        assert.ok(allowedTransitions[step.change.from].includes(step.change.to), `${step.change.from} → ${step.change.to}`);
        assert.equal(step.change.from, prev.state);
        assert.equal(step.state.since, step.at);
        seen.add(`${step.change.from}>${step.change.to}`);
      }
      const s = step.state;
      assert.ok(s.consecutiveFailures === 0 || s.consecutiveSuccesses === 0);
      if (s.state === 'regressed') assert.equal(s.everSucceeded, true);
      if (s.state === 'ok') assert.equal(s.everSucceeded, true);
      if (s.state === 'unknown') assert.equal(s.everSucceeded, false);
      if (!p.lockoutBackoff) assert.equal(s.backoffUntil, null);
      prev = s;
    }
  }
  // Every transition in the table is reachable.
  const table = (Object.keys(allowedTransitions) as AuthState[]).flatMap((from) => allowedTransitions[from].map((to) => `${from}>${to}`));
  assert.deepEqual([...seen].sort(), table.sort());
});
