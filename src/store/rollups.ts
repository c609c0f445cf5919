// Hourly roll-ups (migrations/006_compact_probes.sql, docs/storage.md): probe_hours counts a connection's probes per
// UTC hour (hours since 1970) and outcome, with their total durations; state_hours holds the seconds it spent in each
// state, from the state_changed events. They keep the long history once raw probes are pruned.
//
// An hour is rolled up once it ended ROLLUP_DELAY_MS ago (a probe is recorded when it ends, under its start), in
// transactions of `batchSize` connections, yielding to the event loop between them. Each batch first deletes what
// it is about to write, so a rerun rewrites the same rows; the watermark (meta rolled_up_through_hour) moves in the
// transaction of the hour's last batch, so a crash mid-hour is redone, never counted twice. The first run starts at
// the earliest raw probe's hour (but for the last probes pruning keeps). Raw probes are pruned only below the
// watermark (daemon/rollup-job.ts).
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { AuthState } from '../state/types.js';
import { iso, type Instant } from '../time/instant.js';
import type { ConnectionIds } from './connection-ids.js';
import { readNumber, writeNumber } from './meta.js';
import type { SqliteContext } from './sqlite.js';
import type { HourlyOutcomeCount, HourlySummary } from './types.js';

export const HOUR_MS = 3_600_000;
/** How long after its end an hour is rolled up: longer than a probe runs (its phases' timeouts) plus recording it. */
export const ROLLUP_DELAY_MS = 15 * 60_000;
const NO_ID = Number.MAX_SAFE_INTEGER;
/** Hours of roll-ups one pruning transaction deletes per connection, at most. */
const PRUNE_SPAN_HOURS = 24;

export class RollupTable {
  /** The roll-up under way: a second caller (the next hourly upkeep while a long backlog runs) waits for it. */
  private running: Promise<number> | null = null;

  constructor(private readonly db: SqliteContext, private readonly ids: ConnectionIds) {}

  /** The last hour rolled up (hours since 1970), or null before the first roll-up. */
  rolledUpThrough(): number | null {
    return readNumber(this.db, 'rolled_up_through_hour');
  }

  /**
   * Rolls up every hour that ended ROLLUP_DELAY_MS before `now` and is not rolled up yet, oldest first.
   * Stops between two transactions when `shouldContinue` says so. Returns the hours completed.
   */
  rollUp(now: Instant, batchSize = 100, shouldContinue: () => boolean = () => true): Promise<number> {
    this.running ??= this.rollUpHours(now, batchSize, shouldContinue).finally(() => (this.running = null));
    return this.running;
  }

  private async rollUpHours(now: Instant, batchSize: number, shouldContinue: () => boolean): Promise<number> {
    const last = Math.floor((toMs(now) - ROLLUP_DELAY_MS) / HOUR_MS) - 1;
    const through = this.rolledUpThrough();
    const first = through !== null ? through + 1 : this.earliestProbeHour();
    if (first === null) return 0;
    let hours = 0;
    for (let hour = first; hour <= last; hour++) {
      const ids = this.ids.all().map((row) => row.id);
      const batches = Math.max(1, Math.ceil(ids.length / batchSize));
      for (let batch = 0; batch < batches; batch++) {
        // Ranges cover every id, including one created while this hour is rolled up.
        const lo = batch === 0 ? 0 : ids[batch * batchSize];
        const hi = batch === batches - 1 ? NO_ID : ids[(batch + 1) * batchSize] - 1;
        this.db.write(() => {
          this.rollUpBatch(hour, lo, hi);
          if (batch === batches - 1) writeNumber(this.db, 'rolled_up_through_hour', hour);
        });
        if (batch === batches - 1) hours++;
        await yieldToLoop();
        if (!shouldContinue()) return hours;
      }
    }
    return hours;
  }

  /**
   * Deletes roll-ups of hours that started before `olderThan`, a few connections and at most a day of hours per
   * short transaction, yielding between them. Returns the rows deleted.
   */
  async prune(olderThan: Instant, batchSize = 100, shouldContinue: () => boolean = () => true): Promise<number> {
    const cutoff = Math.floor(toMs(olderThan) / HOUR_MS);
    const ids = this.ids.all().map((row) => row.id);
    let total = 0;
    for (let i = 0; i < ids.length; i += batchSize) {
      const range = { lo: ids[i], hi: ids[Math.min(i + batchSize, ids.length) - 1] };
      for (;;) {
        const oldest = (this.db.sql(SQL.oldestHour).get(range) as { hour: number | null }).hour;
        if (oldest === null || oldest >= cutoff) break;
        const until = Math.min(cutoff, oldest + PRUNE_SPAN_HOURS);
        total += this.db.write(() => this.db.sql(SQL.pruneProbeHours).run({ ...range, until }).changes + this.db.sql(SQL.pruneStateHours).run({ ...range, until }).changes);
        await yieldToLoop();
        if (!shouldContinue()) return total;
      }
    }
    return total;
  }

  /** The connection's rolled-up hours that overlap [from, to), newest first, at most `limit`. */
  hours(name: string, from: Instant, to: Instant, limit: number): HourlySummary[] {
    const id = this.ids.existingIdOf(name);
    if (id === null) return [];
    const range = { id, from: Math.floor(toMs(from) / HOUR_MS), to: Math.ceil(toMs(to) / HOUR_MS) - 1 };
    const byHour = new Map<number, HourlySummary>();
    const at = (hour: number) => {
      let summary = byHour.get(hour);
      if (!summary) byHour.set(hour, (summary = { hour: new Date(hour * HOUR_MS).toISOString(), outcomes: [], states: {} }));
      return summary;
    };
    const outcomes = this.db.sql(SQL.probeHours).all(range) as ProbeHourRow[];
    for (const row of outcomes) {
      at(row.hour).outcomes.push({
        outcome: row.outcome,
        class: row.class,
        probes: row.probes,
        timed: row.timed,
        totalSeconds: { sum: row.total_us_sum / 1e6, min: seconds(row.total_us_min), max: seconds(row.total_us_max) },
      });
    }
    const states = this.db.sql(SQL.stateHours).all(range) as StateHourRow[];
    for (const row of states) at(row.hour).states[row.state] = row.seconds;
    return [...byHour.entries()].sort(([a], [b]) => b - a).slice(0, limit).map(([, summary]) => summary);
  }

  /** The status page's strips from the roll-ups: probes per connection, hour and class for hours first..last. */
  classCounts(names: readonly string[], first: number, last: number): HourlyOutcomeCount[] {
    if (names.length === 0 || last < first) return [];
    const rows = this.db.sql(SQL.classCounts).all({ names: JSON.stringify(names), first, last }) as (Omit<HourlyOutcomeCount, 'hour'> & { hour: number })[];
    return rows.map((row) => ({ ...row, hour: new Date(row.hour * HOUR_MS).toISOString() }));
  }

  private earliestProbeHour(): number | null {
    const { ms } = this.db.sql(SQL.earliestProbe).get() as { ms: number | null };
    return ms === null ? null : Math.floor(ms / HOUR_MS);
  }

  /** Inside the caller's transaction: one hour of the connections whose id is in lo..hi. */
  private rollUpBatch(hour: number, lo: number, hi: number): void {
    const start = hour * HOUR_MS;
    const params = { hour, lo, hi, start, end: start + HOUR_MS, startIso: new Date(start).toISOString(), endIso: new Date(start + HOUR_MS).toISOString() };
    this.db.sql(SQL.clearProbeHours).run(params);
    this.db.sql(SQL.clearStateHours).run(params);
    this.db.sql(SQL.rollUpProbes).run(params);
    const changes = new Map<number, { atMs: number; to: AuthState }[]>();
    for (const row of this.db.sql(SQL.stateChanges).all(params) as { id: number; at: string; to_state: AuthState }[]) {
      let list = changes.get(row.id);
      if (!list) changes.set(row.id, (list = []));
      list.push({ atMs: Date.parse(row.at), to: row.to_state });
    }
    const insert = this.db.sql(SQL.insertStateHour);
    for (const row of this.db.sql(SQL.aliveConnections).all(params) as AliveRow[]) {
      const from = Math.max(start, Date.parse(row.first_seen));
      const to = row.removed_at === null ? start + HOUR_MS : Math.min(start + HOUR_MS, Date.parse(row.removed_at));
      for (const [state, secs] of secondsInStates(start, from, to, row.state, changes.get(row.id) ?? [])) insert.run(row.id, hour, state, secs);
    }
  }
}

/**
 * Seconds in each state between `from` and `to` (ms, within the hour starting at `hourStart`), starting in `initial`
 * and following `changes` (in order). Boundaries are rounded to whole seconds of the hour, so a full hour adds up to
 * exactly 3600. States with 0 seconds are left out.
 */
export function secondsInStates(hourStart: number, from: number, to: number, initial: AuthState, changes: readonly { atMs: number; to: AuthState }[]): Map<AuthState, number> {
  const second = (ms: number) => Math.min(3600, Math.max(0, Math.round((ms - hourStart) / 1000)));
  const end = second(to);
  let cursor = second(from);
  let state = initial;
  const result = new Map<AuthState, number>();
  const add = (until: number) => {
    const bounded = Math.min(end, Math.max(cursor, until));
    if (bounded > cursor) result.set(state, (result.get(state) ?? 0) + bounded - cursor);
    cursor = bounded;
  };
  for (const change of changes) {
    add(second(change.atMs));
    state = change.to;
  }
  add(end);
  return result;
}

function toMs(instant: Instant): number {
  return Date.parse(iso(instant));
}

function seconds(us: number | null): number | null {
  return us === null ? null : us / 1e6;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface ProbeHourRow {
  hour: number;
  outcome: Outcome;
  class: OutcomeClass;
  probes: number;
  timed: number;
  total_us_sum: number;
  total_us_min: number | null;
  total_us_max: number | null;
}

interface StateHourRow {
  hour: number;
  state: AuthState;
  seconds: number;
}

interface AliveRow {
  id: number;
  first_seen: string;
  removed_at: string | null;
  state: AuthState;
}

/** Every statement, each reading per connection through an index (test/integration/rollups.test.ts checks the plans). */
export const SQL = {
  // Each connection of the range through the (connection_id, started_ms) index; an outcome keeps the class it had.
  rollUpProbes: `INSERT INTO probe_hours (connection_id, hour, outcome, class, probes, timed, total_us_sum, total_us_min, total_us_max)
    SELECT p.connection_id, @hour, d.outcome, min(d.class), count(*), count(p.total_us), coalesce(sum(p.total_us), 0), min(p.total_us), max(p.total_us)
    FROM probes p JOIN probe_details d ON d.id = p.detail_id
    WHERE p.connection_id IN (SELECT id FROM connection_ids WHERE id BETWEEN @lo AND @hi) AND p.started_ms >= @start AND p.started_ms < @end
    GROUP BY p.connection_id, d.outcome`,
  clearProbeHours: 'DELETE FROM probe_hours WHERE connection_id IN (SELECT id FROM connection_ids WHERE id BETWEEN @lo AND @hi) AND hour = @hour',
  clearStateHours: 'DELETE FROM state_hours WHERE connection_id IN (SELECT id FROM connection_ids WHERE id BETWEEN @lo AND @hi) AND hour = @hour',
  stateChanges: `SELECT i.id, e.at, e.to_state FROM connection_ids i JOIN events e ON e.connection = i.name
    WHERE i.id BETWEEN @lo AND @hi AND e.kind = 'state_changed' AND e.at >= @startIso AND e.at < @endIso
    ORDER BY i.id, e.at, e.id`,
  // Connections configured during some of the hour, with their state at its start (the last change before it).
  aliveConnections: `SELECT i.id, c.first_seen, c.removed_at,
      coalesce((SELECT e.to_state FROM events e WHERE e.connection = c.name AND e.kind = 'state_changed' AND e.at < @startIso
                ORDER BY e.at DESC, e.id DESC LIMIT 1), 'unknown') AS state
    FROM connection_ids i JOIN connections c ON c.name = i.name
    WHERE i.id BETWEEN @lo AND @hi AND c.first_seen < @endIso AND (c.removed_at IS NULL OR c.removed_at > @startIso)`,
  insertStateHour: 'INSERT INTO state_hours (connection_id, hour, state, seconds) VALUES (?, ?, ?, ?)',
  // Not counting the last and last ok probes, which pruning keeps however old (a connection removed a year ago).
  earliestProbe: `SELECT min((SELECT p.started_ms FROM probes p WHERE p.connection_id = i.id
      AND p.id NOT IN (SELECT coalesce(s.last_probe_id, -1) FROM connection_state s WHERE s.name = i.name
                       UNION ALL SELECT coalesce(s.last_ok_probe_id, -1) FROM connection_state s WHERE s.name = i.name)
      ORDER BY p.started_ms LIMIT 1)) AS ms FROM connection_ids i`,
  // Per connection of the range, its oldest hour through the primary key (min() over an IN list would read them all).
  oldestHour: `SELECT min(coalesce(p, s), coalesce(s, p)) AS hour FROM (SELECT
      min((SELECT min(hour) FROM probe_hours WHERE connection_id = i.id)) AS p,
      min((SELECT min(hour) FROM state_hours WHERE connection_id = i.id)) AS s
    FROM connection_ids i WHERE i.id BETWEEN @lo AND @hi)`,
  pruneProbeHours: 'DELETE FROM probe_hours WHERE connection_id IN (SELECT id FROM connection_ids WHERE id BETWEEN @lo AND @hi) AND hour < @until',
  pruneStateHours: 'DELETE FROM state_hours WHERE connection_id IN (SELECT id FROM connection_ids WHERE id BETWEEN @lo AND @hi) AND hour < @until',
  probeHours: 'SELECT * FROM probe_hours WHERE connection_id = @id AND hour BETWEEN @from AND @to ORDER BY hour, probes DESC, outcome',
  stateHours: 'SELECT hour, state, seconds FROM state_hours WHERE connection_id = @id AND hour BETWEEN @from AND @to',
  classCounts: `SELECT c.name AS connection, h.hour AS hour, h.class AS class, sum(h.probes) AS probes
    FROM connection_ids c JOIN probe_hours h ON h.connection_id = c.id
    WHERE c.name IN (SELECT value FROM json_each(@names)) AND h.hour BETWEEN @first AND @last
    GROUP BY c.name, h.hour, h.class`,
};
