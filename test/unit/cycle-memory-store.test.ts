// The cycle's commit and the dispatcher's outbox over the in-memory store: CycleStore and OutboxStore are all they
// need, so the daemon's probe-to-notification path runs without a database file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { commitProbe, type CycleDeps } from '../../src/daemon/cycle.js';
import { CycleCache, lastOkFacts } from '../../src/daemon/cycle-cache.js';
import { planNotifications } from '../../src/daemon/notifications.js';
import { StoreOutbox } from '../../src/daemon/store-outbox.js';
import { outcomeClass, type Outcome } from '../../src/diagnosis/outcome-names.js';
import { silentLogger } from '../../src/log/logger.js';
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';
import { buildNotifiers } from '../../src/notify/registry.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import type { StoredProbe } from '../../src/store/types.js';
import { initialState } from '../../src/state/machine.js';
import { MemoryStore } from '../support/memory-store.js';
import { countsWith } from '../support/store-contract.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const config = parseConfigText(
  JSON.stringify({
    alerting: { slack: { webhookUrl: { env: 'SLACK_URL' } }, alertmanager: { urls: ['http://127.0.0.1:9'] } },
    connections: [{ name: 'crm', url: 'https://127.0.0.1:1', deployment: 'cloud', auth: { type: 'bearer', secret: { env: 'TOKEN' } }, failureThreshold: 1 }],
  }),
);
const connection = config.connections[0];

function observation(startedAt: Date, status: number): ProbeObservation {
  return {
    connection: connection.name,
    startedAt: startedAt.toISOString(),
    url: connection.probeUrl,
    credential: { status: 'ok', problem: null, fingerprint: '0123456789abcdef', findings: [] },
    oauth: null,
    error: null,
    http: { status, contentType: 'application/json', headers: {}, message: '', json: null, bodyBytes: 2, bodyTruncated: false },
    identity: null,
    tls: null,
    timings: { dns: null, connect: null, tls: null, request: null, first_byte: null, download: null, total: 0.1 },
  };
}

test('commitProbe over the in-memory store: a regression opens one incident with its notifications, the recovery resolves it, and the dispatcher sees them lane by lane', () => {
  const store = new MemoryStore();
  const notifiers = buildNotifiers(config.alerting, { env: { SLACK_URL: 'http://127.0.0.1:9/services/x' } });
  let enqueued = 0;
  const deps: CycleDeps = {
    store,
    metrics: new AuthwatchMetrics({ defaultMetrics: false }),
    logger: silentLogger,
    planNotifications: (input) => planNotifications(input, { notifiers, alerting: config.alerting }),
    alerting: config.alerting,
    now: () => at(0),
    onEnqueued: () => enqueued++,
    isCurrent: () => true,
  };
  const commit = (minutes: number, outcome: Outcome, status: number) =>
    commitProbe(deps, {
      connection,
      observation: observation(at(minutes), status),
      diagnosis: { outcome, class: outcomeClass(outcome), detail: String(status) },
      now: at(minutes),
      next: initialState(), // the queue's in-memory state; commitProbe advances the stored state itself
    }).run();

  commit(0, 'ok', 200);
  assert.equal(store.loadState('crm').state, 'ok');
  assert.deepEqual(store.openIncidents(), []);

  commit(1, 'auth_rejected', 401);
  assert.equal(store.loadState('crm').state, 'regressed');
  const [incident] = store.openIncidents('crm');
  assert.equal(incident.kind, 'regressed');
  assert.equal(enqueued, 1);

  const outbox = new StoreOutbox(store);
  const due = outbox.due(at(1), 10);
  assert.deepEqual(due.map((item) => [item.channel, item.target]).sort(), [['alertmanager', 'http://127.0.0.1:9'], ['slack', 'webhook']]);
  const opened = store.pendingOutbox(at(1)).map((item) => [item.channel, item.kind, item.incidentId]);
  assert.deepEqual(opened.sort(), [['alertmanager', 'open', incident.id], ['slack', 'open', incident.id]]);

  commit(2, 'ok', 200);
  assert.equal(store.loadState('crm').state, 'ok');
  assert.deepEqual(store.openIncidents(), []);
  // Each lane holds its resolve behind its open until the open is delivered.
  assert.deepEqual(outbox.due(at(2), 10).map((item) => item.id), due.map((item) => item.id));
  for (const item of due) outbox.markDelivered(item.id, at(2));
  const resolves = outbox.due(at(2), 10);
  assert.equal(resolves.length, 2);
  assert.deepEqual(store.pendingOutbox(at(2)).map((item) => item.kind), ['resolve', 'resolve']);
  assert.deepEqual(store.outboxCounts(), countsWith({ slack: { pending: 1, delivered: 1, failed: 0 }, alertmanager: { pending: 1, delivered: 1, failed: 0 } }));
});

test('the cycle cache answers what the store would, from memory, and forgets what a failed batch wrote', () => {
  const store = new MemoryStore();
  const cache = new CycleCache(store);
  const notifiers = buildNotifiers(config.alerting, { env: { SLACK_URL: 'http://127.0.0.1:9/services/x' } });
  const deps: CycleDeps = {
    store: cache,
    metrics: new AuthwatchMetrics({ defaultMetrics: false }),
    logger: silentLogger,
    planNotifications: (input) => planNotifications(input, { notifiers, alerting: config.alerting }),
    alerting: config.alerting,
    now: () => at(0),
    onEnqueued: () => {},
    isCurrent: () => true,
  };
  const commit = (minutes: number, outcome: Outcome, status: number) =>
    commitProbe(deps, { connection, observation: observation(at(minutes), status), diagnosis: { outcome, class: outcomeClass(outcome), detail: String(status) }, now: at(minutes), next: initialState() });
  // Of the last ok probe the cache keeps what a cycle compares with.
  const compared = (probe: StoredProbe | null) =>
    probe && { id: probe.id, startedAt: probe.startedAt, outcome: probe.outcome, credential: probe.observation.credential, tls: probe.observation.tls, identity: probe.observation.identity };
  const same = () => {
    assert.deepEqual(cache.loadState('crm'), store.loadState('crm'));
    assert.deepEqual(cache.openIncidents('crm'), store.openIncidents('crm'));
    assert.deepEqual(compared(cache.lastOkProbe('crm')), compared(store.lastOkProbe('crm')));
  };
  cache.batch(() => {
    commit(0, 'ok', 200);
    commit(1, 'auth_rejected', 401);
  });
  same();
  assert.equal(cache.openIncidents('crm').length, 1);
  assert.throws(() =>
    cache.batch(() => {
      commit(2, 'ok', 200);
      throw Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
    }),
  );
  same();
  assert.equal(cache.loadState('crm').state, 'regressed', 'the recovery that was not stored is not in memory either');
  cache.batch(() => commit(3, 'ok', 200));
  same();
  assert.deepEqual(cache.openIncidents('crm'), []);
  const reloaded = new CycleCache(store);
  reloaded.preload();
  assert.deepEqual(reloaded.loadState('crm'), cache.loadState('crm'));
  assert.deepEqual(reloaded.lastOkProbe('crm'), cache.lastOkProbe('crm'));
});

test('of the last ok probe the cache keeps the compared facts, and the same object while they do not change', () => {
  const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', subject: 'CN=x', issuer: 'CN=ca', sans: ['DNS:x'], serial: '01', fingerprint256: '00:11', notBefore: null, notAfter: null, chainEarliestNotAfter: null, authorized: true, authorizationError: null };
  const withTls = (startedAt: Date): ProbeObservation => ({ ...observation(startedAt, 200), tls: { ...tls, sans: [...tls.sans] }, identity: { accountId: 'a1', name: null, key: null, emailAddress: null, displayName: null, active: true } });
  const first = withTls(at(0));
  const kept = lastOkFacts(first, first.startedAt, null);
  assert.equal(kept.http, null, 'the HTTP answer is not kept');
  assert.deepEqual([kept.credential, kept.tls, kept.identity], [first.credential, first.tls, first.identity]);
  const again = withTls(at(1));
  const next = lastOkFacts(again, again.startedAt, kept);
  assert.notEqual(again.tls, first.tls);
  assert.equal(next.tls, kept.tls, 'unchanged facts are not copied again');
  assert.equal(next.identity, kept.identity);
  assert.equal(next.startedAt, again.startedAt);
  const renewed = { ...again, tls: again.tls && { ...again.tls, fingerprint256: 'AA:BB' } };
  assert.equal(lastOkFacts(renewed, renewed.startedAt, next).tls?.fingerprint256, 'AA:BB', 'a new certificate replaces them');
});
