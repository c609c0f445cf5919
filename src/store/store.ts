// The SQLite store: every port of ports.ts over one database file. This file only composes; the SQL and the row
// mapping of each table family live in its own file (probes.ts, states.ts, connections.ts, events-incidents.ts,
// outbox.ts, meta.ts, slack-groups.ts, rollups.ts), the cycle write in cycle-write.ts, transactions and durability in sqlite.ts.
//
// Nothing handed to the store may contain a secret: observations carry only the credential's fingerprint,
// outbox payloads are rendered from recorded data, and delivery errors must already be redacted.
// probes are pruned by retention (probes.ts) once rolled up into hours (rollups.ts), which have a retention of their
// own; events, incidents and connections are kept.
import { closeSync, existsSync, fsyncSync, openSync } from 'node:fs';
import type { Connection } from '../config/load.js';
import type { ConnectionState } from '../state/types.js';
import { iso, type Instant } from '../time/instant.js';
import { ConnectionIds } from './connection-ids.js';
import { ConnectionTable } from './connections.js';
import { recordCycle, type CycleTables } from './cycle-write.js';
import { openDb, type Db, type Migration } from './db.js';
import { EventTable, IncidentTable } from './events-incidents.js';
import { fingerprintKey, readNumber } from './meta.js';
import { OutboxTable } from './outbox.js';
import type { Closable, CycleStore, MaintenanceStore, OutboxStore, OutboxWriter, ReadStore, SlackGroupingStore } from './ports.js';
import { ProbeTable } from './probes.js';
import { HOUR_MS, RollupTable } from './rollups.js';
import { SlackGroupStore } from './slack-groups.js';
import { SqliteContext } from './sqlite.js';
import { StateTable } from './states.js';
import type {
  Channel,
  ConnectionSummary,
  CycleIds,
  CycleRecord,
  HourlyOutcomeCount,
  HourlySummary,
  NewOutboxItem,
  OutboxCounts,
  OutboxItem,
  StoredEvent,
  StoredIncident,
  StoredProbe,
} from './types.js';

export { StoreError } from './db.js';
export type * from './types.js';
export { CHANNELS } from './types.js';
export type * from './ports.js';

/** Everything the daemon, the notifier and the CLI need from storage: all the ports, over one database. */
export interface Store extends CycleStore, OutboxStore, OutboxWriter, ReadStore, MaintenanceStore, SlackGroupingStore, Closable {
  readonly path: string;
  readonly readonly: boolean;
  /** Runs `work` in one durable write transaction (nested store calls become part of it). */
  transaction<T>(work: () => T): T;
}

export interface OpenStoreOptions {
  readonly?: boolean;
  /** For tests: migrations other than the package's. */
  migrations?: Migration[];
}

export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const store = new SqliteStore(openDb(path, options), path, options.readonly ?? false);
  if (!store.readonly) store.fingerprintKey(); // created on first open, so readers find it too
  return store;
}

export class SqliteStore implements Store {
  private readonly db: SqliteContext;
  private readonly tables: CycleTables & { connections: ConnectionTable };
  private closed = false;
  private groups: SlackGroupStore | null = null;
  private readonly rollups: RollupTable;

  constructor(db: Db, readonly path: string, readonly readonly: boolean) {
    this.db = new SqliteContext(db, path, readonly);
    const incidents = new IncidentTable(this.db);
    const ids = new ConnectionIds(this.db);
    this.tables = {
      db: this.db,
      probes: new ProbeTable(this.db, ids),
      states: new StateTable(this.db),
      events: new EventTable(this.db),
      incidents,
      outbox: new OutboxTable(this.db, incidents),
      connections: new ConnectionTable(this.db, ids),
    };
    this.rollups = new RollupTable(this.db, ids);
  }

  fingerprintKey(): Buffer {
    return fingerprintKey(this.db);
  }

  upsertConnections(configured: readonly Connection[], now: Instant): { added: string[]; removed: string[] } {
    return this.tables.connections.upsert(configured, now);
  }

  loadState(name: string): ConnectionState {
    return this.tables.states.load(name);
  }

  loadStates(): Map<string, ConnectionState> {
    return this.tables.states.loadAll();
  }

  recordCycle(record: CycleRecord): CycleIds {
    return recordCycle(this.tables, record);
  }

  batch<T>(work: () => T): T {
    return this.db.write(work);
  }

  lastOkProbes(): Map<string, StoredProbe> {
    return this.tables.probes.lastOkAll();
  }

  setBusyTimeout(ms: number): void {
    this.db.db.pragma(`busy_timeout = ${Math.max(0, Math.round(ms))}`);
  }

  syncToDisk(): void {
    const wal = `${this.path}-wal`;
    if (this.readonly || !existsSync(wal)) return;
    const fd = openSync(wal, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  listStates(options: { includeRemoved?: boolean } = {}): ConnectionSummary[] {
    return this.tables.connections.list(options);
  }

  connectionSummary(name: string): ConnectionSummary | null {
    return this.tables.connections.summary(name);
  }

  hourlyOutcomeCounts(names: readonly string[], since: Instant): HourlyOutcomeCount[] {
    const from = Date.parse(iso(since));
    return this.db.read(() => {
      // Whole hours from the roll-ups, the rest (a partial first hour, the hours not rolled up yet) from the probes.
      const first = Math.ceil(from / HOUR_MS);
      const last = this.rollups.rolledUpThrough() ?? -1;
      if (last < first) return this.tables.probes.hourlyOutcomeCounts(names, from, Number.MAX_SAFE_INTEGER);
      return [
        ...this.tables.probes.hourlyOutcomeCounts(names, from, first * HOUR_MS),
        ...this.rollups.classCounts(names, first, last),
        ...this.tables.probes.hourlyOutcomeCounts(names, (last + 1) * HOUR_MS, Number.MAX_SAFE_INTEGER),
      ].sort((a, b) => compare(a.connection, b.connection) || compare(a.hour, b.hour) || compare(a.class, b.class));
    });
  }

  incidentNotifications(incidentIds: readonly number[]): OutboxItem[] {
    return this.tables.outbox.forIncidents(incidentIds);
  }

  recentProbes(name: string, limit: number): StoredProbe[] {
    return this.tables.probes.recent(name, limit);
  }

  history(name: string, since: Instant, limit: number): { probes: StoredProbe[]; events: StoredEvent[]; hours: HourlySummary[]; hoursBefore: string | null } {
    const from = iso(since);
    return this.db.read(() => {
      // Before hoursBefore an hour is told by its summary alone (not by the few raw probes pruning kept of it).
      const hoursBefore = this.rawProbesFrom();
      const summarised = hoursBefore !== null && hoursBefore > from;
      return {
        probes: this.tables.probes.since(name, summarised ? hoursBefore : since, limit),
        events: this.tables.events.since(name, from, limit),
        hours: summarised ? this.rollups.hours(name, since, hoursBefore, limit) : [],
        hoursBefore: summarised ? hoursBefore : null,
      };
    });
  }

  probeHours(name: string, from: Instant, to: Instant, limit: number): HourlySummary[] {
    return this.rollups.hours(name, from, to, limit);
  }

  lastOkProbe(name: string): StoredProbe | null {
    return this.tables.probes.lastOk(name);
  }

  openIncidents(name?: string): StoredIncident[] {
    return this.tables.incidents.openIncidents(name);
  }

  enqueueOutbox(items: readonly NewOutboxItem[], now: Instant): (number | null)[] {
    return this.tables.outbox.enqueue(items, now);
  }

  outboxLaneHeads(now: Instant, limit?: number): OutboxItem[] {
    return this.tables.outbox.laneHeads(now, limit);
  }

  pendingOutbox(now: Instant, channel?: Channel, limit?: number): OutboxItem[] {
    return this.tables.outbox.pending(now, channel, limit);
  }

  markDelivered(id: number, now: Instant): boolean {
    return this.tables.outbox.markDelivered(id, now);
  }

  markAttemptFailed(id: number, error: string, nextAttemptAt: Instant): void {
    this.tables.outbox.markAttemptFailed(id, error, nextAttemptAt);
  }

  markFailed(id: number, error: string, now: Instant): void {
    this.tables.outbox.markFailed(id, error, now);
  }

  outboxCounts(): OutboxCounts {
    return this.tables.outbox.counts();
  }

  outboxOldestPending(): Partial<Record<Channel, string>> {
    return this.tables.outbox.oldestPending();
  }

  pruneProbes(olderThan: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number> {
    return this.tables.probes.prune(olderThan, batchSize, shouldContinue);
  }

  rollUp(now: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number> {
    return this.rollups.rollUp(now, batchSize, shouldContinue);
  }

  rolledUpBefore(): string | null {
    const through = this.rollups.rolledUpThrough();
    return through === null ? null : new Date((through + 1) * HOUR_MS).toISOString();
  }

  pruneRollups(olderThan: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number> {
    return this.rollups.prune(olderThan, batchSize, shouldContinue);
  }

  pruneOutbox(olderThan: Instant): number {
    return this.tables.outbox.prune(olderThan);
  }

  probe(id: number): StoredProbe | null {
    return this.tables.probes.byId(id);
  }

  transaction<T>(work: () => T): T {
    return this.db.durably(() => this.db.write(work));
  }

  slackGroups(): SlackGroupStore {
    return (this.groups ??= new SlackGroupStore((source) => this.db.sql(source)));
  }

  /**
   * Where the complete raw probes begin: the start of the first hour after the pruning cutoff, as long as the hours
   * before it are rolled up; null while no probe was pruned (or none rolled up: there is nothing to summarise).
   */
  private rawProbesFrom(): string | null {
    const pruned = readNumber(this.db, 'probes_pruned_before_ms');
    const through = this.rollups.rolledUpThrough();
    if (pruned === null || through === null) return null;
    return new Date(Math.min(Math.ceil(pruned / HOUR_MS), through + 1) * HOUR_MS).toISOString();
  }

  /** Checkpoints the WAL into the main file (writer) and closes; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.readonly) {
      try {
        this.db.db.pragma('optimize');
        this.db.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // A reader holding a snapshot can make the checkpoint incomplete; the WAL is replayed at next open.
      }
    }
    this.db.db.close();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
