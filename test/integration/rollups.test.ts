// Hourly roll-ups on a real SQLite file: what they count equals the raw probes they replace, time in state adds up
// to the hour, a rerun or a restart halfway never counts twice, raw probes are pruned only once rolled up, and
// history and the status strips read the roll-ups where the raw probes are gone.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { maintainHistory } from '../../src/daemon/rollup-job.js';
import type { Outcome } from '../../src/diagnosis/outcome-names.js';
import { SQL } from '../../src/store/rollups.js';
import { openStore, type Store } from '../../src/store/store.js';
import { HOUR_MS, historyConnection, recordProbe } from '../support/history-fixture.js';
import { countEventLoopTurns } from '../support/event-loop.js';

const root = mkdtempSync(join(tmpdir(), 'authwatch-rollups-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dbCount = 0;
const newDbPath = () => join(root, `db${++dbCount}`, 'authwatch.db');

const H0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number, seconds = 0) => new Date(H0 + minutes * 60_000 + seconds * 1000).toISOString();
/** When hour `n` after H0 (and every one before) is due for rolling up. */
const afterHour = (n: number) => new Date(H0 + (n + 1) * HOUR_MS + 15 * 60_000);
const DAY_MS = 24 * HOUR_MS;

function storeWith(names: string[], since = at(-24 * 60)): Store {
  const store = openStore(newDbPath());
  store.upsertConnections(names.map(historyConnection), since);
  return store;
}

/** The hour 10:00–11:00 of `a`: ok, then 10 rejections (regressed from the second on), then ok again; `b` sent nothing. */
function fillHour(store: Store): void {
  for (let minute = 0; minute < 60; minute++) {
    const outcome: Outcome = minute >= 40 && minute < 50 ? 'basic_auth_rejected' : 'ok';
    recordProbe(store, 'a', at(minute, 7), outcome, outcome === 'ok' ? 0.2 + minute / 1000 : 0.1);
  }
  for (let minute = 0; minute < 60; minute += 10) recordProbe(store, 'b', at(minute), 'credential_missing', null);
}

function rawCounts(path: string, name: string, from: string, to: string) {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(`SELECT outcome, class, count(*) AS probes, count(total_seconds) AS timed, round(coalesce(sum(total_seconds), 0), 6) AS sum,
          min(total_seconds) AS min, max(total_seconds) AS max
        FROM probe_history WHERE connection = ? AND started_at >= ? AND started_at < ? GROUP BY outcome ORDER BY probes DESC, outcome`)
      .all(name, from, to);
  } finally {
    db.close();
  }
}

function rolledUp(store: Store, name: string, hour: string) {
  const summary = store.probeHours(name, hour, new Date(Date.parse(hour) + HOUR_MS), 10)[0];
  return summary.outcomes.map((o) => ({ outcome: o.outcome, class: o.class, probes: o.probes, timed: o.timed, sum: Math.round(o.totalSeconds.sum * 1e6) / 1e6, min: o.totalSeconds.min, max: o.totalSeconds.max }));
}

function tableRows(path: string, table: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).all();
  } finally {
    db.close();
  }
}

test('an hour rolled up counts what its raw probes count, per outcome, with their total durations', async () => {
  const store = storeWith(['a', 'b']);
  fillHour(store);
  assert.equal(await store.rollUp(new Date(H0 + HOUR_MS + 14 * 60_000)), 0, 'not before the hour ended 15 minutes ago');
  assert.equal(await store.rollUp(afterHour(0)), 1);
  assert.equal(store.rolledUpBefore(), at(60));

  assert.deepEqual(rolledUp(store, 'a', at(0)), rawCounts(store.path, 'a', at(0), at(60)));
  assert.deepEqual(rolledUp(store, 'a', at(0)), [
    { outcome: 'ok', class: 'ok', probes: 50, timed: 50, sum: 11.325, min: 0.2, max: 0.259 },
    { outcome: 'basic_auth_rejected', class: 'auth', probes: 10, timed: 10, sum: 1, min: 0.1, max: 0.1 },
  ]);
  assert.deepEqual(rolledUp(store, 'b', at(0)), [{ outcome: 'credential_missing', class: 'auth', probes: 6, timed: 0, sum: 0, min: null, max: null }]);
  store.close();
});

test('time in each state of an hour with changes adds up to 3600 s; a connection added or removed in it counts its part', async () => {
  const store = storeWith(['a', 'b', 'gone']);
  recordProbe(store, 'gone', at(-90), 'ok');
  fillHour(store);
  store.upsertConnections(['a', 'b', 'late'].map(historyConnection), at(45)); // `gone` removed at 10:45, `late` added
  const transitions = store.history('a', at(0), 100).events.reverse().map((event) => [event.at, event.from, event.to]);
  assert.deepEqual(transitions, [[at(0, 7), 'unknown', 'ok'], [at(41, 7), 'ok', 'regressed'], [at(50, 7), 'regressed', 'ok']]);

  await store.rollUp(afterHour(0));
  const states = (name: string) => store.probeHours(name, at(0), at(60), 1)[0]?.states;
  // unknown until the first probe at 10:00:07, ok until 10:41:07, regressed until 10:50:07, then ok again.
  assert.deepEqual(states('a'), { unknown: 7, ok: 41 * 60 + (9 * 60 + 53), regressed: 9 * 60 });
  assert.equal(Object.values(states('a')!).reduce((sum, s) => sum + s, 0), 3600);
  assert.deepEqual(states('b'), { unknown: 600, failing: 3000 }, 'b failed from its second missing credential, at 10:10');
  assert.deepEqual(states('gone'), { ok: 45 * 60 }, 'ok since its probe before the hour, until it was removed');
  assert.deepEqual(states('late'), { unknown: 15 * 60 }, 'never probed, from when it was added');
  store.close();
});

test('the first roll-up starts at the earliest probe, not at a last probe that pruning kept from long ago', async () => {
  const store = storeWith(['a', 'gone'], at(-400 * 24 * 60));
  recordProbe(store, 'gone', at(-300 * 24 * 60), 'ok'); // its last (and last ok) probe: kept however old
  store.upsertConnections([historyConnection('a')], at(-24 * 60));
  for (let minute = 0; minute < 120; minute += 10) recordProbe(store, 'a', at(minute), 'ok');
  assert.equal(await store.rollUp(afterHour(1)), 2);
  assert.deepEqual(store.probeHours('a', at(-400 * 24 * 60), at(120), 10_000).map((hour) => hour.hour), [at(60), at(0)]);
  store.close();
});

test('a rerun changes nothing, and a stop halfway through an hour followed by a restart does not count twice', async () => {
  const reference = storeWith(['a', 'b', 'c']);
  const path = newDbPath();
  let store = openStore(path);
  store.upsertConnections(['a', 'b', 'c'].map(historyConnection), at(-24 * 60));
  for (const s of [reference, store]) {
    fillHour(s);
    for (let minute = 0; minute < 120; minute += 5) recordProbe(s, 'c', at(minute), minute < 60 ? 'timeout' : 'ok', 15);
  }
  await reference.rollUp(afterHour(1));

  // One connection per transaction; stopped after the second, in the middle of the first hour.
  let transactions = 0;
  assert.equal(await store.rollUp(afterHour(1), 1, () => ++transactions < 2), 0);
  assert.equal(store.rolledUpBefore(), null, 'the watermark moves only with the hour complete');
  assert.ok(tableRows(path, 'probe_hours').length > 0, 'the first batches are written');
  store.close();

  store = openStore(path);
  assert.equal(await store.rollUp(afterHour(1), 1), 2);
  assert.deepEqual(tableRows(path, 'probe_hours'), tableRows(reference.path, 'probe_hours'));
  assert.deepEqual(tableRows(path, 'state_hours'), tableRows(reference.path, 'state_hours'));

  assert.equal(await store.rollUp(afterHour(1)), 0, 'nothing left to do');
  // Even with its watermark lost, an hour rolled up again is rewritten, not added to.
  const db = new Database(path);
  db.prepare("DELETE FROM meta WHERE key = 'rolled_up_through_hour'").run();
  db.close();
  assert.equal(await store.rollUp(afterHour(1)), 2);
  assert.deepEqual(tableRows(path, 'probe_hours'), tableRows(reference.path, 'probe_hours'));
  assert.deepEqual(tableRows(path, 'state_hours'), tableRows(reference.path, 'state_hours'));
  store.close();
  reference.close();
});

test('many pending hours are rolled up in short transactions that let the event loop run, once', async () => {
  const store = storeWith(['a', 'b']);
  for (let minute = 0; minute < 48 * 60; minute += 30) recordProbe(store, 'a', at(minute), 'ok');
  const loop = countEventLoopTurns();
  // The next hourly upkeep arriving while a long backlog is rolled up waits for it instead of redoing its hours.
  assert.deepEqual(await Promise.all([store.rollUp(afterHour(47), 1), store.rollUp(afterHour(47), 1)]), [48, 48]);
  const turns = loop.stop();
  assert.ok(turns >= 48 * 2 - 1, `the event loop ran between transactions (${turns} turns)`);
  store.close();
});

test('raw probes are pruned by retention only once their hour is rolled up', async () => {
  const store = storeWith(['a']);
  for (let minute = 0; minute < 90; minute++) recordProbe(store, 'a', at(minute), 'ok');
  const storage = { retentionMs: 1, rollupRetentionMs: 400 * DAY_MS };
  assert.deepEqual(await maintainHistory(store, storage, new Date(H0 + 70 * 60_000)), { hours: 0, probes: 0, rollups: 0 });
  assert.equal(store.recentProbes('a', 1000).length, 90, 'nothing rolled up, nothing pruned');
  assert.deepEqual(await maintainHistory(store, storage, afterHour(0)), { hours: 1, probes: 60, rollups: 0 });
  assert.equal(store.recentProbes('a', 1000).at(-1)?.startedAt, at(60), 'the hour not rolled up is kept');
  assert.equal(store.probeHours('a', at(0), at(60), 10)[0].outcomes[0].probes, 60);
  store.close();
});

test('history beyond the raw retention shows hourly summaries for the older part; roll-ups are kept for their own retention', async () => {
  const store = storeWith(['a']);
  // Three days, a probe every 10 minutes; rejected on the first day from 12:00 to 14:00.
  for (let minute = 0; minute < 3 * 24 * 60; minute += 10) {
    recordProbe(store, 'a', at(minute), minute >= 120 && minute < 240 ? 'basic_auth_rejected' : 'ok');
  }
  const now = new Date(H0 + 3 * DAY_MS + 20 * 60_000);
  const upkeep = await maintainHistory(store, { retentionMs: DAY_MS, rollupRetentionMs: 2 * DAY_MS }, now);
  assert.equal(upkeep.hours, 3 * 24);
  assert.ok(upkeep.probes > 0 && upkeep.rollups > 0, JSON.stringify(upkeep));

  const rawFrom = new Date(Math.ceil((now.getTime() - DAY_MS) / HOUR_MS) * HOUR_MS).toISOString();
  const history = store.history('a', new Date(now.getTime() - 3 * DAY_MS), 10_000);
  assert.equal(history.hoursBefore, rawFrom, 'hourly summaries before the first whole hour of raw probes');
  assert.equal(history.probes.at(-1)?.startedAt, rawFrom, 'raw probes from then on (a pruned hour is told by its summary)');
  assert.equal(history.probes.length, 23 * 6, "the last day but its first hour");
  // Roll-ups of hours that started more than two days ago are pruned; the ones in between are summaries.
  const oldest = new Date(Math.floor((now.getTime() - 2 * DAY_MS) / HOUR_MS) * HOUR_MS).toISOString();
  assert.equal(history.hours.at(-1)?.hour, oldest);
  assert.equal(history.hours[0].hour, new Date(Date.parse(rawFrom) - HOUR_MS).toISOString());
  assert.equal(history.hours.length, (Date.parse(rawFrom) - Date.parse(oldest)) / HOUR_MS);
  for (const hour of history.hours) {
    assert.deepEqual(hour.outcomes.map((o) => [o.outcome, o.probes]), [['ok', 6]], hour.hour);
    assert.deepEqual(hour.states, { ok: 3600 }, hour.hour);
  }
  assert.deepEqual(history.events.map((event) => [event.at, event.to]), [[at(240), 'ok'], [at(130), 'regressed']], 'the state changes of the first day are kept');
  assert.equal(store.probeHours('a', at(0), at(24 * 60), 100).length, 0, 'the first day is past the roll-up retention');
  store.close();
});

test('the status strips count the same from the roll-ups as from the raw probes, and still after the raw probes are pruned', async () => {
  const store = storeWith(['a', 'b']);
  fillHour(store);
  for (let minute = 60; minute < 150; minute += 3) recordProbe(store, 'a', at(minute, 30), minute < 90 ? 'timeout' : 'ok');
  const since = new Date(H0 - HOUR_MS);
  const before = store.hourlyOutcomeCounts(['a', 'b'], since);
  assert.deepEqual(before.filter((count) => count.connection === 'a').map((count) => [count.hour, count.class, count.probes]), [
    [at(0), 'auth', 10],
    [at(0), 'ok', 50],
    [at(60), 'network', 10],
    [at(60), 'ok', 10],
    [at(120), 'ok', 10],
  ]);
  await store.rollUp(afterHour(1));
  assert.deepEqual(store.hourlyOutcomeCounts(['a', 'b'], since), before, 'hours 10 and 11 from the roll-ups, 12 from the probes');
  await store.pruneProbes(new Date(H0 + 2 * HOUR_MS));
  assert.equal(store.recentProbes('a', 1000).length, 10, 'the raw probes of hours 10 and 11 are gone');
  assert.deepEqual(store.hourlyOutcomeCounts(['a', 'b'], since), before);
  assert.deepEqual(store.hourlyOutcomeCounts(['a'], new Date(H0 + 2 * HOUR_MS)), [{ connection: 'a', hour: at(120), class: 'ok', probes: 10 }]);
  store.close();
});

test('every roll-up statement reads per connection through an index, never a whole table of probes, events or roll-ups', async () => {
  const store = storeWith(['a', 'b']);
  fillHour(store);
  await store.rollUp(afterHour(0));
  const db = new Database(store.path, { readonly: true });
  const params = { hour: 1, lo: 1, hi: 2, start: 0, end: HOUR_MS, startIso: at(0), endIso: at(60), until: 5, id: 1, from: 0, to: 5, names: '["a"]', first: 0, last: 5 };
  for (const [name, sql] of Object.entries(SQL)) {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(sql.includes('?') ? [1, 2, 'ok', 3] : [params])) as { detail: string }[]).map((step) => step.detail);
    assert.ok(!plan.some((step) => /SCAN (p|e|h|probes|events|probe_hours|state_hours|probe_details)\b/.test(step)), `${name}: ${JSON.stringify(plan)}`);
  }
  db.close();
  store.close();
});
