import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { planExpiryResend, planIncidentNotifications, notificationFromPlan, type IncidentPlanInput } from '../../src/notify/plan.js';
import { compareWithLastSuccess, type ProbeSnapshot } from '../../src/notify/types.js';
import { buildNotifiers, CHANNELS, outboxEntriesFor } from '../../src/notify/registry.js';
import { MemoryOutbox } from '../../src/notify/memory-outbox.js';
import { CONNECTION } from '../support/slack-notifications.js';

const POLICY = { reminderIntervalMs: 3_600_000, alertmanagerResendMs: 300_000 };

function incident(patch: Partial<IncidentPlanInput>): IncidentPlanInput {
  return {
    connection: 'sf',
    now: '2025-03-04T10:00:00.000Z',
    change: null,
    current: { state: 'ok', since: '2025-03-01T00:00:00.000Z' },
    previousEvaluationAt: null,
    policy: POLICY,
    ...patch,
  };
}

/** A plan in one line; `[every channel]` when it names exactly CHANNELS. */
const summary = (plans: ReturnType<typeof planIncidentNotifications>) =>
  plans.map((plan) => `${plan.kind} ${plan.dedupeKey} [${isDeepStrictEqual(plan.channels, CHANNELS) ? 'every channel' : plan.channels.join(',')}]`);

test('a change to regressed opens an incident on every channel', () => {
  const plans = planIncidentNotifications(
    incident({ change: { from: 'ok', to: 'regressed', at: '2025-03-04T10:00:00.000Z', fromSince: '2025-03-01T00:00:00.000Z' }, current: { state: 'regressed', since: '2025-03-04T10:00:00.000Z' } }),
  );
  assert.deepEqual(summary(plans), ['incident_opened sf|regressed|2025-03-04T10:00:00.000Z|opened [every channel]']);
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
  assert.deepEqual(summary(plans), ['incident_resolved sf|regressed|2025-03-04T10:00:00.000Z|resolved [every channel]']);
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
    'incident_resolved sf|unreachable|2025-03-04T09:00:00.000Z|resolved [every channel]',
    'incident_opened sf|regressed|2025-03-04T10:00:00.000Z|opened [every channel]',
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
  assert.deepEqual(at('2025-03-04T11:00:00.000Z', '2025-03-04T10:59:00.000Z'), ['incident_reminder sf|regressed|2025-03-04T10:00:00.000Z|reminder|2025-03-04T11:00:00.000Z [slack]']);
  assert.deepEqual(at('2025-03-04T11:01:00.000Z', '2025-03-04T11:00:00.000Z'), []);
  // after a restart nothing is known about the previous evaluation: the current slot again, same key
  assert.deepEqual(at('2025-03-04T11:30:00.000Z', null), ['incident_reminder sf|regressed|2025-03-04T10:00:00.000Z|reminder|2025-03-04T11:00:00.000Z [slack]']);
  // three hours down: one reminder for the slot reached now, not one per missed slot
  assert.deepEqual(at('2025-03-04T14:10:00.000Z', '2025-03-04T11:00:00.000Z'), ['incident_reminder sf|regressed|2025-03-04T10:00:00.000Z|reminder|2025-03-04T14:00:00.000Z [slack]']);
  assert.deepEqual(at('2025-03-04T14:10:00.000Z', '2025-03-04T11:00:00.000Z', 0), []);
});

test('Alertmanager firing alerts are re-sent every resend interval while open', () => {
  const open = { state: 'unreachable' as const, since: '2025-03-04T10:00:00.000Z' };
  const at = (now: string, previous: string) =>
    summary(planIncidentNotifications(incident({ now, previousEvaluationAt: previous, current: open, policy: { ...POLICY, reminderIntervalMs: 0 } })));
  assert.deepEqual(at('2025-03-04T10:04:59.000Z', '2025-03-04T10:04:00.000Z'), []);
  assert.deepEqual(at('2025-03-04T10:05:00.000Z', '2025-03-04T10:04:00.000Z'), ['incident_reminder sf|unreachable|2025-03-04T10:00:00.000Z|am-firing|2025-03-04T10:05:00.000Z [alertmanager]']);
  assert.deepEqual(at('2025-03-04T10:10:30.000Z', '2025-03-04T10:05:00.000Z'), ['incident_reminder sf|unreachable|2025-03-04T10:00:00.000Z|am-firing|2025-03-04T10:10:00.000Z [alertmanager]']);
});

test('an open expiry incident is re-sent to Alertmanager every resend interval, so its alert never expires while it lasts', () => {
  const opened = { kind: 'token_expiring' as const, openedAt: '2025-03-04T10:00:00.000Z' };
  const expiry = { at: '2025-03-10', daysLeft: 5 };
  const at = (now: string, previous: string | null) => {
    const plan = planExpiryResend('sf', opened, expiry, POLICY, now, previous);
    return plan ? `${plan.kind} ${plan.dedupeKey} [${plan.channels.join(',')}] ${plan.token?.expiresAt}` : null;
  };
  assert.equal(at('2025-03-04T10:04:59.000Z', '2025-03-04T10:04:00.000Z'), null, 'the first notice covers the first interval');
  assert.equal(at('2025-03-04T10:05:00.000Z', '2025-03-04T10:04:30.000Z'), 'token_expiring sf|token_expiring|2025-03-10|am-firing|2025-03-04T10:05:00.000Z [alertmanager] 2025-03-10');
  assert.equal(at('2025-03-04T10:05:30.000Z', '2025-03-04T10:05:00.000Z'), null, 'once per slot');
  assert.equal(at('2025-03-04T10:10:30.000Z', '2025-03-04T10:05:00.000Z'), 'token_expiring sf|token_expiring|2025-03-10|am-firing|2025-03-04T10:10:00.000Z [alertmanager] 2025-03-10');
  const cert = planExpiryResend('sf', { kind: 'cert_expiring', openedAt: opened.openedAt }, { at: '2025-03-20T00:00:00.000Z', daysLeft: 15 }, POLICY, '2025-03-04T10:05:00.000Z', null);
  assert.deepEqual([cert?.kind, cert?.certificate, cert?.channels], ['cert_expiring', { notAfter: '2025-03-20T00:00:00.000Z', daysLeft: 15 }, ['alertmanager']]);
  assert.equal(planExpiryResend('sf', opened, expiry, { ...POLICY, alertmanagerResendMs: 0 }, '2025-03-04T11:00:00.000Z', null), null, 'no Alertmanager, no re-sends');
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
