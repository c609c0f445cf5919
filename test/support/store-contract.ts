// The store contract: behaviour every implementation of the CycleStore, OutboxStore and OutboxWriter ports
// keeps, written against the ports only. Run against SQLite (test/integration/store-contract.test.ts) and the
// in-memory store (test/unit/store-contract-memory.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { outcomeClass, type Outcome } from '../../src/diagnosis/outcome-names.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import { stateChangedEvent } from '../../src/state/events.js';
import { advance, initialState } from '../../src/state/machine.js';
import type { StatePolicy } from '../../src/state/types.js';
import type { CycleStore, OutboxStore, OutboxWriter } from '../../src/store/ports.js';
import { CHANNELS, type CycleRecord, type NewOutboxItem, type OutboxCounts } from '../../src/store/types.js';

export type ContractStore = CycleStore & OutboxStore & OutboxWriter;

/** outboxCounts() as expected: these channels' counts, and every other channel with none. */
export function countsWith(counts: Partial<OutboxCounts>): OutboxCounts {
  const none = Object.fromEntries(CHANNELS.map((channel) => [channel, { pending: 0, delivered: 0, failed: 0 }])) as OutboxCounts;
  return { ...none, ...counts };
}

/** A fresh, empty store in which these connections are configured; `close` releases it. */
export type ContractStoreFactory = (connections: readonly string[]) => { store: ContractStore; close(): void };

const policy: StatePolicy = { failureThreshold: 2, recoveryThreshold: 1, lockoutBackoff: false };
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** Every optional part present, so a round trip checks all of it. */
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
      contentType: 'application/json',
      headers: ok ? { 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5' } : { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
      message: ok ? '{"accountId":"5b10…"}' : 'Unauthorized',
      json: { accountId: '5b10ac8d82e05b22cc7d4ef5' },
      bodyBytes: 123,
      bodyTruncated: false,
    },
    identity: ok ? { accountId: '5b10ac8d82e05b22cc7d4ef5', name: null, key: null, emailAddress: 'bot@acme.com', displayName: 'Bot', active: true } : null,
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

/** One probe through the state machine into the store, as commitProbe does it. */
function cycle(store: ContractStore, name: string, startedAt: string, outcome: Outcome, extra: Partial<CycleRecord> = {}) {
  const { next, change } = advance(store.loadState(name), { outcome, at: startedAt }, policy);
  const record: CycleRecord = {
    observation: observation(name, startedAt, outcome),
    diagnosis: { outcome, class: outcomeClass(outcome), detail: `detail of ${outcome}` },
    next,
    events: change ? [stateChangedEvent(change)] : [],
    ...extra,
  };
  return { next, change, record, ids: store.recordCycle(record) };
}

const slackTest = (payload: unknown = {}): NewOutboxItem => ({ channel: 'slack', kind: 'test', payload });

export function storeContract(implementation: string, open: ContractStoreFactory): void {
  const withStore = (connections: readonly string[], body: (store: ContractStore) => void) => () => {
    const { store, close } = open(connections);
    try {
      body(store);
    } finally {
      close();
    }
  };

  describe(`store contract: ${implementation}`, () => {
    test('a connection never probed is unknown, with no last ok probe and no incidents', withStore(['a'], (store) => {
      assert.deepEqual(store.loadState('a'), initialState());
      assert.equal(store.lastOkProbe('a'), null);
      assert.deepEqual(store.openIncidents('a'), []);
      assert.deepEqual(store.outboxLaneHeads(at(0)), []);
    }));

    test('a cycle stores the state it was given, and the last ok probe reads back as its observation without the parsed body', withStore(['a'], (store) => {
      cycle(store, 'a', at(0), 'ok');
      cycle(store, 'a', at(1), 'basic_auth_rejected');
      const { next } = cycle(store, 'a', at(2), 'basic_auth_rejected');
      assert.equal(next.state, 'regressed');
      assert.deepEqual(store.loadState('a'), next);
      const lastOk = store.lastOkProbe('a');
      assert.equal(lastOk?.startedAt, at(0));
      assert.equal(lastOk?.outcome, 'ok');
      const expected = observation('a', at(0), 'ok');
      assert.deepEqual(lastOk?.observation, { ...expected, http: { ...expected.http!, json: null } });
    }));

    test('instants are stored in one form: a probe started at +02:00 reads back in UTC', withStore(['a'], (store) => {
      const { ids } = cycle(store, 'a', '2026-03-01T12:00:00+02:00', 'ok');
      assert.equal(store.lastOkProbe('a')?.startedAt, '2026-03-01T10:00:00.000Z');
      assert.equal(store.loadState('a').state, 'ok');
      assert.equal(store.outboxLaneHeads(at(0)).length, 0, 'no notification was asked for');
      assert.ok(ids.probeId > 0);
    }));

    test('a state change needs exactly its state_changed event, and a refused cycle leaves nothing behind', withStore(['a'], (store) => {
      cycle(store, 'a', at(0), 'ok');
      const before = store.loadState('a');
      const { next, change } = advance(before, { outcome: 'auth_rejected', at: at(5) }, { ...policy, failureThreshold: 1 });
      const base: CycleRecord = {
        observation: observation('a', at(5), 'auth_rejected'),
        diagnosis: { outcome: 'auth_rejected', class: 'auth', detail: '401' },
        next,
        incidents: [{ action: 'open', kind: 'regressed', event: 0 }],
        outbox: [{ channel: 'slack', kind: 'open', incident: { index: 0 }, payload: {} }],
      };
      assert.throws(() => store.recordCycle({ ...base, events: [] }), /stored state ok, new state regressed, but the cycle has no state_changed event/);
      assert.throws(() => store.recordCycle({ ...base, events: [{ ...stateChangedEvent(change!), from: 'unknown' }] }), /but the cycle has unknown→regressed/);
      assert.throws(() => store.recordCycle({ ...base, events: [stateChangedEvent(change!)], incidents: [{ action: 'resolve', incidentId: 99, event: 0 }], outbox: [] }), /incident 99 is not open/);
      assert.throws(() => store.recordCycle({ ...base, events: [stateChangedEvent(change!)], incidents: [{ action: 'open', kind: 'regressed', event: 3 }] }), /event index 3 is not in this cycle/);
      assert.throws(() => store.recordCycle({ ...base, events: [stateChangedEvent(change!)], outbox: [{ channel: 'slack', kind: 'open', incident: { index: 1 }, payload: {} }] }), /incident change 1 is not in this cycle/);
      // A cycle without a change must not carry a state_changed event either.
      const same = advance(before, { outcome: 'ok', at: at(5) }, policy);
      assert.equal(same.change, null);
      assert.throws(() => store.recordCycle({ ...base, next: same.next, events: [stateChangedEvent(change!)], incidents: [], outbox: [] }), /stored state ok, new state ok/);

      assert.deepEqual(store.loadState('a'), before);
      assert.deepEqual(store.openIncidents(), []);
      assert.deepEqual(store.outboxLaneHeads(at(60)), []);
      assert.equal(store.lastOkProbe('a')?.startedAt, at(0));
    }));

    test('an incident opens with its event and notification, and is resolved by the cycle that recovers', withStore(['a'], (store) => {
      cycle(store, 'a', at(0), 'ok');
      cycle(store, 'a', at(1), 'forbidden');
      const opened = cycle(store, 'a', at(2), 'forbidden', {
        incidents: [{ action: 'open', kind: 'regressed', event: 0 }],
        outbox: [{ channel: 'alertmanager', target: 'http://am', kind: 'open', incident: { index: 0 }, payload: { status: 'firing' } }],
      });
      assert.equal(opened.change?.to, 'regressed');
      const [incident] = store.openIncidents('a');
      assert.deepEqual(
        [incident.id, incident.connection, incident.kind, incident.openedAt, incident.openEventId, incident.resolvedAt, incident.lastNotifiedAt],
        [opened.ids.incidentIds[0], 'a', 'regressed', at(2), opened.ids.eventIds[0], null, at(2)],
      );
      assert.deepEqual(store.openIncidents('b'), []);
      const [open] = store.outboxLaneHeads(at(2));
      assert.deepEqual([open.id, open.incidentId, open.kind, open.dedupeKey, open.target, open.payload], [opened.ids.outboxIds[0], incident.id, 'open', `incident:${incident.id}:open`, 'http://am', { status: 'firing' }]);

      // A second open incident of the same kind is refused.
      assert.throws(() => cycle(store, 'a', at(3), 'forbidden', { events: [{ kind: 'identity_changed' }], incidents: [{ action: 'open', kind: 'regressed', event: 0 }] }));
      assert.equal(store.openIncidents('a').length, 1);

      const resolved = cycle(store, 'a', at(4), 'ok', {
        incidents: [{ action: 'resolve', incidentId: incident.id, event: 0 }],
        outbox: [{ channel: 'alertmanager', target: 'http://am', kind: 'resolve', incident: { index: 0 }, payload: { status: 'resolved' } }],
      });
      assert.deepEqual(resolved.ids.incidentIds, [incident.id]);
      assert.deepEqual(store.openIncidents(), []);
      assert.deepEqual(store.pendingOutbox(at(4), 'alertmanager').map((i) => [i.kind, i.dedupeKey]), [['open', `incident:${incident.id}:open`], ['resolve', `incident:${incident.id}:resolve`]]);
    }));

    test('a notification cannot be enqueued twice on a channel; another channel is separate; test alerts are always new', withStore(['a'], (store) => {
      const { ids } = cycle(store, 'a', at(0), 'ok', { outbox: [{ channel: 'slack', kind: 'event', event: { index: 0 }, payload: { to: 'ok' } }] });
      const eventId = ids.eventIds[0];
      const [first] = ids.outboxIds;
      assert.ok(first);
      assert.deepEqual(store.enqueueOutbox([{ channel: 'slack', kind: 'event', event: { id: eventId }, payload: {} }], at(1)), [null]);
      const [am] = store.enqueueOutbox([{ channel: 'alertmanager', kind: 'event', event: { id: eventId }, payload: { a: 1 } }], at(1));
      assert.ok(am);
      assert.deepEqual(store.enqueueOutbox([{ channel: 'slack', kind: 'test', dedupeKey: 'mine', payload: {} }, { channel: 'slack', kind: 'test', dedupeKey: 'mine', payload: {} }], at(1)).map((id) => id === null), [false, true]);
      const tests = store.enqueueOutbox([slackTest(), slackTest()], at(1));
      assert.equal(new Set(tests).size, 2);
      assert.ok(tests.every((id) => id !== null));
      assert.deepEqual(store.outboxCounts(), countsWith({ slack: { pending: 4, delivered: 0, failed: 0 }, alertmanager: { pending: 1, delivered: 0, failed: 0 } }));
    }));

    test('enqueueOutbox refuses an item without what its kind needs, or an index, and then enqueues none of the batch', withStore(['a'], (store) => {
      assert.throws(() => store.enqueueOutbox([slackTest(), { channel: 'slack', kind: 'open', payload: {} }], at(1)), /needs an incident/);
      assert.throws(() => store.enqueueOutbox([{ channel: 'slack', kind: 'event', payload: {} }], at(1)), /needs an event/);
      assert.throws(() => store.enqueueOutbox([{ channel: 'slack', kind: 'event', event: { index: 0 }, payload: {} }], at(1)), /outside recordCycle use \{ id \}/);
      assert.deepEqual(store.outboxCounts().slack, { pending: 0, delivered: 0, failed: 0 });
    }));

    test('lanes: each (channel, target) goes out in order; a head waiting for its retry holds back its own lane only', withStore(['a'], (store) => {
      const lane = (target: string, n: number): NewOutboxItem => ({ channel: 'slack', target, kind: 'test', payload: { n } });
      const [a1, a2, b1] = store.enqueueOutbox([lane('a', 1), lane('a', 2), lane('b', 1)], at(0));
      const [am] = store.enqueueOutbox([{ channel: 'alertmanager', target: 'a', kind: 'test', payload: {} }], at(0));
      const [later] = store.enqueueOutbox([{ ...lane('c', 1), nextAttemptAt: at(30) }], at(0));
      assert.deepEqual(store.outboxLaneHeads(at(0)).map((i) => i.id), [a1, b1, am]);
      assert.deepEqual(store.outboxLaneHeads(at(0), 2).map((i) => i.id), [a1, b1]);

      store.markAttemptFailed(a1!, 'HTTP 429 Too Many Requests', at(10));
      assert.deepEqual(store.outboxLaneHeads(at(5)).map((i) => i.id), [b1, am], 'lane a waits for its head');
      const [retry] = store.outboxLaneHeads(at(10));
      assert.deepEqual([retry.id, retry.attempts, retry.lastError, retry.nextAttemptAt], [a1, 1, 'HTTP 429 Too Many Requests', at(10)]);
      assert.deepEqual(store.outboxLaneHeads(at(30)).map((i) => i.id), [a1, b1, am, later]);

      assert.equal(store.markDelivered(a1!, at(10)), true);
      assert.deepEqual(store.outboxLaneHeads(at(10)).map((i) => i.id), [a2, b1, am]);
      store.markFailed(b1!, 'HTTP 404 no_service', at(11));
      assert.deepEqual(store.outboxLaneHeads(at(11)).map((i) => i.id), [a2, am]);
    }));

    test('delivery marks: delivered once, failed once, attempts counted, errors kept short', withStore(['a'], (store) => {
      const [one, two, three] = store.enqueueOutbox([slackTest(1), slackTest(2), { channel: 'alertmanager', kind: 'test', payload: 3 }], at(0));
      store.markAttemptFailed(one!, 'x'.repeat(2000), at(1));
      assert.equal(store.pendingOutbox(at(1)).find((i) => i.id === one)?.lastError, 'x'.repeat(500));
      assert.equal(store.markDelivered(one!, at(2)), true);
      assert.equal(store.markDelivered(one!, at(3)), false, 'a delivered row is delivered once');
      store.markAttemptFailed(one!, 'late', at(9));
      store.markFailed(one!, 'late', at(9));
      store.markFailed(two!, 'HTTP 404 no_service', at(2));
      assert.equal(store.markDelivered(two!, at(3)), false, 'a failed row is not delivered later');
      assert.deepEqual(store.outboxCounts(), countsWith({ slack: { pending: 0, delivered: 1, failed: 1 }, alertmanager: { pending: 1, delivered: 0, failed: 0 } }));
      assert.deepEqual(store.pendingOutbox(at(60)).map((i) => [i.id, i.attempts, i.payload]), [[three, 0, 3]]);
      assert.deepEqual(store.outboxLaneHeads(at(60)).map((i) => i.id), [three]);
    }));

    test('reminders touch their incident; pendingOutbox orders by next attempt and filters by channel', withStore(['a'], (store) => {
      cycle(store, 'a', at(0), 'ok');
      cycle(store, 'a', at(1), 'timeout');
      cycle(store, 'a', at(2), 'timeout', { incidents: [{ action: 'open', kind: 'unreachable', event: 0 }] });
      const [incident] = store.openIncidents('a');
      assert.equal(incident.lastNotifiedAt, null, 'no notification yet');
      const [reminder] = store.enqueueOutbox([{ channel: 'slack', kind: 'reminder', incident: { id: incident.id }, payload: {}, nextAttemptAt: at(20) }], at(10));
      assert.equal(store.openIncidents('a')[0].lastNotifiedAt, at(10));
      const [early] = store.enqueueOutbox([{ channel: 'alertmanager', kind: 'resolve', incident: { id: incident.id }, payload: {} }], at(12));
      assert.equal(store.openIncidents('a')[0].lastNotifiedAt, at(10), 'a resolve is not a reminder');
      assert.deepEqual(store.pendingOutbox(at(15)).map((i) => i.id), [early]);
      assert.deepEqual(store.pendingOutbox(at(20)).map((i) => [i.id, i.dedupeKey]), [[early, `incident:${incident.id}:resolve`], [reminder, `incident:${incident.id}:reminder:${at(10)}`]]);
      assert.deepEqual(store.pendingOutbox(at(20), 'slack').map((i) => i.id), [reminder]);
    }));
  });
}
