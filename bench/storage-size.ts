// What the probe history costs on disk at scale, and how long its upkeep holds the event loop, measured, not
// asserted (the numbers in docs/storage.md):
//
//   npm run bench -- storage-size [--connections 10000] [--raw-hours 2] [--rollup-days 90] [--keep]
//
// A temporary database gets every connection recorded through the store (one to three real cycles each, so details,
// states and events are real): 10% regressed, 5% flapping (rejected one minute in ten), the rest ok. Then --raw-hours
// of raw probes, one a minute per connection, as the daemon writes them (minute by minute, each connection at its
// own offset in the minute, the timings spread like a remote Jira's), with the flapping connections' state changes;
// then the real roll-up job over them, and the roll-ups copied forward hour by hour to --rollup-days. Sizes come from
// SQLite's dbstat (pages of each table and index, so page fill and b-tree overhead are included).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { Outcome } from '../src/diagnosis/outcome-names.js';
import { stateChangedEvent } from '../src/state/events.js';
import { advance, initialState } from '../src/state/machine.js';
import { HOUR_MS } from '../src/store/rollups.js';
import { openStore, type Store } from '../src/store/store.js';
import { historyConnection, historyObservation } from '../test/support/history-fixture.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    'raw-hours': { type: 'string', default: '2' },
    'rollup-days': { type: 'string', default: '90' },
    keep: { type: 'boolean', default: false },
  },
});
const CONNECTIONS = Number(values.connections);
const RAW_HOURS = Number(values['raw-hours']);
const ROLLUP_DAYS = Number(values['rollup-days']);
const MINUTE = 60_000;
const DAY_MS = 24 * HOUR_MS;

const dir = mkdtempSync(join(os.tmpdir(), 'authwatch-storage-size-'));
const path = join(dir, 'authwatch.db');
const log = (text: string) => console.error(text);

/** Whole hours: the raw probes start RAW_HOURS + 1 hours before `now`'s hour. */
const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 20 * MINUTE;
const rawStart = Math.floor(now / HOUR_MS) * HOUR_MS - (RAW_HOURS + 1) * HOUR_MS;
const kindOf = (index: number) => (index % 10 === 0 ? 'regressed' : index % 20 === 5 ? 'flapping' : 'ok');

function recordConnections(store: Store): void {
  const connections = Array.from({ length: CONNECTIONS }, (_, index) => historyConnection(`conn-${String(index).padStart(5, '0')}`));
  store.upsertConnections(connections, new Date(rawStart - DAY_MS));
  const policy = { failureThreshold: 1, recoveryThreshold: 1, lockoutBackoff: false };
  for (const [index, connection] of connections.entries()) {
    const kind = kindOf(index);
    const steps: Outcome[] = kind === 'regressed' ? ['ok', 'basic_auth_rejected'] : kind === 'flapping' ? ['basic_auth_rejected', 'ok'] : ['ok'];
    let state = initialState();
    steps.forEach((outcome, step) => {
      const startedAt = new Date(rawStart - (steps.length - step) * MINUTE).toISOString();
      const { next, change } = advance(state, { outcome, at: startedAt }, policy);
      store.recordCycle({
        observation: { ...historyObservation(connection.name, startedAt, outcome, 0.3), tls: TLS },
        diagnosis: { outcome, class: outcome === 'ok' ? 'ok' : 'auth', detail: outcome === 'ok' ? '200 as accountId 5b10ac8d82e05b22cc7d4ef5 (Bot, bot@acme.com)' : '401 text/plain "Basic authentication with passwords is deprecated."' },
        next,
        events: change ? [stateChangedEvent(change)] : [],
      });
      state = next;
    });
  }
}

const TLS = {
  protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', subject: 'CN=*.atlassian.net', issuer: 'CN=Amazon RSA 2048 M02, O=Amazon, C=US',
  sans: ['DNS:*.atlassian.net', 'DNS:atlassian.net'], serial: '0A1B2C3D4E5F', fingerprint256: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
  notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z', chainEarliestNotAfter: '2027-01-01T00:00:00.000Z', authorized: true, authorizationError: null,
};

/** RAW_HOURS of probes, a minute at a time in start order; the flapping connections' changes as events. */
function fillRaw(db: Database.Database): number {
  db.exec(`CREATE TEMP TABLE plan AS SELECT i.id AS connection_id, i.name,
      (SELECT max(id) FROM probe_details WHERE connection_id = i.id AND outcome = 'ok') AS ok_detail,
      (SELECT max(id) FROM probe_details WHERE connection_id = i.id AND outcome <> 'ok') AS bad_detail,
      (SELECT state FROM connection_state WHERE name = i.name) AS state,
      (i.id * 4799) % 48000 AS offset_ms
    FROM connection_ids i`);
  const probes = db.prepare(`INSERT INTO probes (connection_id, started_ms, detail_id, dns_us, connect_us, tls_us, request_us, first_byte_us, download_us, total_us, volatile)
    SELECT connection_id, started_ms, detail_id, dns, connect, tls, request, first_byte, download, dns + connect + tls + request + first_byte + download, NULL
    FROM (SELECT connection_id, @t + offset_ms AS started_ms,
        CASE WHEN state = 'regressed' OR (ok_detail IS NOT NULL AND bad_detail IS NOT NULL AND state = 'ok' AND @flap) THEN bad_detail ELSE ok_detail END AS detail_id,
        1000 + abs(random()) % 40000 AS dns, 20000 + abs(random()) % 80000 AS connect, 40000 + abs(random()) % 120000 AS tls,
        50 + abs(random()) % 400 AS request, 100000 + abs(random()) % 400000 AS first_byte, 200 + abs(random()) % 3000 AS download
      FROM plan)
    ORDER BY started_ms`);
  // Flapping connections are ok (their last probe) with a rejected one: regressed at :00, ok again at :01 of every 10 minutes.
  const flaps = db.prepare(`INSERT INTO events (connection, kind, from_state, to_state, at, probe_id, details)
    SELECT name, 'state_changed', @from, @to, strftime('%Y-%m-%dT%H:%M:%fZ', (@t + offset_ms) / 1000.0, 'unixepoch'), NULL, '{}'
    FROM plan WHERE state = 'ok' AND ok_detail IS NOT NULL AND bad_detail IS NOT NULL`);
  let rows = 0;
  for (let minute = 0; minute < RAW_HOURS * 60; minute++) {
    const t = rawStart + minute * MINUTE;
    db.transaction(() => {
      rows += probes.run({ t, flap: minute % 10 === 0 ? 1 : 0 }).changes;
      if (minute % 10 === 0) flaps.run({ t, from: 'ok', to: 'regressed' });
      if (minute % 10 === 1) flaps.run({ t, from: 'regressed', to: 'ok' });
    })();
  }
  return rows;
}

function sizes(db: Database.Database): Map<string, number> {
  const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as { name: string; bytes: number }[];
  return new Map(rows.map((row) => [row.name, row.bytes]));
}

const count = (db: Database.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;

/**
 * Runs `work`, returning its duration and how late a 1 ms timer fired meanwhile (ms): the 99th percentile and the
 * worst. On a shared machine the worst also counts the time other processes held the CPU.
 */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; stall: string }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const value = await work();
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  return { value, seconds, stall: `${(delay.percentile(99) / 1e6).toFixed(0)} ms / ${(delay.max / 1e6).toFixed(0)} ms` };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

try {
  const seedStarted = performance.now();
  const store = openStore(path);
  recordConnections(store);
  const db = new Database(path);
  db.pragma('synchronous = OFF');
  const rawRows = fillRaw(db);
  log(`seeded ${CONNECTIONS} connections and ${rawRows} raw probes in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s`);

  const rollUp = await timed(() => store.rollUp(new Date(now)));
  const hoursRolled = rollUp.value;
  db.pragma('wal_checkpoint(TRUNCATE)');
  const raw = sizes(db);
  const probeRows = count(db, 'SELECT count(*) AS n FROM probes');
  const lastHour = Math.floor(rawStart / HOUR_MS) + RAW_HOURS - 1;
  const firstHour = lastHour - RAW_HOURS + 1;
  const perConnectionHour = (table: string) => count(db, `SELECT count(*) AS n FROM ${table} WHERE hour BETWEEN ${firstHour} AND ${lastHour}`) / (CONNECTIONS * RAW_HOURS);
  const probeHoursEach = perConnectionHour('probe_hours');
  const stateHoursEach = perConnectionHour('state_hours');
  const detailRows = count(db, 'SELECT count(*) AS n FROM probe_details');
  const rawBytes = (raw.get('probes') ?? 0) + (raw.get('probes_connection_started') ?? 0);
  const perProbe = rawBytes / probeRows;
  const detailsBytes = (raw.get('probe_details') ?? 0) + (raw.get('probe_details_current') ?? 0) + (raw.get('probe_details_closed') ?? 0);

  // The roll-ups copied forward, an hour at a time, to ROLLUP_DAYS days in all.
  const copyStarted = performance.now();
  const copyProbeHours = db.prepare(`INSERT OR REPLACE INTO probe_hours SELECT connection_id, hour + @shift, outcome, class, probes, timed, total_us_sum, total_us_min, total_us_max
    FROM probe_hours WHERE hour BETWEEN ${firstHour} AND ${lastHour}`);
  const copyStateHours = db.prepare(`INSERT OR REPLACE INTO state_hours SELECT connection_id, hour + @shift, state, seconds FROM state_hours WHERE hour BETWEEN ${firstHour} AND ${lastHour}`);
  for (let shift = RAW_HOURS; shift < ROLLUP_DAYS * 24; shift += RAW_HOURS) {
    db.transaction(() => {
      copyProbeHours.run({ shift });
      copyStateHours.run({ shift });
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  log(`copied the roll-ups to ${ROLLUP_DAYS} days in ${((performance.now() - copyStarted) / 1000).toFixed(0)} s`);
  const full = sizes(db);
  const rollupRows = { probe: count(db, 'SELECT count(*) AS n FROM probe_hours'), state: count(db, 'SELECT count(*) AS n FROM state_hours') };
  const rollupBytes = (full.get('probe_hours') ?? 0) + (full.get('state_hours') ?? 0);
  const perProbeHour = (full.get('probe_hours') ?? 0) / rollupRows.probe;
  const perStateHour = (full.get('state_hours') ?? 0) / rollupRows.state;

  // The upkeep at that size: one hour of roll-ups past their retention, one hour of raw probes past theirs.
  const pruneRollups = await timed(() => store.pruneRollups(new Date((firstHour + 1) * HOUR_MS)));
  const pruneProbes = await timed(() => store.pruneProbes(new Date((firstHour + 1) * HOUR_MS)));
  const name = 'conn-00010';
  const history = await timed(async () => store.probeHours(name, new Date(rawStart - ROLLUP_DAYS * DAY_MS), new Date(now + ROLLUP_DAYS * DAY_MS), 100_000).length);
  const names = Array.from({ length: 100 }, (_, index) => `conn-${String(index).padStart(5, '0')}`);
  const strips = await timed(async () => store.hourlyOutcomeCounts(names, new Date(Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS)).length);
  store.close();
  db.close();

  const day = CONNECTIONS * 1440;
  const load = os.loadavg()[0].toFixed(1);
  console.log(`Storage at ${CONNECTIONS} connections on a 1-minute schedule (${os.cpus().length} cores, load average ${load}, SQLite dbstat, ${new Date().toISOString().slice(0, 10)})

| what | rows | bytes a row | ${CONNECTIONS} connections |
|---|---|---|---|
| raw probes (probes ${((raw.get('probes') ?? 0) / probeRows).toFixed(1)} + probes_connection_started ${((raw.get('probes_connection_started') ?? 0) / probeRows).toFixed(1)}) | ${probeRows} | ${perProbe.toFixed(1)} | ${mb(day * perProbe)} a day, ${gb(7 * day * perProbe)} for 7 days |
| probe_details (one per run of alike probes) | ${detailRows} | — | ${mb(detailsBytes)} in all |
| probe_hours | ${rollupRows.probe} (${probeHoursEach.toFixed(2)} a connection-hour) | ${perProbeHour.toFixed(1)} | ${mb(probeHoursEach * CONNECTIONS * 24 * perProbeHour)} a day |
| state_hours | ${rollupRows.state} (${stateHoursEach.toFixed(2)} a connection-hour) | ${perStateHour.toFixed(1)} | ${mb(stateHoursEach * CONNECTIONS * 24 * perStateHour)} a day |
| roll-ups, ${ROLLUP_DAYS} days (measured) | ${rollupRows.probe + rollupRows.state} | — | ${gb(rollupBytes)}; at that rate ${gb((rollupBytes / ROLLUP_DAYS) * 90)} for 90 days, ${gb((rollupBytes / ROLLUP_DAYS) * 400)} for 400 |

| upkeep step | took | event-loop delay p99 / max |
|---|---|---|
| roll up ${hoursRolled} hours (${rawRows} probes) | ${rollUp.seconds.toFixed(1)} s | ${rollUp.stall} |
| prune an hour of roll-ups | ${pruneRollups.seconds.toFixed(1)} s (${pruneRollups.value} rows) | ${pruneRollups.stall} |
| prune an hour of raw probes | ${pruneProbes.seconds.toFixed(1)} s (${pruneProbes.value} rows) | ${pruneProbes.stall} |
| read ${history.value} hourly summaries of one connection | ${(history.seconds * 1000).toFixed(0)} ms | — |
| the 24-hour strips of 100 connections | ${(strips.seconds * 1000).toFixed(0)} ms | — |

Database file: ${gb(statSync(path).size)}.`);
} finally {
  if (values.keep) log(`kept ${path}`);
  else rmSync(dir, { recursive: true, force: true });
}
