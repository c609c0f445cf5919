import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planEventNotifications, planIncidentNotifications, notificationFromPlan, type IncidentPlanInput, type EventPlanInput } from '../../src/notify/plan.js';
import { compareWithLastSuccess, type ProbeSnapshot } from '../../src/notify/types.js';
import { buildNotifiers, outboxEntriesFor } from '../../src/notify/registry.js';
import { MemoryOutbox } from '../../src/notify/memory-outbox.js';
import { CONNECTION } from '../support/slack-notifications.js';

const POLICY = { reminderIntervalMs: 3_600_000, alertmanagerResendMs: 300_000, resolvedResendWindowMs: 900_000 };

function incident(patch: Partial<IncidentPlanInput>): IncidentPlanInput {
  return {
    connection: 'sf',
    now: '2025-03-04T10:00:00.000Z',
    change: null,
    current: { state: 'ok', since: '2025-03-01T00:00:00.000Z' },
    previousEvaluationAt: null,
    lastResolved: null,
    policy: POLICY,
    ...patch,
  };
}

const summary = (plans: ReturnType<typeof planIncidentNotifications>) => plans.map((plan) => `${plan.kind} ${plan.dedupeKey} [${plan.channels.join(',')}]`);

test('a change to regressed opens an incident on every channel', () => {
  const plans = planIncidentNotifications(
    incident({ change: { from: 'ok', to: 'regressed', at: '2025-03-04T10:00:00.000Z', fromSince: '2025-03-01T00:00:00.000Z' }, current: { state: 'regressed', since: '2025-03-04T10:00:00.000Z' } }),
  );
  assert.deepEqual(summary(plans), ['incident_opened sf|regressed|2025-03-04T10:00:00.000Z|opened [slack,alertmanager]']);
  assert.deepEqual(plans[0].transition, { from: 'ok', to: 'regressed' });
  assert.deepEqual(plans[0].incident, { state: 'regressed', openedAt: '2025-03-04T10:00:00.000Z', resolvedAt: null });
});

test('a change back to ok resolves the incident that opened when the bad state began', () => {
  const plans = planIncidentNotifications(
    incident({
      now: '2025-03-04T12:05:00.000Z',
      change: { from: 'regressed', to: 'ok', at: '2025-03-04T12:05:00.000Z', fromSince: '2025-03-04T10:00:00.000Z' },
      current: { state: 'ok', since: '2025-03-04T12:05:00.000Z' },
    }),
  );
  assert.deepEqual(summary(plans), ['incident_resolved sf|regressed|2025-03-04T10:00:00.000Z|resolved [slack,alertmanager]']);
  assert.deepEqual(plans[0].incident, { state: 'regressed', openedAt: '2025-03-04T10:00:00.000Z', resolvedAt: '2025-03-04T12:05:00.000Z' });
});

test('unreachable → regressed resolves the old incident and opens the new one', () => {
  const plans = planIncidentNotifications(
    incident({
      change: { from: 'unreachable', to: 'regressed', at: '2025-03-04T10:00:00.000Z', fromSince: '2025-03-04T09:00:00.000Z' },
      current: { state: 'regressed', since: '2025-03-04T10:00:00.000Z' },
    }),
  );
  assert.deepEqual(summary(plans), [
    'incident_resolved sf|unreachable|2025-03-04T09:00:00.000Z|resolved [slack,alertmanager]',
    'incident_opened sf|regressed|2025-03-04T10:00:00.000Z|opened [slack,alertmanager]',
  ]);
});

test('unknown → ok and ok → ok produce nothing', () => {
  assert.deepEqual(planIncidentNotifications(incident({ change: { from: 'unknown', to: 'ok', at: '2025-03-04T10:00:00.000Z', fromSince: null } })), []);
  assert.deepEqual(planIncidentNotifications(incident({})), []);
});

test('reminders: one per interval while open, only when a new slot is reached, none when the interval is 0', () => {
  const open = { state: 'regressed' as const, since: '2025-03-04T10:00:00.000Z' };
  const at = (now: string, previousEvaluationAt: string | null, reminderIntervalMs = 3_600_000) =>
    summary(planIncidentNotifications(incident({ now, previousEvaluationAt, current: open, policy: { ...POLICY, alertmanagerResendMs: 0, reminderIntervalMs } })));
  assert.deepEqual(at('2025-03-04T10:59:00.000Z', '2025-03-04T10:58:00.000Z'), []);
  assert.deepEqual(at('2025-03-04T11:00:00.000Z', '2025-03-04T10:59:00.000Z'), ['incident_reminder sf|regressed|2025-03-04T10:00:00.000Z|reminder|1 [slack]']);
  assert.deepEqual(at('2025-03-04T11:01:00.000Z', '2025-03-04T11:00:00.000Z'), []);
  // after a restart nothing is known about the previous evaluation: the current slot again, same key
  assert.deepEqual(at('2025-03-04T11:30:00.000Z', null), ['incident_reminder sf|regressed|2025-03-04T10:00:00.000Z|reminder|1 [slack]']);
  // three hours down: one reminder for the slot reached now, not one per missed slot
  assert.deepEqual(at('2025-03-04T14:10:00.000Z', '2025-03-04T11:00:00.000Z'), ['incident_reminder sf|regressed|2025-03-04T10:00:00.000Z|reminder|4 [slack]']);
  assert.deepEqual(at('2025-03-04T14:10:00.000Z', '2025-03-04T11:00:00.000Z', 0), []);
});

test('Alertmanager firing alerts are re-sent every resend interval while open', () => {
  const open = { state: 'unreachable' as const, since: '2025-03-04T10:00:00.000Z' };
  const at = (now: string, previous: string) =>
    summary(planIncidentNotifications(incident({ now, previousEvaluationAt: previous, current: open, policy: { ...POLICY, reminderIntervalMs: 0 } })));
  assert.deepEqual(at('2025-03-04T10:04:59.000Z', '2025-03-04T10:04:00.000Z'), []);
  assert.deepEqual(at('2025-03-04T10:05:00.000Z', '2025-03-04T10:04:00.000Z'), ['incident_reminder sf|unreachable|2025-03-04T10:00:00.000Z|am-firing|1 [alertmanager]']);
  assert.deepEqual(at('2025-03-04T10:10:30.000Z', '2025-03-04T10:05:00.000Z'), ['incident_reminder sf|unreachable|2025-03-04T10:00:00.000Z|am-firing|2 [alertmanager]']);
});

test('resolved alerts are re-sent to Alertmanager for a few minutes after the resolve, unless the same state is open again', () => {
  const lastResolved = { state: 'regressed' as const, openedAt: '2025-03-04T10:00:00.000Z', resolvedAt: '2025-03-04T12:00:00.000Z' };
  const at = (now: string, previous: string, state: 'ok' | 'regressed' = 'ok') =>
    summary(planIncidentNotifications(incident({ now, previousEvaluationAt: previous, lastResolved, current: { state, since: '2025-03-04T12:00:00.000Z' } })));
  assert.deepEqual(at('2025-03-04T12:05:00.000Z', '2025-03-04T12:04:00.000Z'), ['incident_resolved sf|regressed|2025-03-04T10:00:00.000Z|am-resolved|1 [alertmanager]']);
  assert.deepEqual(at('2025-03-04T12:10:00.000Z', '2025-03-04T12:09:00.000Z'), ['incident_resolved sf|regressed|2025-03-04T10:00:00.000Z|am-resolved|2 [alertmanager]']);
  assert.deepEqual(at('2025-03-04T12:15:00.000Z', '2025-03-04T12:14:00.000Z'), [], 'the window is over');
  assert.deepEqual(
    at('2025-03-04T12:05:00.000Z', '2025-03-04T12:04:00.000Z', 'regressed').filter((line) => line.includes('am-resolved')),
    [],
    'a resolved re-send would end the new incident\'s alert',
  );
});

test('planning the same cycle twice enqueues each notification once per channel and target', () => {
  const outbox = new MemoryOutbox();
  const notifiers = buildNotifiers({
    slack: { webhookUrl: { env: 'NOPE' } },
    alertmanager: { urls: ['http://127.0.0.1:9093', 'http://127.0.0.1:9094'] },
    reminderIntervalMs: 0,
    certExpiryWarningMs: 0,
    tokenExpiryWarningMs: 0,
    dashboardUrl: null,
  });
  const input = incident({ change: { from: 'ok', to: 'regressed', at: '2025-03-04T10:00:00.000Z', fromSince: null }, current: { state: 'regressed', since: '2025-03-04T10:00:00.000Z' } });
  for (let cycle = 0; cycle < 2; cycle++) {
    for (const plan of planIncidentNotifications(input)) {
      const n = notificationFromPlan(plan, { connection: CONNECTION, at: input.now, diagnosis: null, http: null, lastSuccessAt: null, firstFailureAt: null, changes: null, certificateSubject: null });
      for (const entry of outboxEntriesFor(notifiers, n, plan, { now: new Date(input.now) })) outbox.enqueue(entry, new Date(input.now));
    }
  }
  assert.deepEqual(
    outbox.list().map((row) => `${row.channel} ${row.target}`),
    ['slack webhook', 'alertmanager http://127.0.0.1:9093', 'alertmanager http://127.0.0.1:9094'],
  );
});

const SNAPSHOT: ProbeSnapshot = { credentialFingerprint: 'f00d', tlsProtocol: 'TLSv1.3', tlsCipher: 'TLS_AES_128_GCM_SHA256', tlsFingerprint: 'AA:BB', identity: 'acc-1' };

function event(patch: Partial<EventPlanInput> & { snapshot?: Partial<ProbeSnapshot> }): EventPlanInput {
  const { snapshot, ...rest } = patch;
  return {
    connection: 'sf',
    now: '2025-03-04T10:00:00.000Z',
    current: { at: '2025-03-04T10:00:00.000Z', outcome: 'ok', snapshot: { ...SNAPSHOT, ...snapshot }, certNotAfter: '2025-12-01T00:00:00.000Z' },
    lastOk: { at: '2025-03-04T09:55:00.000Z', snapshot: SNAPSHOT },
    tokenExpiresAt: null,
    policy: { certExpiryWarningMs: 14 * 86_400_000, tokenExpiryWarningMs: 14 * 86_400_000 },
    ...rest,
  };
}

const keys = (input: EventPlanInput) => planEventNotifications(input).map((plan) => plan.dedupeKey);

test('tls_changed notifies only on a protocol downgrade, once per last success', () => {
  assert.deepEqual(keys(event({ snapshot: { tlsProtocol: 'TLSv1.2' } })), ['sf|tls_changed|2025-03-04T09:55:00.000Z|TLSv1.3>TLSv1.2']);
  assert.deepEqual(keys(event({ snapshot: { tlsCipher: 'OTHER', tlsFingerprint: 'CC:DD' } })), [], 'a new cipher or certificate alone is recorded, not notified');
  assert.deepEqual(keys(event({ lastOk: { at: 'x', snapshot: { ...SNAPSHOT, tlsProtocol: 'TLSv1.2' } } })), [], 'an upgrade is good news');
  assert.deepEqual(keys(event({ snapshot: { tlsProtocol: null } })), [], 'no handshake, nothing to compare');
  const plan = planEventNotifications(event({ snapshot: { tlsProtocol: 'TLSv1.1' } }))[0];
  assert.deepEqual(plan.changes?.tlsProtocol, { status: 'changed', before: 'TLSv1.3', after: 'TLSv1.1' });
});

test('cert_expiring and token_expiring: inside the warning window, keyed on the expiry so each notifies once', () => {
  const cert = (certNotAfter: string, certExpiryWarningMs = 14 * 86_400_000) =>
    planEventNotifications(event({ current: { ...event({}).current, certNotAfter }, policy: { certExpiryWarningMs, tokenExpiryWarningMs: 0 } }));
  const soon = cert('2025-03-10T06:00:00.000Z');
  assert.deepEqual(soon.map((plan) => [plan.dedupeKey, plan.certificate?.daysLeft]), [['sf|cert_expiring|2025-03-10T06:00:00.000Z', 5]], '5 days 20 hours left: whole days, rounded down');
  assert.deepEqual(cert('2025-03-30T00:00:00.000Z'), [], 'outside the window');
  assert.deepEqual(cert('2025-03-01T00:00:00.000Z'), [], 'already expired: that is tls_cert_invalid');
  assert.deepEqual(cert('2025-03-10T06:00:00.000Z', 0), [], 'a warning of 0 turns it off');
  const token = planEventNotifications(event({ tokenExpiresAt: '2025-03-05', policy: { certExpiryWarningMs: 0, tokenExpiryWarningMs: 14 * 86_400_000 } }));
  assert.deepEqual(token.map((plan) => [plan.dedupeKey, plan.token]), [['sf|token_expiring|2025-03-05', { expiresAt: '2025-03-05', daysLeft: 0 }]]);
});

test('identity_changed: when a successful probe authenticates as someone else than the last success', () => {
  assert.deepEqual(keys(event({ snapshot: { identity: 'acc-2' } })), ['sf|identity_changed|2025-03-04T09:55:00.000Z|acc-2']);
  assert.deepEqual(keys(event({ snapshot: { identity: 'acc-2' }, current: { ...event({}).current, outcome: 'identity_mismatch', snapshot: { ...SNAPSHOT, identity: 'acc-2' } } })), []);
  assert.deepEqual(keys(event({ lastOk: null })), []);
});

test('compareWithLastSuccess: same, changed, and unknown when either side was not observed', () => {
  assert.deepEqual(compareWithLastSuccess(SNAPSHOT, { ...SNAPSHOT, credentialFingerprint: 'beef', tlsProtocol: 'TLSv1.2', identity: null }), {
    credential: 'changed',
    tlsProtocol: { status: 'changed', before: 'TLSv1.3', after: 'TLSv1.2' },
    tlsCipher: { status: 'unchanged', value: 'TLS_AES_128_GCM_SHA256' },
    tlsCertificate: { status: 'unchanged', value: 'AA:BB' },
    identity: { status: 'unknown' },
  });
  assert.equal(compareWithLastSuccess(null, SNAPSHOT).credential, 'unknown');
  assert.equal(compareWithLastSuccess(SNAPSHOT, SNAPSHOT).credential, 'unchanged');
});
