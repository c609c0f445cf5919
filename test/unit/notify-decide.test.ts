// Why did (or didn't) a message go out: src/notify/decide.ts at fixed instants, with the real notifiers' renderers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { classify } from '../../src/diagnosis/classify.js';
import { planNotifications, type PlanInput } from '../../src/notify/decide.js';
import { buildNotifiers, type Notifier } from '../../src/notify/registry.js';
import { advance, initialState, policyFor } from '../../src/state/machine.js';
import type { ConnectionState } from '../../src/state/types.js';
import { stateChangedEvent } from '../../src/state/events.js';
import type { StoredIncident } from '../../src/store/store.js';
import { observation } from '../support/classify-samples.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const config = parseConfigText(
  JSON.stringify({
    alerting: { slack: { webhookUrl: { env: 'SLACK_URL' } }, alertmanager: { urls: ['http://127.0.0.1:9093'] } },
    connections: [{ name: 'dc', url: 'https://jira.acme.com', deployment: 'datacenter', auth: { type: 'bearer', secret: 'pat-value' }, failureThreshold: 1 }],
  }),
);
const connection = config.connections[0];
const notifiers = buildNotifiers(config.alerting, { env: { SLACK_URL: 'https://hooks.slack.com/services/T/B/x' } });
const ok = observation({ http: { status: 200, contentType: 'application/json', headers: {}, message: '', json: { name: 'svc', key: 'k' } } as never, identity: { accountId: null, name: 'svc', key: 'k', emailAddress: null, displayName: null, active: true } });
const rejected = observation({ http: { status: 401, contentType: 'application/json', headers: {}, message: 'Client must be authenticated', json: null } as never });

/** The facts of one cycle that probed `seen` at `at`, after the state `before`. */
function cycle(before: ConnectionState, seen: ReturnType<typeof observation>, at: number, openIncidents: StoredIncident[] = []): PlanInput {
  const now = new Date(at);
  const obs = { ...seen, startedAt: now.toISOString() };
  const diagnosis = classify(obs, { deployment: 'datacenter', authType: 'bearer', expect: null });
  const { next, change } = advance(before, { outcome: diagnosis.outcome, at: obs.startedAt }, policyFor(connection));
  return { connection, observation: obs, diagnosis, before, next, change, events: change ? [stateChangedEvent(change)] : [], lastOk: null, openIncidents, now };
}

const healthy = (): ConnectionState => advance(initialState(), { outcome: 'ok', at: new Date(T0).toISOString() }, policyFor(connection)).next;
const incident = (kind: StoredIncident['kind'], openedAt: number): StoredIncident => ({
  id: 7, connection: 'dc', kind, openedAt: new Date(openedAt).toISOString(), resolvedAt: null, openEventId: 1, resolveEventId: null, lastNotifiedAt: null,
});

test('a regression opens an incident at its state change and tells every channel once, with keys unique per row', () => {
  const input = cycle(healthy(), rejected, T0 + 60_000);
  assert.equal(input.change?.to, 'regressed');
  const plan = planNotifications(input, { notifiers, alerting: config.alerting });
  assert.deepEqual(plan.incidents, [{ action: 'open', kind: 'regressed', event: 0 }]);
  assert.deepEqual(plan.outbox.map((row) => [row.channel, row.kind, row.incident]).sort(), [['alertmanager', 'open', { index: 0 }], ['slack', 'open', { index: 0 }]]);
  assert.equal(new Set(plan.outbox.map((row) => row.dedupeKey)).size, 2);
  assert.deepEqual(plan.renderFailures, []);
  assert.deepEqual(planNotifications(input, { notifiers, alerting: config.alerting }).outbox.map((row) => row.dedupeKey), plan.outbox.map((row) => row.dedupeKey), 'the same facts give the same keys: a re-plan is deduplicated');
});

test('a recovery resolves the stored incident and says so on every channel', () => {
  const failing = cycle(healthy(), rejected, T0 + 60_000).next;
  const input = cycle(failing, ok, T0 + 120_000, [incident('regressed', T0 + 60_000)]);
  assert.equal(input.change?.to, 'ok');
  const plan = planNotifications(input, { notifiers, alerting: config.alerting });
  assert.deepEqual(plan.incidents, [{ action: 'resolve', incidentId: 7, event: 0 }]);
  assert.deepEqual(plan.outbox.map((row) => [row.channel, row.kind]).sort(), [['alertmanager', 'resolve'], ['slack', 'resolve']]);
});

test('no change and no reminder due: nothing goes out', () => {
  const failing = cycle(healthy(), rejected, T0 + 60_000).next;
  const plan = planNotifications(cycle(failing, rejected, T0 + 120_000, [incident('regressed', T0 + 60_000)]), { notifiers: notifiers.filter((n) => n.channel === 'slack'), alerting: config.alerting });
  assert.deepEqual(plan, { incidents: [], outbox: [], renderFailures: [] });
});

test("a notifier whose render throws loses only its own row, and is named in the plan's render failures", () => {
  const broken: Notifier = { channel: 'slack', target: 'webhook', render: () => { throw new Error('render defect'); }, deliver: async () => ({ kind: 'delivered' }) };
  const alertmanager = notifiers.filter((n) => n.channel === 'alertmanager');
  const plan = planNotifications(cycle(healthy(), rejected, T0 + 60_000), { notifiers: [...alertmanager, broken], alerting: config.alerting });
  assert.deepEqual(plan.incidents, [{ action: 'open', kind: 'regressed', event: 0 }], 'the incident is still opened');
  assert.deepEqual(plan.outbox.map((row) => row.channel), ['alertmanager']);
  assert.deepEqual(plan.renderFailures?.map((failure) => [failure.channel, (failure.error as Error).message]), [['slack', 'render defect']]);
});
