// The status page's reads over a real SQLite file: outcome buckets per connection and hour, one connection's
// summary, its detail (probes, last success, the comparison the notifications make, the open incident and the
// notifications enqueued for it), and removed connections.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stateChangedEvent } from '../../src/state/events.js';
import { openStore, type Store } from '../../src/store/store.js';
import { STRIP_COUNTS } from '../../src/store/probes.js';
import { statusReadModelOverStore } from '../../src/server/store-read-model.js';
import { advance } from '../../src/state/machine.js';
import { outcomeClass, type Outcome } from '../../src/diagnosis/outcome-names.js';
import type { Connection } from '../../src/config/load.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import { testConnection } from '../support/connections.js';

const root = mkdtempSync(join(tmpdir(), 'authwatch-status-read-'));
after(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const connection = (name: string, labels: Record<string, string> = {}): Connection => testConnection(name, { labels });

function observation(name: string, startedAt: string, outcome: Outcome): ProbeObservation {
  const ok = outcome === 'ok';
  return {
    connection: name,
    startedAt,
    url: `https://${name}.atlassian.net/rest/api/3/myself`,
    credential: { status: 'ok', problem: null, fingerprint: '0123456789abcdef', findings: [] },
    oauth: null,
    error: ok || outcome !== 'connect_error' ? null : { code: 'ECONNREFUSED', phase: null, message: 'connect ECONNREFUSED' },
    http:
      outcome === 'connect_error'
        ? null
        : {
            status: ok ? 200 : 401,
            contentType: ok ? 'application/json' : 'text/plain',
            headers: ok ? { 'x-arequestid': 'abc' } : { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
            message: ok ? '{"accountId":"5b10"}' : 'Basic authentication with passwords is deprecated',
            json: null,
            bodyBytes: 20,
            bodyTruncated: false,
          },
    identity: ok ? { accountId: '5b10', name: null, key: null, emailAddress: 'bot@acme.com', displayName: 'Bot', active: true } : null,
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      subject: 'CN=*.atlassian.net',
      issuer: 'CN=Test CA',
      sans: ['DNS:*.atlassian.net'],
      serial: '0A1B',
      fingerprint256: 'AB:CD',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2026-06-01T00:00:00.000Z',
      chainEarliestNotAfter: '2026-05-01T00:00:00.000Z',
      authorized: true,
      authorizationError: null,
    },
    timings: { dns: 0.001, connect: 0.01, tls: 0.02, request: 0.0001, first_byte: 0.1, download: 0.001, total: 0.14 },
  };
}

/** One probe cycle; a change into regressed opens an incident with a Slack 'open' notification, as the daemon does. */
function probe(store: Store, name: string, startedAt: string, outcome: Outcome): void {
  const policy = { failureThreshold: 2, recoveryThreshold: 1, lockoutBackoff: false };
  const { next, change } = advance(store.loadState(name), { outcome, at: startedAt }, policy);
  const opens = change?.to === 'regressed';
  store.recordCycle({
    observation: observation(name, startedAt, outcome),
    diagnosis: { outcome, class: outcomeClass(outcome), detail: `detail of ${outcome}` },
    next,
    events: change ? [stateChangedEvent(change)] : [],
    incidents: opens ? [{ action: 'open', kind: 'regressed', event: 0 }] : [],
    outbox: opens ? [{ channel: 'slack', kind: 'open', incident: { index: 0 }, payload: { text: 'regressed' } }] : [],
  });
}

function seeded(): Store {
  const store = openStore(join(mkdtempSync(join(root, 'db-')), 'authwatch.db'));
  store.upsertConnections([connection('a', { team: 'crm' }), connection('b'), connection('gone')], at(0));
  probe(store, 'a', at(-5), 'ok'); // before the strip starts
  probe(store, 'a', at(0), 'ok');
  probe(store, 'a', at(30), 'ok');
  probe(store, 'a', at(90), 'basic_auth_rejected');
  probe(store, 'a', at(91), 'basic_auth_rejected');
  probe(store, 'b', at(10), 'connect_error');
  probe(store, 'gone', at(10), 'ok');
  store.upsertConnections([connection('a', { team: 'crm' }), connection('b')], at(120));
  return store;
}

test('hourlyOutcomeCounts counts each connection\'s probes by UTC hour and class, from `since`, for the names asked only', () => {
  const store = seeded();
  assert.deepEqual(store.hourlyOutcomeCounts(['a', 'b'], at(0)), [
    { connection: 'a', hour: at(0), class: 'ok', probes: 2 },
    { connection: 'a', hour: at(60), class: 'auth', probes: 2 },
    { connection: 'b', hour: at(0), class: 'network', probes: 1 },
  ]);
  assert.deepEqual(store.hourlyOutcomeCounts(['b'], at(60)), []);
  assert.deepEqual(store.hourlyOutcomeCounts([], at(0)), []);
  store.close();
});

test('the strip counts read each connection\'s probes through its (connection, start) index, never the whole table', () => {
  const store = seeded();
  const db = new Database(store.path, { readonly: true });
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${STRIP_COUNTS}`)
    .all({ names: '["a"]', from: Date.parse(at(0)), to: Date.parse(at(60)) }) as { detail: string }[];
  db.close();
  store.close();
  assert.ok(plan.some((step) => /SEARCH p USING INDEX probes_connection_started/.test(step.detail)), JSON.stringify(plan));
  assert.ok(!plan.some((step) => /SCAN p\b/.test(step.detail)), JSON.stringify(plan));
});

test('the status read model: every bucket present, connections with labels, a removed one readable by name only', async () => {
  const store = seeded();
  const model = statusReadModelOverStore(store);
  const strips = await model.outcomeStrips(['a', 'nobody'], new Date(at(0)), 3);
  assert.deepEqual(strips.get('a'), [
    { start: at(0), ok: 2, auth: 0, other: 0 },
    { start: at(60), ok: 0, auth: 2, other: 0 },
    { start: at(120), ok: 0, auth: 0, other: 0 },
  ]);
  assert.equal(strips.get('nobody')?.length, 3);

  const listed = await model.statusConnections();
  assert.deepEqual(listed.map((view) => [view.name, view.state, view.labels]), [
    ['a', 'regressed', { team: 'crm' }],
    ['b', 'unknown', {}],
  ]);
  const gone = await model.connectionDetail('gone', 10);
  assert.ok(gone);
  assert.equal(gone.connection.removedAt, at(120));
  assert.equal(await model.connectionDetail('nobody', 10), null);
  store.close();
});

test('connectionDetail: probes newest first, the last success, the comparison with it, the open incident and its notification', async () => {
  const store = seeded();
  const detail = await statusReadModelOverStore(store).connectionDetail('a', 3);
  assert.ok(detail);
  assert.equal(detail.connection.state, 'regressed');
  assert.deepEqual(detail.probes.map((p) => [p.at, p.outcome]), [
    [at(91), 'basic_auth_rejected'],
    [at(90), 'basic_auth_rejected'],
    [at(30), 'ok'],
  ]);
  assert.equal(detail.probes[0].tlsDetails?.subject, 'CN=*.atlassian.net');
  assert.equal(detail.probes[0].message, 'Basic authentication with passwords is deprecated');
  assert.equal(detail.lastOk?.at, at(30));
  assert.deepEqual(detail.changes, {
    credential: 'unchanged',
    tlsProtocol: { status: 'unchanged', value: 'TLSv1.3' },
    tlsCipher: { status: 'unchanged', value: 'TLS_AES_256_GCM_SHA384' },
    tlsCertificate: { status: 'unchanged', value: 'AB:CD' },
    identity: { status: 'unknown' },
  });
  assert.equal(detail.openIncidents.length, 1);
  const [incident] = detail.openIncidents;
  assert.equal(incident.kind, 'regressed');
  assert.equal(incident.openedAt, at(91));
  assert.deepEqual(incident.notifications.map((n) => [n.channel, n.kind, n.createdAt, n.deliveredAt]), [['slack', 'open', at(91), null]]);

  const [item] = store.incidentNotifications([incident.id]);
  store.markDelivered(item.id, at(92));
  const delivered = await statusReadModelOverStore(store).connectionDetail('a', 3);
  assert.ok(delivered);
  assert.equal(delivered.openIncidents[0].notifications[0].deliveredAt, at(92));

  const never = await statusReadModelOverStore(store).connectionDetail('b', 3);
  assert.ok(never);
  assert.equal(never.lastOk, null);
  assert.equal(never.changes, null);
  store.close();
});
