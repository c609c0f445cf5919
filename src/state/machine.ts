// The per-connection state machine (docs/behaviour.md, States): pure, time injected, no I/O.
//
// Decisions:
// - "N outcomes of a class in a row" is counted per kind of failure: auth-class outcomes form one
//   run, network/tls/server-class outcomes another (failureRun); an outcome of the other kind
//   starts a new run. So with threshold 2, `401, timeout` changes nothing yet, `401, 401` is
//   failing/regressed and `timeout, timeout` unreachable. consecutiveFailures (the metric) still
//   counts every failure since the last success.
// - An unreachable connection moves to failing/regressed after failureThreshold auth-class
//   outcomes in a row, like any other: one login page served while Jira comes back from
//   maintenance does not page.
// - failing and regressed are sticky bad states: network/tls/server outcomes and further auth
//   outcomes leave them as they are (one incident is not closed and reopened as another); only
//   recoveryThreshold successes in a row leave them, to ok. A failing connection that
//   authenticates once but not recoveryThreshold times stays failing.
// - From unknown a single ok is enough for ok (nothing to recover from).
// - Lockout back-off is raised by every auth-class outcome for which the credentials reached the
//   server (not credential_missing / credential_malformed: nothing was sent), left as it is by
//   other failures, and cleared by ok.
import { outcomeClass, type Outcome, type OutcomeClass } from '../diagnosis/outcome-names.js';
import { iso } from '../time/instant.js';
import type { AuthState, ConnectionState, StateChange, StatePolicy } from './types.js';

/** Every state change the machine may make; `advance` refuses anything else. */
export const allowedTransitions: Readonly<Record<AuthState, readonly AuthState[]>> = {
  unknown: ['ok', 'failing', 'unreachable'],
  ok: ['regressed', 'unreachable'],
  failing: ['ok'],
  regressed: ['ok'],
  unreachable: ['ok', 'failing', 'regressed'],
};

export const BACKOFF_BASE_MS = 5 * 60_000;
export const BACKOFF_MAX_MS = 60 * 60_000;
/** The level at which the delay reaches the cap; the level stops growing there. */
const BACKOFF_MAX_LEVEL = Math.ceil(Math.log2(BACKOFF_MAX_MS / BACKOFF_BASE_MS));

export interface ProbeResult {
  outcome: Outcome;
  /** When the probe started, ISO 8601. */
  at: string;
}

export interface Advance {
  next: ConnectionState;
  change: StateChange | null;
}

export class IllegalTransitionError extends Error {
  constructor(readonly from: AuthState, readonly to: AuthState) {
    super(`illegal state transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function initialState(): ConnectionState {
  return {
    state: 'unknown',
    since: null,
    consecutiveFailures: 0,
    failureRun: 0,
    consecutiveSuccesses: 0,
    lastOutcome: null,
    lastOutcomeClass: null,
    lastAuthOutcome: null,
    lastProbeAt: null,
    lastSuccessAt: null,
    everSucceeded: false,
    firstFailureAt: null,
    backoffUntil: null,
    backoffLevel: 0,
  };
}

/** The state one more probe leads to, and the change it makes (null when the state stays). */
export function advance(prev: ConnectionState, probe: ProbeResult, policy: StatePolicy): Advance {
  const at = iso(probe.at);
  const counters = probe.outcome === 'ok' ? afterSuccess(prev, at) : afterFailure(prev, probe.outcome, at, policy);
  const target = targetState(prev.state, counters, policy);

  if (target === prev.state) {
    return { next: { ...counters, state: prev.state, since: prev.since }, change: null };
  }
  if (!allowedTransitions[prev.state].includes(target)) throw new IllegalTransitionError(prev.state, target);
  return {
    next: { ...counters, state: target, since: at },
    change: { from: prev.state, to: target, at, outcome: probe.outcome },
  };
}

type Counters = Omit<ConnectionState, 'state' | 'since'>;

function afterSuccess(prev: ConnectionState, at: string): Counters {
  return {
    consecutiveFailures: 0,
    failureRun: 0,
    consecutiveSuccesses: prev.consecutiveSuccesses + 1,
    lastOutcome: 'ok',
    lastOutcomeClass: 'ok',
    lastAuthOutcome: 'ok',
    lastProbeAt: at,
    lastSuccessAt: at,
    everSucceeded: true,
    firstFailureAt: null,
    backoffUntil: null,
    backoffLevel: 0,
  };
}

/** Outcomes for which nothing reached the server: they cannot count towards a lockout. */
const NOTHING_SENT: ReadonlySet<Outcome> = new Set(['credential_missing', 'credential_malformed']);

function failureKind(cls: OutcomeClass | null): 'auth' | 'reach' | null {
  if (cls === null || cls === 'ok') return null;
  return cls === 'auth' ? 'auth' : 'reach';
}

function afterFailure(prev: ConnectionState, outcome: Outcome, at: string, policy: StatePolicy): Counters {
  const cls = outcomeClass(outcome);
  const isAuth = cls === 'auth';
  const raisesBackoff = isAuth && policy.lockoutBackoff && !NOTHING_SENT.has(outcome);
  const backoff = raisesBackoff ? nextBackoff(prev.backoffLevel, at) : { until: prev.backoffUntil, level: prev.backoffLevel };
  const sameKind = failureKind(prev.lastOutcomeClass) === failureKind(cls);
  return {
    consecutiveFailures: prev.consecutiveFailures + 1,
    failureRun: sameKind ? prev.failureRun + 1 : 1,
    consecutiveSuccesses: 0,
    lastOutcome: outcome,
    lastOutcomeClass: cls,
    lastAuthOutcome: isAuth ? outcome : prev.lastAuthOutcome,
    lastProbeAt: at,
    lastSuccessAt: prev.lastSuccessAt,
    everSucceeded: prev.everSucceeded,
    firstFailureAt: prev.consecutiveFailures === 0 || prev.firstFailureAt === null ? at : prev.firstFailureAt,
    backoffUntil: backoff.until,
    backoffLevel: backoff.level,
  };
}

/** 5 min, 10, 20, 40, then 60 min for every further auth failure. */
export function nextBackoff(level: number, at: string): { until: string; level: number } {
  const delay = Math.min(BACKOFF_BASE_MS * 2 ** level, BACKOFF_MAX_MS);
  return { until: new Date(Date.parse(at) + delay).toISOString(), level: Math.min(level + 1, BACKOFF_MAX_LEVEL) };
}

function targetState(current: AuthState, c: Counters, policy: StatePolicy): AuthState {
  if (c.lastOutcomeClass === 'ok') {
    if (current === 'unknown' || current === 'ok') return 'ok';
    return c.consecutiveSuccesses >= policy.recoveryThreshold ? 'ok' : current;
  }
  if (current === 'failing' || current === 'regressed') return current;
  if (c.failureRun < policy.failureThreshold) return current;
  if (c.lastOutcomeClass === 'auth') return c.everSucceeded ? 'regressed' : 'failing';
  return 'unreachable';
}

/**
 * Whether the scheduler should probe at this tick. False while a lockout back-off is running:
 * the tick is skipped, so the probe runs at the first scheduled tick after the back-off
 * (never more often than the schedule).
 */
export function probeIsDue(state: ConnectionState, now: Date, policy: Pick<StatePolicy, 'lockoutBackoff'> = { lockoutBackoff: true }): boolean {
  // A back-off left from before the connection stopped being Data Center basic auth (a reload) no longer applies.
  if (!policy.lockoutBackoff) return true;
  return state.backoffUntil === null || Date.parse(state.backoffUntil) <= now.getTime();
}

/** The policy of a configured connection. */
export function policyFor(connection: {
  failureThreshold: number;
  recoveryThreshold: number;
  deployment: 'cloud' | 'datacenter';
  auth: { type: string };
}): StatePolicy {
  return {
    failureThreshold: connection.failureThreshold,
    recoveryThreshold: connection.recoveryThreshold,
    lockoutBackoff: connection.deployment === 'datacenter' && connection.auth.type === 'basic',
  };
}
