// The probes table (one compact row per probe) and probe_details (what a run of probes saw alike), see
// migrations/006_compact_probes.sql and probe-detail.ts. Each connection's current detail is cached in memory
// (by a hash of its text), so a probe that saw the same as the previous one writes one small row and reads nothing.
// Pruned by retention, except each connection's last probe and last ok probe (connection_state.last_probe_id /
// last_ok_probe_id), so "what changed since the last success" survives a long outage.
import { createHash } from 'node:crypto';
import type { Diagnosis } from '../diagnosis/types.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import { iso, type Instant } from '../time/instant.js';
import type { ConnectionIds } from './connection-ids.js';
import { readNumber, writeNumber } from './meta.js';
import { joinObservation, splitObservation } from './probe-detail.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { SqliteContext, Staged } from './sqlite.js';
import type { HourlyOutcomeCount, StoredProbe } from './types.js';

const HOUR_MS = 3_600_000;

interface CurrentDetail {
  id: number;
  hash: string;
  /** Start of the newest probe that used it: its last_ms once a different detail replaces it. */
  lastMs: number;
}

export class ProbeTable {
  private readonly current: Staged<number, CurrentDetail | null>;

  constructor(private readonly db: SqliteContext, private readonly ids: ConnectionIds) {
    this.current = db.staging();
  }

  /** Inside the caller's transaction. */
  insert(observation: ProbeObservation, diagnosis: Diagnosis, startedAt: string): number {
    const connectionId = this.ids.idOf(observation.connection);
    const startedMs = Date.parse(startedAt);
    const parts = splitObservation(observation, diagnosis.class !== 'ok');
    const httpStatus = observation.http?.status ?? null;
    const hash = detailHash(diagnosis.outcome, diagnosis.class, diagnosis.detail, httpStatus, parts.detail);
    const previous = this.currentDetail(connectionId);
    let detailId: number;
    if (previous && previous.hash === hash) {
      detailId = previous.id;
      this.current.set(connectionId, { ...previous, lastMs: Math.max(previous.lastMs, startedMs) });
    } else {
      if (previous) this.db.sql('UPDATE probe_details SET last_ms = ? WHERE id = ?').run(previous.lastMs, previous.id);
      detailId = Number(
        this.db.sql(`INSERT INTO probe_details (connection_id, outcome, class, detail, http_status, observation, first_ms, last_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`).run(connectionId, diagnosis.outcome, diagnosis.class, diagnosis.detail, httpStatus, parts.detail, startedMs).lastInsertRowid,
      );
      this.current.set(connectionId, { id: detailId, hash, lastMs: startedMs });
    }
    return Number(this.db.sql(INSERT_PROBE).run(connectionId, startedMs, detailId, ...parts.timingsUs, parts.volatile).lastInsertRowid);
  }

  /** One probe by id, or null when pruned. */
  byId(id: number): StoredProbe | null {
    const row = this.db.sql(`${SELECT_PROBE} WHERE p.id = ?`).get(id) as ProbeRow | undefined;
    return row ? probeFromRow(row) : null;
  }

  recent(name: string, limit: number): StoredProbe[] {
    const id = this.ids.existingIdOf(name);
    if (id === null) return [];
    const rows = this.db.sql(`${SELECT_PROBE} WHERE p.connection_id = ? ORDER BY p.started_ms DESC, p.id DESC LIMIT ?`).all(id, limit) as ProbeRow[];
    return rows.map(probeFromRow);
  }

  /** Newest first, started at or after `from`. */
  since(name: string, from: Instant, limit: number): StoredProbe[] {
    const id = this.ids.existingIdOf(name);
    if (id === null) return [];
    const rows = this.db.sql(`${SELECT_PROBE} WHERE p.connection_id = ? AND p.started_ms >= ? ORDER BY p.started_ms DESC, p.id DESC LIMIT ?`).all(id, toMs(from), limit) as ProbeRow[];
    return rows.map(probeFromRow);
  }

  lastOk(name: string): StoredProbe | null {
    const row = this.db.sql(`${SELECT_PROBE} JOIN connection_state s ON p.id = s.last_ok_probe_id WHERE s.name = ?`).get(name) as ProbeRow | undefined;
    return row ? probeFromRow(row) : null;
  }

  /** Every connection's last ok probe, in one read (the daemon's start). */
  lastOkAll(): Map<string, StoredProbe> {
    const rows = this.db.sql(`${SELECT_PROBE} JOIN connection_state s ON p.id = s.last_ok_probe_id`).all() as ProbeRow[];
    return new Map(rows.map((row) => [row.name, probeFromRow(row)]));
  }

  /** Probes that started in [from, to) (ms) per connection, UTC hour and class: the hours not rolled up yet (rollups.ts). */
  hourlyOutcomeCounts(names: readonly string[], from: number, to: number): HourlyOutcomeCount[] {
    if (names.length === 0 || to <= from) return [];
    const rows = this.db.sql(STRIP_COUNTS).all({ names: JSON.stringify(names), from, to }) as (Omit<HourlyOutcomeCount, 'hour'> & { hour: number })[];
    return rows.map((row) => ({ ...row, hour: new Date(row.hour * HOUR_MS).toISOString() }));
  }

  /**
   * Deletes probes that started before `olderThan`, connection by connection, at most batchSize rows per short
   * transaction, yielding to the event loop between them so probes and HTTP keep running; then the details no
   * kept probe uses. Keeps every connection's last probe and last ok probe. Returns the number of probes deleted.
   * The caller prunes only hours already rolled up (daemon/rollup-job.ts); the cutoff is kept in meta
   * (probes_pruned_before_ms) for history to know where the raw probes end.
   */
  async prune(olderThan: Instant, batchSize = 500, shouldContinue: () => boolean = () => true): Promise<number> {
    const cutoff = toMs(olderThan);
    // Said before the first row goes: from here on, history reads the hours before it from the roll-ups.
    this.db.write(() => writeNumber(this.db, 'probes_pruned_before_ms', Math.max(cutoff, readNumber(this.db, 'probes_pruned_before_ms') ?? cutoff)));
    const connections = this.ids.all();
    let next = 0;
    // One transaction deletes up to batchSize rows, from as many connections as it takes.
    const deleteBatch = this.db.db.transaction(() => {
      let deleted = 0;
      while (next < connections.length && deleted < batchSize) {
        const { id, name } = connections[next];
        const asked = batchSize - deleted;
        const changes = this.db.sql(`DELETE FROM probes WHERE id IN (
          SELECT id FROM probes WHERE connection_id = @id AND started_ms < @cutoff
            AND id NOT IN (SELECT coalesce(last_probe_id, -1) FROM connection_state WHERE name = @name
                           UNION SELECT coalesce(last_ok_probe_id, -1) FROM connection_state WHERE name = @name)
          ORDER BY started_ms LIMIT @asked)`).run({ id, name, cutoff, asked }).changes;
        deleted += changes;
        if (changes < asked) next++;
      }
      return deleted;
    });
    let total = 0;
    while (next < connections.length) {
      const deleted = deleteBatch.immediate();
      total += deleted;
      if (next >= connections.length) break;
      await new Promise((resolve) => setImmediate(resolve));
      if (!shouldContinue()) return total;
    }
    const deleteDetails = this.db.db.transaction(
      () =>
        this.db.sql(`DELETE FROM probe_details WHERE id IN (
          SELECT id FROM probe_details WHERE last_ms IS NOT NULL AND last_ms < @cutoff
            AND id NOT IN (SELECT p.detail_id FROM connection_state s JOIN probes p ON p.id IN (s.last_probe_id, s.last_ok_probe_id))
          LIMIT @batchSize)`).run({ cutoff, batchSize }).changes,
    );
    while (deleteDetails.immediate() === batchSize) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!shouldContinue()) break;
    }
    return total;
  }

  private currentDetail(connectionId: number): CurrentDetail | null {
    const cached = this.current.get(connectionId);
    if (cached !== undefined) return cached;
    // Its newest probe is the connection's last probe (connection_state.last_probe_id) when that one used it.
    const row = this.db.sql(`SELECT d.id, d.outcome, d.class, d.detail, d.http_status, d.observation, d.first_ms,
        (SELECT p.started_ms FROM connection_state s JOIN probes p ON p.id = s.last_probe_id WHERE s.name = c.name AND p.detail_id = d.id) AS last_ms
      FROM probe_details d JOIN connection_ids c ON c.id = d.connection_id
      WHERE d.connection_id = ? AND d.last_ms IS NULL ORDER BY d.id DESC LIMIT 1`).get(connectionId) as DetailRow | undefined;
    const current = row
      ? { id: row.id, hash: detailHash(row.outcome, row.class, row.detail, row.http_status, row.observation), lastMs: row.last_ms ?? row.first_ms }
      : null;
    this.current.set(connectionId, current);
    return current;
  }
}

function detailHash(outcome: string, klass: string, detail: string, httpStatus: number | null, observation: string): string {
  return createHash('sha256').update(`${outcome}\n${klass}\n${httpStatus ?? ''}\n${detail}\n${observation}`).digest('base64');
}

function toMs(instant: Instant): number {
  return Date.parse(iso(instant));
}

// ---------------------------------------------------------------------------------------------
// Row mapping

interface DetailRow {
  id: number;
  outcome: string;
  class: string;
  detail: string;
  http_status: number | null;
  observation: string;
  first_ms: number;
  last_ms: number | null;
}

interface ProbeRow {
  id: number;
  name: string;
  started_ms: number;
  dns_us: number | null;
  connect_us: number | null;
  tls_us: number | null;
  request_us: number | null;
  first_byte_us: number | null;
  download_us: number | null;
  total_us: number | null;
  volatile: string | null;
  outcome: Outcome;
  class: OutcomeClass;
  detail: string;
  observation: string;
}

/** The status strips' counts of the hours not rolled up yet (its plan is checked in test/integration/status-read-model.test.ts). */
export const STRIP_COUNTS = `SELECT c.name AS connection, p.started_ms / ${HOUR_MS} AS hour, d.class AS class, count(*) AS probes
  FROM connection_ids c JOIN probes p ON p.connection_id = c.id JOIN probe_details d ON d.id = p.detail_id
  WHERE c.name IN (SELECT value FROM json_each(@names)) AND p.started_ms >= @from AND p.started_ms < @to
  GROUP BY c.name, hour, d.class`;

const INSERT_PROBE = `INSERT INTO probes (connection_id, started_ms, detail_id, dns_us, connect_us, tls_us, request_us, first_byte_us, download_us, total_us, volatile)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const SELECT_PROBE = `SELECT p.id, c.name, p.started_ms, p.dns_us, p.connect_us, p.tls_us, p.request_us, p.first_byte_us, p.download_us, p.total_us,
    p.volatile, d.outcome, d.class, d.detail, d.observation
  FROM probes p JOIN connection_ids c ON c.id = p.connection_id JOIN probe_details d ON d.id = p.detail_id`;

function probeFromRow(r: ProbeRow): StoredProbe {
  const startedAt = new Date(r.started_ms).toISOString();
  const timings = [r.dns_us, r.connect_us, r.tls_us, r.request_us, r.first_byte_us, r.download_us, r.total_us];
  const observation = joinObservation(r.name, startedAt, r.observation, r.volatile, timings);
  return { id: r.id, connection: r.name, startedAt, outcome: r.outcome, class: r.class, detail: r.detail, observation };
}
