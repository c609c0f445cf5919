import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL, fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { stateChangedEvent } from '../../src/state/events.js';
import { openStore, StoreError, type Store, type CycleRecord } from '../../src/store/store.js';
import { defaultMigrationsDir, readMigrations, type Migration } from '../../src/store/db.js';
import { advance, initialState } from '../../src/state/machine.js';
import { outcomeClass, type Outcome } from '../../src/diagnosis/outcome-names.js';
import type { Connection } from '../../src/config/load.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import { countsWith } from '../support/store-contract.js';
import type { ConnectionState, StatePolicy } from '../../src/state/types.js';
import { testConnection } from '../support/connections.js';
import { countEventLoopTurns } from '../support/event-loop.js';

const root = mkdtempSync(join(tmpdir(), 'authwatch-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dbCount = 0;
const newDbPath = () => join(root, `db${++dbCount}`, 'authwatch.db');

const policy: StatePolicy = { failureThreshold: 2, recoveryThreshold: 1, lockoutBackoff: false };
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const connection = (name: string, overrides: Partial<Connection> = {}): Connection => testConnection(name, { labels: { team: 'crm' }, ...overrides });

/** A full observation: every optional part present, so a round trip checks every column. */
function observation(name: string, startedAt: string, outcome: Outcome): ProbeObservation {
  const ok = outcome === 'ok';
  return {
    connection: name,
    startedAt,
    url: `https://${name}.atlassian.net/rest/api/3/myself`,
    credential: { status: 'ok', problem: null, fingerprint: '0123456789abcdef', findings: ['username_not_email'] },
    oauth: { ok: true, fromCache: false, httpStatus: 200, error: null, expiresAt: '2026-03-01T11:00:00.000Z' },
    error: null,
    http: {
      status: ok ? 200 : 401,
      contentType: ok ? 'application/json' : 'text/plain',
      headers: ok ? { 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5', 'x-arequestid': 'abc' } : { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
      message: ok ? '{"accountId":"5b10…"}' : 'Basic authentication with passwords is deprecated',
      json: null,
      bodyBytes: 123,
      bodyTruncated: false,
    },
    identity: ok ? { accountId: '5b10ac8d82e05b22cc7d4ef5', name: null, key: null, emailAddress: 'bot@acme.com', displayName: 'Bot', active: true } : null,
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      subject: 'CN=*.atlassian.net',
      issuer: 'CN=Test CA',
      sans: ['DNS:*.atlassian.net', 'DNS:atlassian.net'],
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

/** Advances the state with one probe and records the cycle (with an 'event' notification per state change). */
function probe(store: Store, name: string, startedAt: string, outcome: Outcome, extra: Partial<CycleRecord> = {}) {
  const { next, change } = advance(store.loadState(name), { outcome, at: startedAt }, policy);
  const events = change ? [stateChangedEvent(change)] : [];
  const outbox = change ? [{ channel: 'slack' as const, kind: 'event' as const, event: { index: 0 }, payload: { text: `${change.from} → ${change.to}` } }] : [];
  const ids = store.recordCycle({
    observation: observation(name, startedAt, outcome),
    diagnosis: { outcome, class: outcomeClass(outcome), detail: `detail of ${outcome}` },
    next,
    events,
    outbox,
    ...extra,
  });
  return { next, change, ids };
}

function count(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('a new database is migrated once; reopening applies nothing and keeps the rows', () => {
  const path = newDbPath();
  const store = openStore(path);
  store.upsertConnections([connection('a')], at(0));
  probe(store, 'a', at(0), 'ok');
  store.close();

  const raw = new Database(path, { readonly: true });
  const first = raw.prepare('SELECT version, name, applied_at FROM schema_migrations').all();
  raw.close();
  const shipped = readMigrations(defaultMigrationsDir());
  assert.deepEqual(first.map((r) => (r as { version: number }).version), shipped.map((migration) => migration.version));

  const again = openStore(path);
  assert.equal(again.recentProbes('a', 10).length, 1);
  assert.equal(again.loadState('a').state, 'ok');
  again.close();
  const raw2 = new Database(path, { readonly: true });
  assert.deepEqual(raw2.prepare('SELECT version, name, applied_at FROM schema_migrations').all(), first);
  assert.equal((raw2.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value, String(shipped.length));
  assert.equal(raw2.pragma('journal_mode', { simple: true }), 'wal');
  raw2.close();
});

test('a database newer than the code is refused with a clear message, by writers and readers', () => {
  const path = newDbPath();
  openStore(path).close();
  const raw = new Database(path);
  const known = readMigrations(defaultMigrationsDir()).length;
  raw.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '2027-01-01T00:00:00.000Z')").run();
  raw.close();
  const expected = `database schema version 99 is newer than this authwatch (knows up to ${known}); upgrade authwatch or use another storage.path (${path})`;
  assert.throws(() => openStore(path), (error: unknown) => error instanceof StoreError && error.message === expected);
  assert.throws(() => openStore(path, { readonly: true }), (error: unknown) => error instanceof StoreError && error.message === expected);
});

test('a later migration is applied on upgrade; a failing one rolls back and names itself', () => {
  const path = newDbPath();
  const base = readMigrations(defaultMigrationsDir()).slice(0, 1);
  openStore(path, { migrations: base }).close();

  const broken: Migration = { version: 2, name: 'broken', sql: 'CREATE TABLE extra (a TEXT); INSERT INTO no_such_table VALUES (1);' };
  assert.throws(() => openStore(path, { migrations: [...base, broken] }), /migration 002_broken failed on .*no such table: no_such_table/);
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.prepare("SELECT 1 FROM sqlite_master WHERE name = 'extra'").get(), undefined);
  assert.equal((raw.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v, 1);
  raw.close();

  const good: Migration = { version: 2, name: 'extra', sql: 'CREATE TABLE extra (a TEXT);' };
  openStore(path, { migrations: [...base, good] }).close();
  assert.equal(count(path, 'extra'), 0);
  assert.throws(() => openStore(path, { migrations: base }), /database schema version 2 is newer than this authwatch \(knows up to 1\)/);
});

test('migration files must be numbered without gaps, and the package folder is found from dist/', () => {
  const dir = join(root, 'bad-migrations');
  mkdirSync(dir);
  writeFileSync(join(dir, '001_init.sql'), 'SELECT 1;');
  writeFileSync(join(dir, '003_later.sql'), 'SELECT 1;');
  assert.throws(() => readMigrations(dir), /without gaps or duplicates \(found 003 at position 2\)/);
  const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));
  assert.equal(defaultMigrationsDir(), join(packageRoot, 'migrations'));
  assert.equal(readMigrations(defaultMigrationsDir())[0].name, 'init');
});

test('a read-only open of a missing file or a file that is not a database says so', () => {
  const missing = join(root, 'nowhere', 'authwatch.db');
  assert.throws(() => openStore(missing, { readonly: true }), /no authwatch database at .*nowhere\/authwatch.db/);
  const junk = join(root, 'junk.db');
  writeFileSync(junk, 'this is not sqlite, just some text that is long enough to have a header '.repeat(10));
  assert.throws(() => openStore(junk), (error: unknown) => error instanceof StoreError && /storage.path must point to an authwatch SQLite file/.test(error.message));
});

test('a recorded probe reads back as the same observation, and state survives close and reopen', () => {
  const path = newDbPath();
  const store = openStore(path);
  store.upsertConnections([connection('a')], at(0));
  probe(store, 'a', at(0), 'ok');
  probe(store, 'a', at(1), 'basic_auth_rejected');
  const { next } = probe(store, 'a', at(2), 'basic_auth_rejected');
  assert.equal(next.state, 'regressed');
  store.close();

  const reopened = openStore(path);
  assert.deepEqual(reopened.loadState('a'), next);
  assert.deepEqual(reopened.loadStates(), new Map([['a', next]]));
  const [latest] = reopened.recentProbes('a', 1);
  assert.deepEqual(latest.observation, observation('a', at(2), 'basic_auth_rejected'));
  assert.equal(latest.detail, 'detail of basic_auth_rejected');
  const lastOk = reopened.lastOkProbe('a');
  assert.equal(lastOk?.startedAt, at(0));
  // A successful probe keeps no per-request values (request ids, rate-limit counters); a failing one keeps them all.
  const { 'x-arequestid': requestId, ...stableHeaders } = observation('a', at(0), 'ok').http!.headers;
  assert.equal(requestId, 'abc');
  assert.deepEqual(lastOk?.observation, { ...observation('a', at(0), 'ok'), http: { ...observation('a', at(0), 'ok').http!, headers: stableHeaders } });
  assert.deepEqual(reopened.loadState('never-probed'), initialState());
  reopened.close();
});

test('recordCycle is atomic: a failing statement inside leaves no probe, state, event or outbox row behind', () => {
  const path = newDbPath();
  const store = openStore(path);
  store.upsertConnections([connection('a')], at(0));
  probe(store, 'a', at(0), 'ok');
  const before = { probes: count(path, 'probes'), events: count(path, 'events'), outbox: count(path, 'outbox'), state: store.loadState('a') };

  const { next, change } = advance(store.loadState('a'), { outcome: 'auth_rejected', at: at(5) }, { ...policy, failureThreshold: 1 });
  assert.equal(change?.to, 'regressed');
  const cycle: CycleRecord = {
    observation: observation('a', at(5), 'auth_rejected'),
    diagnosis: { outcome: 'auth_rejected', class: 'auth', detail: '401' },
    next,
    events: [stateChangedEvent(change!), { kind: 'no_such_kind' as 'tls_changed' }], // violates the CHECK constraint
    incidents: [{ action: 'open', kind: 'regressed', event: 0 }],
    outbox: [{ channel: 'slack', kind: 'open', incident: { index: 0 }, payload: {} }],
  };
  assert.throws(() => store.recordCycle(cycle), /CHECK constraint failed/);
  // A state change without its event is refused too.
  assert.throws(() => store.recordCycle({ ...cycle, events: [] }), /stored state ok, new state regressed, but the cycle has no state_changed event/);
  // Resolving an incident that is not open fails the whole cycle.
  assert.throws(() => store.recordCycle({ ...cycle, events: [stateChangedEvent(change!)], incidents: [{ action: 'resolve', incidentId: 99, event: 0 }], outbox: [] }), /incident 99 is not open/);

  assert.deepEqual(
    { probes: count(path, 'probes'), events: count(path, 'events'), outbox: count(path, 'outbox'), state: store.loadState('a') },
    before,
  );
  assert.equal(count(path, 'incidents'), 0);

  // The same cycle without the bad event goes through, with incident and notification.
  const ids = store.recordCycle({ ...cycle, events: [stateChangedEvent(change!)] });
  assert.equal(store.loadState('a').state, 'regressed');
  const [incident] = store.openIncidents('a');
  assert.deepEqual(ids.incidentIds, [incident.id]);
  assert.equal(incident.openEventId, ids.eventIds[0]);
  assert.equal(incident.openedAt, at(5));
  assert.equal(incident.lastNotifiedAt, at(5));
  const item = store.pendingOutbox(at(5)).find((i) => i.kind === 'open')!;
  assert.deepEqual([item.id, item.incidentId, item.kind, item.dedupeKey], [ids.outboxIds[0], incident.id, 'open', `incident:${incident.id}:open`]);
  // A second open incident of the same kind is impossible.
  const second = advance(store.loadState('a'), { outcome: 'auth_rejected', at: at(6) }, policy);
  assert.throws(
    () =>
      store.recordCycle({
        observation: observation('a', at(6), 'auth_rejected'),
        diagnosis: { outcome: 'auth_rejected', class: 'auth', detail: '401' },
        next: second.next,
        events: [{ kind: 'identity_changed' }],
        incidents: [{ action: 'open', kind: 'regressed', event: 0 }],
      }),
    /UNIQUE constraint failed: incidents.connection, incidents.kind/,
  );
  store.close();
});

test('an incident is resolved in the cycle that recovers, with its resolve notification', () => {
  const store = openStore(newDbPath());
  store.upsertConnections([connection('a')], at(0));
  probe(store, 'a', at(0), 'ok');
  probe(store, 'a', at(1), 'forbidden');
  const failed = advance(store.loadState('a'), { outcome: 'forbidden', at: at(2) }, policy);
  const opened = store.recordCycle({
    observation: observation('a', at(2), 'forbidden'),
    diagnosis: { outcome: 'forbidden', class: 'auth', detail: '403' },
    next: failed.next,
    events: [stateChangedEvent(failed.change!)],
    incidents: [{ action: 'open', kind: 'regressed', event: 0 }],
    outbox: [{ channel: 'alertmanager', kind: 'open', incident: { index: 0 }, payload: { status: 'firing' } }],
  });
  const recovered = advance(store.loadState('a'), { outcome: 'ok', at: at(3) }, policy);
  const resolved = store.recordCycle({
    observation: observation('a', at(3), 'ok'),
    diagnosis: { outcome: 'ok', class: 'ok', detail: '200' },
    next: recovered.next,
    events: [stateChangedEvent(recovered.change!)],
    incidents: [{ action: 'resolve', incidentId: opened.incidentIds[0], event: 0 }],
    outbox: [{ channel: 'alertmanager', kind: 'resolve', incident: { index: 0 }, payload: { status: 'resolved' } }],
  });
  assert.deepEqual(store.openIncidents(), []);
  assert.deepEqual(resolved.incidentIds, opened.incidentIds);
  assert.deepEqual(store.pendingOutbox(at(3), 'alertmanager').map((i) => [i.kind, i.payload]), [['open', { status: 'firing' }], ['resolve', { status: 'resolved' }]]);
  const events = store.history('a', at(0), 10).events;
  assert.deepEqual(events.map((e) => [e.from, e.to, e.at]), [['regressed', 'ok', at(3)], ['ok', 'regressed', at(2)], ['unknown', 'ok', at(0)]]);
  store.close();
});

test('the outbox: a notification cannot be enqueued twice; retries, delivery and failure are recorded', () => {
  const store = openStore(newDbPath());
  store.upsertConnections([connection('a')], at(0));
  const { ids } = probe(store, 'a', at(0), 'ok'); // unknown → ok: one 'event' item on slack
  const eventId = ids.eventIds[0];
  const [first] = ids.outboxIds;
  assert.ok(first);
  // The same event notification again (e.g. a replayed cycle) is skipped; another channel is separate.
  assert.deepEqual(store.enqueueOutbox([{ channel: 'slack', kind: 'event', event: { id: eventId }, payload: {} }], at(1)), [null]);
  const [am] = store.enqueueOutbox([{ channel: 'alertmanager', kind: 'event', event: { id: eventId }, payload: { a: 1 } }], at(1));
  assert.ok(am);
  assert.throws(() => store.enqueueOutbox([{ channel: 'slack', kind: 'open', payload: {} }], at(1)), /needs an incident/);
  const tests = store.enqueueOutbox([{ channel: 'slack', kind: 'test', payload: {} }, { channel: 'slack', kind: 'test', payload: {} }], at(1));
  assert.equal(new Set(tests).size, 2);

  assert.deepEqual(store.outboxCounts(), countsWith({ slack: { pending: 3, delivered: 0, failed: 0 }, alertmanager: { pending: 1, delivered: 0, failed: 0 } }));
  assert.deepEqual(store.pendingOutbox(at(0)).map((i) => i.id), [first]);

  store.markAttemptFailed(first, 'HTTP 429 Too Many Requests', at(10));
  assert.deepEqual(store.pendingOutbox(at(5), 'slack').map((i) => i.id), tests);
  const retried = store.pendingOutbox(at(10), 'slack').find((i) => i.id === first);
  assert.deepEqual([retried?.attempts, retried?.lastError, retried?.nextAttemptAt], [1, 'HTTP 429 Too Many Requests', at(10)]);

  assert.equal(store.markDelivered(first, at(10)), true);
  assert.equal(store.markDelivered(first, at(11)), false, 'a delivered item is delivered once');
  store.markFailed(tests[0]!, 'HTTP 404 no_service', at(11));
  assert.deepEqual(store.outboxCounts(), countsWith({ slack: { pending: 1, delivered: 1, failed: 1 }, alertmanager: { pending: 1, delivered: 0, failed: 0 } }));
  assert.deepEqual(store.pendingOutbox(at(20)).map((i) => i.id), [am, tests[1]]);
  // The oldest still pending per channel (the outbox-age metric): delivered and failed rows do not count.
  assert.deepEqual(store.outboxOldestPending(), { slack: at(1), alertmanager: at(1) });

  assert.equal(store.pruneOutbox(at(60)), 2, 'delivered and failed rows go, pending ones stay');
  assert.equal(store.outboxCounts().slack.pending, 1);
  store.close();
});

test('connections: removed ones are marked and keep their history; status lists configured ones with their last probe', () => {
  const store = openStore(newDbPath());
  assert.deepEqual(store.upsertConnections([connection('a'), connection('b'), connection('c')], at(0)), { added: ['a', 'b', 'c'], removed: [] });
  probe(store, 'a', at(0), 'ok');
  probe(store, 'b', at(0), 'ok');
  probe(store, 'b', at(1), 'auth_rejected');
  assert.deepEqual(store.upsertConnections([connection('a', { labels: { team: 'ops' } }), connection('c')], at(2)), { added: [], removed: ['b'] });

  const listed = store.listStates();
  assert.deepEqual(listed.map((s) => s.name), ['a', 'c']);
  const [a, c] = listed;
  assert.deepEqual(a.labels, { team: 'ops' });
  assert.equal(a.state.state, 'ok');
  assert.deepEqual(a.lastProbe, {
    id: a.lastProbe!.id,
    startedAt: at(0),
    outcome: 'ok',
    class: 'ok',
    detail: 'detail of ok',
    httpStatus: 200,
    totalSeconds: 0.14,
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', notAfter: '2026-06-01T00:00:00.000Z', chainEarliestNotAfter: '2026-05-01T00:00:00.000Z', authorized: true, authorizationError: null },
  });
  assert.deepEqual([c.state, c.lastProbe], [initialState(), null]);

  const b = store.listStates({ includeRemoved: true }).find((s) => s.name === 'b');
  assert.equal(b?.removedAt, at(2));
  assert.equal(b?.lastProbe?.outcome, 'auth_rejected');
  assert.equal(store.recentProbes('b', 10).length, 2);
  assert.deepEqual(store.upsertConnections([connection('a'), connection('b')], at(3)), { added: ['b'], removed: ['c'] });
  assert.equal(store.loadState('b').consecutiveFailures, 1, 'a re-added connection continues where it was');
  store.close();
});

test('history returns probes and events since a time, newest first, limited', () => {
  const store = openStore(newDbPath());
  store.upsertConnections([connection('a')], at(0));
  const outcomes: Outcome[] = ['ok', 'timeout', 'timeout', 'ok', 'ok'];
  outcomes.forEach((outcome, i) => probe(store, 'a', at(i * 60), outcome));
  const { probes, events } = store.history('a', at(60), 3);
  assert.deepEqual(probes.map((p) => [p.startedAt, p.outcome]), [[at(240), 'ok'], [at(180), 'ok'], [at(120), 'timeout']]);
  assert.deepEqual(events.map((e) => [e.at, e.to]), [[at(180), 'ok'], [at(120), 'unreachable']]);
  assert.deepEqual(store.recentProbes('a', 2).map((p) => p.startedAt), [at(240), at(180)]);
  store.close();
});

test('a read-only reader sees committed rows while the writer keeps the file open, and cannot write', () => {
  const path = newDbPath();
  const writer = openStore(path);
  writer.upsertConnections([connection('a')], at(0));
  probe(writer, 'a', at(0), 'ok');
  const reader = openStore(path, { readonly: true });
  assert.equal(reader.listStates()[0].state.state, 'ok');
  assert.deepEqual(reader.fingerprintKey(), writer.fingerprintKey());

  probe(writer, 'a', at(1), 'timeout');
  probe(writer, 'a', at(2), 'timeout');
  assert.equal(reader.loadState('a').state, 'unreachable');
  assert.equal(reader.history('a', at(0), 10).probes.length, 3);
  assert.throws(() => reader.upsertConnections([connection('x')], at(3)), /readonly/);
  reader.close();
  writer.close();

  // And after the writer has gone (WAL checkpointed and removed).
  const later = openStore(path, { readonly: true });
  assert.equal(later.recentProbes('a', 10).length, 3);
  later.close();
});

test('the fingerprint key is 32 random bytes, stable across reopen, different per database', () => {
  const path = newDbPath();
  const store = openStore(path);
  const key = store.fingerprintKey();
  assert.equal(key.length, 32);
  assert.deepEqual(store.fingerprintKey(), key);
  store.close();
  const reopened = openStore(path);
  assert.deepEqual(reopened.fingerprintKey(), key);
  reopened.close();
  const other = openStore(newDbPath());
  assert.notDeepEqual(other.fingerprintKey(), key);
  other.close();
});

test('pruning deletes old probes in short batches, keeps newer ones and each connection’s last and last ok probe', async () => {
  const path = newDbPath();
  const store = openStore(path);
  store.upsertConnections([connection('a'), connection('b')], at(0));
  probe(store, 'b', at(0), 'ok'); // b's only probe: old, but its last probe and last success
  for (let i = 0; i < 1030; i++) probe(store, 'a', at(i), i === 0 ? 'ok' : i < 1000 ? 'timeout' : 'ok');
  // a: ok at 0 (then superseded by later oks), timeouts 1..999, oks 1000..1029.

  const loop = countEventLoopTurns();
  const deleted = await store.pruneProbes(at(1000), 100);
  const turns = loop.stop();

  assert.equal(deleted, 1000, 'a’s probes before minute 1000; b’s only probe is kept');
  assert.ok(turns >= 9, `the event loop ran between batches (${turns} turns)`);
  assert.equal(store.recentProbes('a', 5000).length, 30);
  assert.equal(store.recentProbes('a', 5000).at(-1)?.startedAt, at(1000));
  assert.equal(store.lastOkProbe('b')?.startedAt, at(0));
  assert.equal(store.listStates().find((s) => s.name === 'b')?.lastProbe?.startedAt, at(0));
  assert.equal(store.history('a', at(0), 5000).events.length, 3, 'events are kept');
  assert.equal(await store.pruneProbes(at(1000), 100), 0);
  store.close();
});

test('pruning stops between batches when asked to (shutdown)', async () => {
  const store = openStore(newDbPath());
  store.upsertConnections([connection('a')], at(0));
  for (let i = 0; i < 350; i++) probe(store, 'a', at(i), 'timeout');
  let batches = 0;
  const deleted = await store.pruneProbes(at(1000), 100, () => ++batches < 2);
  assert.equal(deleted, 200, 'two batches, then it stopped');
  store.close();
});

test('the last ok probe survives pruning during a long outage', async () => {
  const store = openStore(newDbPath());
  store.upsertConnections([connection('a')], at(0));
  probe(store, 'a', at(0), 'ok');
  for (let i = 1; i <= 20; i++) probe(store, 'a', at(i), 'auth_rejected');
  assert.equal(await store.pruneProbes(at(100)), 19);
  assert.equal(store.lastOkProbe('a')?.startedAt, at(0));
  assert.deepEqual(store.recentProbes('a', 10).map((p) => p.startedAt), [at(20), at(0)]);
  store.close();
});

test('SIGKILL while writing cycles: the database opens, passes integrity_check, and no cycle is half-written', async () => {
  const path = newDbPath();
  const storeUrl = pathToFileURL(fileURLToPath(new URL('../../src/store/store.js', import.meta.url))).href;
  const machineUrl = pathToFileURL(fileURLToPath(new URL('../../src/state/machine.js', import.meta.url))).href;
  const eventsUrl = pathToFileURL(fileURLToPath(new URL('../../src/state/events.js', import.meta.url))).href;
  const namesUrl = pathToFileURL(fileURLToPath(new URL('../../src/diagnosis/outcome-names.js', import.meta.url))).href;
  const child = `
    import { openStore } from ${JSON.stringify(storeUrl)};
    import { stateChangedEvent } from ${JSON.stringify(eventsUrl)};
    import { advance } from ${JSON.stringify(machineUrl)};
    import { outcomeClass } from ${JSON.stringify(namesUrl)};
    const [path, observationJson] = process.argv.slice(1);
    const template = JSON.parse(observationJson);
    const store = openStore(path);
    const connection = (name) => ({ name, url: 'https://' + name + '.example', path: '/', deployment: 'cloud', auth: { type: 'bearer' }, labels: {} });
    store.upsertConnections([connection('a'), connection('b')], new Date(0));
    const pattern = ['ok', 'auth_rejected', 'auth_rejected', 'timeout', 'ok', 'timeout', 'timeout', 'timeout', 'ok', 'ok'];
    const policy = ${JSON.stringify(policy)};
    for (let i = 0; ; i++) {
      for (const [offset, name] of [[0, 'a'], [3, 'b']]) {
        const outcome = pattern[(i + offset) % pattern.length];
        const at = new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString();
        const { next, change } = advance(store.loadState(name), { outcome, at }, policy);
        store.recordCycle({
          observation: { ...template, connection: name, startedAt: at },
          diagnosis: { outcome, class: outcomeClass(outcome), detail: outcome },
          next,
          events: change ? [stateChangedEvent(change)] : [],
          outbox: change ? [{ channel: 'slack', kind: 'event', event: { index: 0 }, payload: { to: change.to } }] : [],
        });
      }
      if (i % 100 === 0) process.stdout.write(i + '\\n');
    }
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', child, path, JSON.stringify(observation('x', at(0), 'ok'))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      const cycles = Math.max(...chunk.toString().trim().split('\n').map(Number));
      if (cycles >= 1000) resolve();
    });
    proc.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(signal)));
  proc.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const store = openStore(path);
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(raw.pragma('foreign_key_check'), []);
  raw.close();

  for (const name of ['a', 'b']) {
    // Replaying the recorded probes through the machine must give exactly the stored state and events.
    const probes = store.recentProbes(name, 1_000_000).reverse();
    assert.ok(probes.length >= 1000);
    let state: ConnectionState = initialState();
    const changes: [string | null, string | null, number][] = [];
    for (const p of probes) {
      const result = advance(state, { outcome: p.outcome, at: p.startedAt }, policy);
      state = result.next;
      if (result.change) changes.push([result.change.from, result.change.to, p.id]);
    }
    assert.deepEqual(store.loadState(name), state, `state of ${name} matches its ${probes.length} probes`);
    const events = store.history(name, '2000-01-01T00:00:00.000Z', 1_000_000).events.reverse();
    assert.deepEqual(events.map((e) => [e.from, e.to, e.probeId]), changes);
  }
  const outbox = store.outboxCounts().slack;
  assert.equal(outbox.pending, count(path, 'events'), 'one notification per event, none lost or extra');
  // The writer can carry on after the crash.
  store.upsertConnections([connection('a')], at(0));
  probe(store, 'a', '2030-01-01T00:00:00.000Z', 'ok');
  store.close();
});

test('outbox lanes: a head waiting for its retry holds its own lane back, never another, at any backlog size', () => {
  const store = openStore(newDbPath());
  const test = (target: string) => ({ channel: 'alertmanager' as const, target, kind: 'test' as const, payload: { target } });
  const rows = store.enqueueOutbox([test('http://am-1'), test('http://am-1'), test('http://am-2'), ...Array.from({ length: 300 }, () => test('http://am-1'))], at(0));
  const [am1First, am1Second, am2First] = rows as number[];
  assert.deepEqual(store.outboxLaneHeads(at(0), 10).map((row) => [row.id, row.target]), [[am1First, 'http://am-1'], [am2First, 'http://am-2']]);

  store.markAttemptFailed(am1First, 'HTTP 503', at(30));
  assert.deepEqual(store.outboxLaneHeads(at(1), 10).map((row) => row.id), [am2First], 'am-1 waits for its head; am-2 goes on');
  store.markDelivered(am2First, at(1));
  assert.deepEqual(store.outboxLaneHeads(at(1), 10), []);
  assert.deepEqual(store.outboxLaneHeads(at(30), 10).map((row) => row.id), [am1First], 'the retried head, not the row behind it');
  store.markDelivered(am1First, at(30));
  assert.deepEqual(store.outboxLaneHeads(at(30), 10).map((row) => row.id), [am1Second]);
  store.close();
});

test('migration 002 moves the lane out of old {target, body} payloads and starts failure runs from the stored counters', () => {
  const path = newDbPath();
  const [init] = readMigrations(defaultMigrationsDir());
  openStore(path, { migrations: [init] }).close();
  const raw = new Database(path);
  raw.prepare("INSERT INTO connections (name, url, path, deployment, auth_type, labels, first_seen, last_seen_in_config) VALUES ('a', 'https://x', '/p', 'cloud', 'basic', '{}', ?, ?)").run(at(0), at(0));
  raw.prepare(`INSERT INTO connection_state (name, state, consecutive_failures, consecutive_successes, ever_succeeded, backoff_level, updated_at)
    VALUES ('a', 'unknown', 3, 0, 0, 0, ?)`).run(at(0));
  raw.prepare(`INSERT INTO outbox (channel, kind, dedupe_key, payload, created_at, next_attempt_at) VALUES ('alertmanager', 'test', 'k', ?, ?, ?)`)
    .run(JSON.stringify({ target: 'http://am-1', body: { alerts: [1] } }), at(0), at(0));
  raw.close();

  const store = openStore(path);
  const [row] = store.outboxLaneHeads(at(1));
  assert.equal(row.target, 'http://am-1');
  assert.deepEqual(row.payload, { alerts: [1] });
  assert.equal(store.loadState('a').failureRun, 3);
  store.close();
});
