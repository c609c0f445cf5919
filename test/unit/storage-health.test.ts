import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { RecordQueue, type PendingProbe } from '../../src/daemon/record-queue.js';
import { registerStorageMetrics } from '../../src/metrics/storage-metrics.js';
import { initialState } from '../../src/state/machine.js';
import { isStorageError, StorageHealth, storageErrorKind } from '../../src/store/health.js';
import type { Connection } from '../../src/config/load.js';

const sqliteError = (code: string) => Object.assign(new Error(code.toLowerCase()), { code });
const T0 = new Date('2026-03-01T10:00:00.000Z');

test('storage errors are classified by their SQLite result code', () => {
  assert.equal(storageErrorKind(sqliteError('SQLITE_BUSY')), 'busy');
  assert.equal(storageErrorKind(sqliteError('SQLITE_BUSY_SNAPSHOT')), 'busy');
  assert.equal(storageErrorKind(sqliteError('SQLITE_LOCKED')), 'busy');
  assert.equal(storageErrorKind(sqliteError('SQLITE_FULL')), 'full');
  assert.equal(storageErrorKind(sqliteError('SQLITE_READONLY_DBMOVED')), 'readonly');
  assert.equal(storageErrorKind(sqliteError('SQLITE_IOERR_WRITE')), 'io');
  assert.equal(storageErrorKind(sqliteError('SQLITE_CONSTRAINT')), 'other');
  assert.equal(isStorageError(sqliteError('SQLITE_FULL')), true);
  assert.equal(isStorageError(new TypeError('a bug')), false);
});

test('one episode per outage: started by the first failure, ended by the next success, whatever fails between', () => {
  const health = new StorageHealth(() => T0);
  const log: string[] = [];
  health.listen({ onEpisodeStart: (e) => log.push(`start ${e.kind} ${e.operation}`), onEpisodeEnd: (e) => log.push(`end ${e.errors}`) });
  health.succeeded();
  health.failed('record probe', sqliteError('SQLITE_FULL'));
  health.failed('record probe', sqliteError('SQLITE_FULL'));
  assert.throws(() => health.track('record a notification delivered', () => { throw sqliteError('SQLITE_BUSY'); }));
  assert.equal(health.up, false);
  assert.deepEqual(health.view().degraded, { kind: 'full', operation: 'record probe', message: 'sqlite_full', since: T0.toISOString(), errors: 3 });
  assert.equal(health.track('record probe', () => 42), 42);
  assert.deepEqual(log, ['start full record probe', 'end 3']);
  assert.deepEqual(health.view().errors, { busy: 1, full: 2, readonly: 0, io: 0, other: 0 });
});

function queue(options: { bound?: number; groupWindowMs?: number; maxBatch?: number; batchBudgetMs?: number; nowMs?: () => number } = {}) {
  const connection = { name: 'a' } as Connection;
  let stored: string[] = [];
  let failing = false;
  const health = new StorageHealth(() => T0);
  const dropped: string[] = [];
  const transactions: string[][] = [];
  const afterCommit: string[] = [];
  let syncs = 0;
  let depth = 0;
  const bugs: string[] = [];
  const records = new RecordQueue({
    health,
    commit: (probe) => {
      if (failing) throw sqliteError('SQLITE_FULL');
      if ((probe.diagnosis.outcome as string) === 'bug') throw new TypeError('a bug in planning');
      stored.push(probe.observation.startedAt);
      return { notable: probe.next.state === 'regressed', run: () => afterCommit.push(probe.observation.startedAt) };
    },
    // Like the store: a batch (or a nested savepoint) that throws leaves nothing of what it wrote.
    batch: (work) => {
      const before = stored;
      stored = [...stored];
      depth++;
      try {
        const result = work();
        if (depth === 1) transactions.push(stored.slice(before.length));
        return result;
      } catch (error) {
        stored = before;
        throw error;
      } finally {
        depth--;
      }
    },
    sync: () => syncs++,
    groupWindowMs: 0,
    loadState: () => initialState(),
    isConfigured: () => true,
    onCommitError: (probe) => bugs.push(probe.observation.startedAt),
    onDropped: (probe) => dropped.push(probe.observation.startedAt),
    initialDelayMs: 60_000,
    ...options,
  });
  const probe = (at: string, state: 'ok' | 'regressed', outcome = 'ok'): PendingProbe =>
    ({ connection, observation: { connection: 'a', startedAt: at }, diagnosis: { outcome }, now: T0, next: { ...initialState(), state } }) as unknown as PendingProbe;
  return { records, stored: () => stored, transactions, bugs, dropped, health, probe, afterCommit, syncs: () => syncs, fail: (value: boolean) => (failing = value) };
}

test('probes the database refuses wait in order, the state shown is the newest one, and they commit in order once storage returns', (t) => {
  const { records, stored, health, probe, fail } = queue();
  t.after(() => records.stop());
  assert.equal(records.submit(probe('t1', 'ok')), 'recorded');
  fail(true);
  assert.equal(records.submit(probe('t2', 'regressed')), 'queued');
  fail(false);
  assert.equal(records.submit(probe('t3', 'regressed')), 'queued', 'never overtakes a waiting probe');
  assert.equal(records.stateOf('a').state, 'regressed');
  assert.deepEqual(records.pendingOf('a').map((p) => p.observation.startedAt), ['t2', 't3']);
  assert.equal(health.up, false);
  assert.equal(records.flush(), 2);
  assert.deepEqual(stored(), ['t1', 't2', 't3']);
  assert.equal(records.size, 0);
  assert.equal(health.up, true);
  assert.equal(records.stateOf('a').state, 'unknown', 'the stored state again (here the stub store)');
});

test('the queue is bounded: beyond the bound the oldest waiting probe is dropped and counted', (t) => {
  const { records, dropped, probe, fail } = queue({ bound: 2 });
  t.after(() => records.stop());
  fail(true);
  for (const at of ['t1', 't2', 't3', 't4']) records.submit(probe(at, 'regressed'));
  assert.equal(records.size, 2);
  assert.equal(records.dropped, 2);
  assert.deepEqual(dropped, ['t1'], 'reported once per outage, not per probe');
  assert.deepEqual(records.pendingOf('a').map((p) => p.observation.startedAt), ['t3', 't4']);
});

test('the storage metrics pass promtool check metrics and follow the health', async () => {
  const registry = new Registry();
  const health = new StorageHealth(() => T0);
  registerStorageMetrics(registry, health, { probes: () => 7, notifications: () => 1 });
  health.failed('record probe', sqliteError('SQLITE_BUSY'));
  const text = await registry.metrics();
  assert.match(text, /^authwatch_storage_up 0$/m);
  assert.match(text, /^authwatch_storage_errors_total\{kind="busy"\} 1$/m);
  assert.match(text, /^authwatch_storage_errors_total\{kind="full"\} 0$/m);
  assert.match(text, /^authwatch_storage_pending_writes\{what="probe"\} 7$/m);
  const lint = spawnSync(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(lint.status, 0, `${lint.stdout}${lint.stderr}`);
  health.succeeded();
  assert.match(await registry.metrics(), /^authwatch_storage_up 1$/m);
});

test('group commit: probes that return together share one transaction; the WAL is fsynced before a notable one acts', async (t) => {
  const { records, stored, transactions, probe, afterCommit, syncs } = queue({ groupWindowMs: 5 });
  t.after(() => records.stop());
  assert.equal(records.submit(probe('t1', 'ok')), 'recorded');
  assert.equal(records.submit(probe('t2', 'ok')), 'recorded');
  assert.equal(records.submit(probe('t3', 'regressed')), 'recorded');
  assert.deepEqual(stored(), [], 'nothing is written before the group window ends');
  assert.equal(records.stateOf('a').state, 'regressed', 'the state shown is the newest, before the commit');
  const settled = records.whenSettled();
  records.flush(); // what the window's timer does when it ends
  await settled;
  assert.deepEqual(transactions, [['t1', 't2', 't3']]);
  assert.equal(syncs(), 1);
  assert.deepEqual(afterCommit, ['t1', 't2', 't3']);
  assert.equal(records.size, 0);
});

test('a backlog slice ends when its time budget is spent: each probe is a savepoint, so the transaction can end after any', (t) => {
  // The clock advances 8 ms at each reading: a 20 ms budget takes 3 (read at the start, then before each probe after the first).
  const clock = { ms: 0 };
  const { records, stored, transactions, probe, fail } = queue({ batchBudgetMs: 20, nowMs: () => (clock.ms += 8) });
  t.after(() => records.stop());
  fail(true);
  for (let index = 1; index <= 7; index += 1) records.submit(probe(`t${index}`, 'ok'));
  fail(false);
  assert.equal(records.flush(), 3, 'one slice, cut by the budget');
  assert.equal(records.size, 4, 'the rest waits for the next turn of the event loop');
  assert.equal(records.flush(true), 4);
  assert.deepEqual(transactions.map((rows) => rows.length), [3, 3, 1]);
  assert.deepEqual(stored(), ['t1', 't2', 't3', 't4', 't5', 't6', 't7'], 'in order, none lost');
});

test('a backlog commits in slices of maxBatch, yielding between them; a probe whose commit has a bug is dropped alone', (t) => {
  const { records, stored, transactions, bugs, probe, fail } = queue({ maxBatch: 2 });
  t.after(() => records.stop());
  fail(true);
  records.submit(probe('t1', 'ok'));
  fail(false);
  records.submit(probe('t2', 'ok', 'bug'));
  records.submit(probe('t3', 'ok'));
  records.submit(probe('t4', 'ok'));
  records.submit(probe('t5', 'ok'));
  assert.equal(records.flush(), 2, 'one slice per call; the rest after the event loop had its turn');
  assert.deepEqual(transactions.map((rows) => rows.length), [1]);
  assert.equal(records.flush(true), 3);
  assert.deepEqual(stored(), ['t1', 't3', 't4', 't5']);
  assert.deepEqual(bugs, ['t2']);
});
