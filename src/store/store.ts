// The SQLite store: one transaction per probe cycle, reads for the API/CLI, the notification outbox.
//
// Rules of this file:
// - Only the exported methods open transactions; helpers run inside them.
// - Times are ISO 8601 UTC strings, normalised here (`iso()`) so that text comparison is time order.
// - Nothing handed to the store may contain a secret: observations carry only the credential's
//   fingerprint, outbox payloads are rendered from recorded data, and delivery errors passed to
//   markAttemptFailed/markFailed must already be redacted (no webhook URL).
// - probes are pruned by retention, except each connection's last probe and last successful probe
//   (connection_state.last_probe_id / last_ok_probe_id), so "what changed since the last success"
//   survives a long outage. events, incidents and connections are kept.
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync } from 'node:fs';
import type { Connection, Deployment } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { ProbeObservation, TlsDetails } from '../probe/observation.js';
import { initialState } from '../state/machine.js';
import type { AuthState, ConnectionState, StateChange } from '../state/types.js';
import { openDb, StoreError, type Db, type Migration, type Statement } from './db.js';
import { SlackGroupStore } from './slack-groups.js';

export { StoreError } from './db.js';

export type Channel = 'slack' | 'alertmanager';
export const CHANNELS: readonly Channel[] = ['slack', 'alertmanager'];
export type EventKind = 'state_changed' | 'tls_changed' | 'cert_expiring' | 'token_expiring' | 'identity_changed';
export type IncidentKind = 'failing' | 'regressed' | 'unreachable' | 'cert_expiring' | 'token_expiring';
export type OutboxKind = 'open' | 'resolve' | 'reminder' | 'event' | 'test';
export type Instant = string | Date;

// ---------------------------------------------------------------------------------------------
// Inputs

export interface NewEvent {
  kind: EventKind;
  from?: AuthState | null;
  to?: AuthState | null;
  /** Defaults to the probe's startedAt. */
  at?: Instant;
  /** Plain recorded data, never a secret. */
  details?: Record<string, unknown>;
}

/** An id that exists already, or the index of a row created earlier in the same call. */
export type Ref = { id: number } | { index: number };

/** Incident bookkeeping of one cycle; `event` is the index (in this cycle's events) of the event that caused it. */
export type IncidentChange =
  | { action: 'open'; kind: IncidentKind; event: number }
  | { action: 'resolve'; incidentId: number; event: number };

export interface NewOutboxItem {
  channel: Channel;
  /** The notifier lane within the channel (an Alertmanager URL, 'webhook' for Slack); rows of a lane go out in order. Default ''. */
  target?: string;
  kind: OutboxKind;
  /** JSON-serialisable message body, rendered from recorded data only. */
  payload: unknown;
  /** Required for open/resolve/reminder. In recordCycle `{ index }` points into its `incidents` changes. */
  incident?: Ref;
  /** Required for kind 'event'. In recordCycle `{ index }` points into its `events`. */
  event?: Ref;
  /**
   * Makes the notification impossible to enqueue twice on a channel; an item whose key exists is
   * skipped (its id is returned as null). Default: `incident:ID:open|resolve`,
   * `incident:ID:reminder:AT`, `event:ID`, and a unique key for 'test'.
   */
  dedupeKey?: string;
  /** Defaults to the creation time. */
  nextAttemptAt?: Instant;
}

export interface CycleRecord {
  observation: ProbeObservation;
  diagnosis: Diagnosis;
  /** The state after this probe (from advance()). */
  next: ConnectionState;
  /** Must contain exactly one 'state_changed' event (see stateChangedEvent) when next.state differs from the stored state, and none otherwise. */
  events?: NewEvent[];
  incidents?: IncidentChange[];
  outbox?: NewOutboxItem[];
}

export interface CycleIds {
  probeId: number;
  eventIds: number[];
  /** Per incident change: the incident opened or resolved. */
  incidentIds: number[];
  /** Per outbox item: its id, or null when its dedupe key was already used. */
  outboxIds: (number | null)[];
}

// ---------------------------------------------------------------------------------------------
// Rows read back

export interface StoredProbe {
  id: number;
  connection: string;
  startedAt: string;
  outcome: Outcome;
  class: OutcomeClass;
  detail: string;
  /** The observation as recorded (http.json is not stored and comes back null). */
  observation: ProbeObservation;
}

export interface TlsSummary {
  protocol: string | null;
  cipher: string | null;
  notAfter: string | null;
  chainEarliestNotAfter: string | null;
  authorized: boolean;
  authorizationError: string | null;
}

export interface ConnectionSummary {
  name: string;
  url: string;
  path: string;
  deployment: Deployment;
  authType: AuthType;
  labels: Record<string, string>;
  firstSeen: string;
  /** Set when the connection is no longer in the config. */
  removedAt: string | null;
  state: ConnectionState;
  lastProbe: {
    id: number;
    startedAt: string;
    outcome: Outcome;
    class: OutcomeClass;
    detail: string;
    httpStatus: number | null;
    totalSeconds: number | null;
    tls: TlsSummary | null;
  } | null;
}

export interface StoredEvent {
  id: number;
  connection: string;
  kind: EventKind;
  from: AuthState | null;
  to: AuthState | null;
  at: string;
  probeId: number | null;
  details: Record<string, unknown>;
}

export interface StoredIncident {
  id: number;
  connection: string;
  kind: IncidentKind;
  openedAt: string;
  resolvedAt: string | null;
  openEventId: number;
  resolveEventId: number | null;
  lastNotifiedAt: string | null;
}

export interface OutboxItem {
  id: number;
  channel: Channel;
  target: string;
  incidentId: number | null;
  eventId: number | null;
  kind: OutboxKind;
  dedupeKey: string;
  payload: unknown;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string;
  deliveredAt: string | null;
  failedAt: string | null;
  lastError: string | null;
}

export interface HourlyOutcomeCount {
  connection: string;
  /** The start of the UTC hour, ISO 8601. */
  hour: string;
  class: OutcomeClass;
  probes: number;
}

export type OutboxCounts = Record<Channel, { pending: number; delivered: number; failed: number }>;

// ---------------------------------------------------------------------------------------------

/** Everything the daemon, the notifier and the CLI need from storage. */
export interface Store {
  readonly path: string;
  readonly readonly: boolean;
  /** The per-database HMAC key for credential fingerprints (32 bytes, created on first open). */
  fingerprintKey(): Buffer;
  /** Records the configured connections; ones no longer configured get removed_at (history kept). */
  upsertConnections(configured: readonly Connection[], now: Instant): { added: string[]; removed: string[] };
  loadState(name: string): ConnectionState;
  loadStates(): Map<string, ConnectionState>;
  /** One transaction: probe row, state row, events, incident changes, outbox items. */
  recordCycle(record: CycleRecord): CycleIds;
  listStates(options?: { includeRemoved?: boolean }): ConnectionSummary[];
  recentProbes(name: string, limit: number): StoredProbe[];
  history(name: string, since: Instant, limit: number): { probes: StoredProbe[]; events: StoredEvent[] };
  lastOkProbe(name: string): StoredProbe | null;
  openIncidents(name?: string): StoredIncident[];
  /** One connection as listStates shows it (removed ones included), or null when it was never configured. */
  connectionSummary(name: string): ConnectionSummary | null;
  /** Per connection, its probes since `since` counted by UTC hour and outcome class (reads the index only). */
  hourlyOutcomeCounts(names: readonly string[], since: Instant): HourlyOutcomeCount[];
  /** Every notification enqueued for these incidents, oldest first. */
  incidentNotifications(incidentIds: readonly number[]): OutboxItem[];
  enqueueOutbox(items: readonly NewOutboxItem[], now: Instant): (number | null)[];
  /** The oldest undelivered row of every (channel, target) lane, when it is due: a head waiting for its retry holds its lane back. */
  outboxLaneHeads(now: Instant, limit?: number): OutboxItem[];
  pendingOutbox(now: Instant, channel?: Channel, limit?: number): OutboxItem[];
  markDelivered(id: number, now: Instant): boolean;
  markAttemptFailed(id: number, error: string, nextAttemptAt: Instant): void;
  markFailed(id: number, error: string, now: Instant): void;
  outboxCounts(): OutboxCounts;
  /** Per channel, created_at of the oldest notification still pending; a channel with none is absent. */
  outboxOldestPending(): Partial<Record<Channel, string>>;
  /** Deletes old probes in small transactions, yielding between them; stops early when `shouldContinue` says so. */
  pruneProbes(olderThan: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number>;
  pruneOutbox(olderThan: Instant): number;
  /**
   * fsyncs the write-ahead log: every transaction committed so far survives a power cut. Probe-only
   * transactions commit without an fsync (synchronous = NORMAL); the daemon calls this every few seconds.
   */
  syncToDisk(): void;
  /** One probe by id, or null when pruned. */
  probe(id: number): StoredProbe | null;
  /** Runs `work` in one durable write transaction (nested store calls become part of it). */
  transaction<T>(work: () => T): T;
  /** The Slack grouping and thread tables. */
  slackGroups(): SlackGroupStore;
  close(): void;
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

/** The state_changed event for a change made by advance(). */
export function stateChangedEvent(change: StateChange, details: Record<string, unknown> = {}): NewEvent {
  return { kind: 'state_changed', from: change.from, to: change.to, at: change.at, details: { outcome: change.outcome, ...details } };
}

/** Normalises an instant to the stored form (Date#toISOString); refuses anything else. */
export function iso(value: Instant): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 instant: ${JSON.stringify(value instanceof Date ? 'Invalid Date' : value)}`);
  return new Date(ms).toISOString();
}

const MAX_ERROR_LENGTH = 500;

export class SqliteStore implements Store {
  private readonly statements = new Map<string, Statement>();
  private closed = false;
  private groups: SlackGroupStore | null = null;

  constructor(private readonly db: Db, readonly path: string, readonly readonly: boolean) {}

  fingerprintKey(): Buffer {
    const select = this.sql("SELECT value FROM meta WHERE key = 'fingerprint_key'");
    let row = select.get() as { value: string } | undefined;
    if (!row && !this.readonly) {
      this.sql("INSERT INTO meta (key, value) VALUES ('fingerprint_key', ?) ON CONFLICT (key) DO NOTHING").run(randomBytes(32).toString('hex'));
      row = select.get() as { value: string } | undefined;
    }
    if (!row) throw new StoreError(`${this.path} has no fingerprint key yet; start "authwatch run" once`);
    return Buffer.from(row.value, 'hex');
  }

  upsertConnections(configured: readonly Connection[], now: Instant): { added: string[]; removed: string[] } {
    const at = iso(now);
    return this.db.transaction(() => {
      const before = new Map(
        (this.sql('SELECT name, removed_at FROM connections').all() as { name: string; removed_at: string | null }[]).map((r) => [r.name, r.removed_at]),
      );
      const upsert = this.sql(`INSERT INTO connections (name, url, path, deployment, auth_type, labels, first_seen, last_seen_in_config, removed_at)
        VALUES (@name, @url, @path, @deployment, @authType, @labels, @at, @at, NULL)
        ON CONFLICT (name) DO UPDATE SET url = excluded.url, path = excluded.path, deployment = excluded.deployment,
          auth_type = excluded.auth_type, labels = excluded.labels, last_seen_in_config = excluded.last_seen_in_config, removed_at = NULL`);
      const added: string[] = [];
      const names = new Set<string>();
      for (const c of configured) {
        names.add(c.name);
        upsert.run({ name: c.name, url: c.url, path: c.path, deployment: c.deployment, authType: c.auth.type, labels: JSON.stringify(c.labels), at });
        if (!before.has(c.name) || before.get(c.name) !== null) added.push(c.name);
      }
      const removed = [...before].filter(([name, removedAt]) => removedAt === null && !names.has(name)).map(([name]) => name);
      const markRemoved = this.sql('UPDATE connections SET removed_at = ? WHERE name = ?');
      for (const name of removed) markRemoved.run(at, name);
      return { added, removed };
    }).immediate();
  }

  loadState(name: string): ConnectionState {
    const row = this.sql('SELECT * FROM connection_state WHERE name = ?').get(name) as StateRow | undefined;
    return row ? stateFromRow(row) : initialState();
  }

  loadStates(): Map<string, ConnectionState> {
    const rows = this.sql('SELECT * FROM connection_state').all() as StateRow[];
    return new Map(rows.map((row) => [row.name, stateFromRow(row)]));
  }

  recordCycle(record: CycleRecord): CycleIds {
    const write = () => this.db.transaction(() => this.writeCycle(record)).immediate();
    // A state change, event, incident or notification must be on disk before any notification about it is sent.
    const notable = (record.events?.length ?? 0) + (record.incidents?.length ?? 0) + (record.outbox?.length ?? 0) > 0;
    return notable ? this.durably(write) : write();
  }

  /**
   * Runs `write` with synchronous = FULL: its commit returns only after the WAL is fsynced. Inside a transaction
   * (SQLite refuses to change the safety level there) it joins it: the outer transaction is the durable one.
   */
  private durably<T>(write: () => T): T {
    if (this.db.inTransaction) return write();
    this.db.pragma('synchronous = FULL');
    try {
      return write();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
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

  private writeCycle({ observation, diagnosis, next, events = [], incidents = [], outbox = [] }: CycleRecord): CycleIds {
    const name = observation.connection;
    const startedAt = iso(observation.startedAt);
    const previous = (this.sql('SELECT state FROM connection_state WHERE name = ?').get(name) as { state: AuthState } | undefined)?.state ?? 'unknown';
    const stateEvents = events.filter((e) => e.kind === 'state_changed');
    const expected = previous === next.state ? 0 : 1;
    if (stateEvents.length !== expected || (expected === 1 && (stateEvents[0].from !== previous || stateEvents[0].to !== next.state))) {
      throw new StoreError(
        `connection ${name}: stored state ${previous}, new state ${next.state}, but the cycle has ${stateEvents.map((e) => `${e.from}→${e.to}`).join(', ') || 'no state_changed event'}`,
      );
    }

    const probeId = Number(this.sql(INSERT_PROBE).run(probeRow(observation, diagnosis, startedAt)).lastInsertRowid);
    this.sql(UPSERT_STATE).run({
      ...stateRow(name, next),
      last_probe_id: probeId,
      last_ok_probe_id: diagnosis.outcome === 'ok' ? probeId : null,
      updated_at: startedAt,
    });

    const insertEvent = this.sql('INSERT INTO events (connection, kind, from_state, to_state, at, probe_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const eventIds = events.map((e) =>
      Number(insertEvent.run(name, e.kind, e.from ?? null, e.to ?? null, iso(e.at ?? startedAt), probeId, JSON.stringify(e.details ?? {})).lastInsertRowid),
    );
    const eventAt = (index: number): { id: number; at: string } => {
      if (!Number.isInteger(index) || index < 0 || index >= events.length) throw new StoreError(`connection ${name}: event index ${index} is not in this cycle`);
      return { id: eventIds[index], at: iso(events[index].at ?? startedAt) };
    };

    const incidentIds = incidents.map((change) => {
      const event = eventAt(change.event);
      if (change.action === 'open') {
        return Number(
          this.sql('INSERT INTO incidents (connection, kind, opened_at, open_event_id) VALUES (?, ?, ?, ?)').run(name, change.kind, event.at, event.id)
            .lastInsertRowid,
        );
      }
      const result = this.sql('UPDATE incidents SET resolved_at = ?, resolve_event_id = ? WHERE id = ? AND connection = ? AND resolved_at IS NULL').run(
        event.at,
        event.id,
        change.incidentId,
        name,
      );
      if (result.changes !== 1) throw new StoreError(`connection ${name}: incident ${change.incidentId} is not open`);
      return change.incidentId;
    });

    const outboxIds = this.insertOutbox(outbox, startedAt, {
      incident: (index) => {
        if (index < 0 || index >= incidentIds.length) throw new StoreError(`connection ${name}: incident change ${index} is not in this cycle`);
        return incidentIds[index];
      },
      event: (index) => eventAt(index).id,
    });
    return { probeId, eventIds, incidentIds, outboxIds };
  }

  listStates(options: { includeRemoved?: boolean } = {}): ConnectionSummary[] {
    const rows = this.sql(`${SUMMARY_SELECT} WHERE @all OR c.removed_at IS NULL ORDER BY c.name`).all({ all: options.includeRemoved ? 1 : 0 }) as SummaryRow[];
    return rows.map(summaryFromRow);
  }

  connectionSummary(name: string): ConnectionSummary | null {
    const row = this.sql(`${SUMMARY_SELECT} WHERE c.name = ?`).get(name) as SummaryRow | undefined;
    return row ? summaryFromRow(row) : null;
  }

  hourlyOutcomeCounts(names: readonly string[], since: Instant): HourlyOutcomeCount[] {
    if (names.length === 0) return [];
    // Only these connections (a page of the status page), from probes_connection_started_class alone.
    return this.sql(`SELECT connection, substr(started_at, 1, 13) || ':00:00.000Z' AS hour, class, count(*) AS probes
      FROM probes WHERE connection IN (SELECT value FROM json_each(@names)) AND started_at >= @since
      GROUP BY connection, hour, class ORDER BY connection, hour, class`).all({ names: JSON.stringify(names), since: iso(since) }) as HourlyOutcomeCount[];
  }

  incidentNotifications(incidentIds: readonly number[]): OutboxItem[] {
    if (incidentIds.length === 0) return [];
    const rows = this.sql('SELECT * FROM outbox WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY id').all(JSON.stringify(incidentIds)) as OutboxRow[];
    return rows.map(outboxFromRow);
  }

  recentProbes(name: string, limit: number): StoredProbe[] {
    const rows = this.sql('SELECT * FROM probes WHERE connection = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(name, limit) as ProbeRow[];
    return rows.map(probeFromRow);
  }

  history(name: string, since: Instant, limit: number): { probes: StoredProbe[]; events: StoredEvent[] } {
    const from = iso(since);
    const read = this.db.transaction(() => ({
      probes: (this.sql('SELECT * FROM probes WHERE connection = ? AND started_at >= ? ORDER BY started_at DESC, id DESC LIMIT ?').all(name, from, limit) as ProbeRow[]).map(
        probeFromRow,
      ),
      events: (this.sql('SELECT * FROM events WHERE connection = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?').all(name, from, limit) as EventRow[]).map(
        eventFromRow,
      ),
    }));
    return read.deferred();
  }

  lastOkProbe(name: string): StoredProbe | null {
    const row = this.sql('SELECT p.* FROM connection_state s JOIN probes p ON p.id = s.last_ok_probe_id WHERE s.name = ?').get(name) as ProbeRow | undefined;
    return row ? probeFromRow(row) : null;
  }

  openIncidents(name?: string): StoredIncident[] {
    const rows = (
      name === undefined
        ? this.sql('SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY id').all()
        : this.sql('SELECT * FROM incidents WHERE resolved_at IS NULL AND connection = ? ORDER BY id').all(name)
    ) as IncidentRow[];
    return rows.map(incidentFromRow);
  }

  enqueueOutbox(items: readonly NewOutboxItem[], now: Instant): (number | null)[] {
    const at = iso(now);
    const noIndex = (index: number): number => {
      throw new StoreError(`outbox item refers to index ${index}; outside recordCycle use { id }`);
    };
    return this.durably(() => this.db.transaction(() => this.insertOutbox(items, at, { incident: noIndex, event: noIndex })).immediate());
  }

  private insertOutbox(
    items: readonly NewOutboxItem[],
    createdAt: string,
    resolve: { incident: (index: number) => number; event: (index: number) => number },
  ): (number | null)[] {
    const insert = this.sql(`INSERT INTO outbox (channel, target, incident_id, event_id, kind, dedupe_key, payload, created_at, next_attempt_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, dedupe_key) DO NOTHING`);
    const touchIncident = this.sql('UPDATE incidents SET last_notified_at = ? WHERE id = ?');
    return items.map((item) => {
      const incidentId = item.incident === undefined ? null : 'id' in item.incident ? item.incident.id : resolve.incident(item.incident.index);
      const eventId = item.event === undefined ? null : 'id' in item.event ? item.event.id : resolve.event(item.event.index);
      const dedupeKey = item.dedupeKey ?? defaultDedupeKey(item.kind, incidentId, eventId, createdAt);
      const payload = JSON.stringify(item.payload ?? null);
      const result = insert.run(item.channel, item.target ?? '', incidentId, eventId, item.kind, dedupeKey, payload, createdAt, iso(item.nextAttemptAt ?? createdAt));
      if (result.changes === 0) return null;
      if (incidentId !== null && (item.kind === 'open' || item.kind === 'reminder')) touchIncident.run(createdAt, incidentId);
      return Number(result.lastInsertRowid);
    });
  }

  outboxLaneHeads(now: Instant, limit = 100): OutboxItem[] {
    const rows = this.sql(`SELECT * FROM outbox WHERE id IN (
        SELECT min(id) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY channel, target
      ) AND next_attempt_at <= @now ORDER BY id LIMIT @limit`).all({ now: iso(now), limit }) as OutboxRow[];
    return rows.map(outboxFromRow);
  }

  pendingOutbox(now: Instant, channel?: Channel, limit = 100): OutboxItem[] {
    const rows = this.sql(`SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= @now
        AND (@channel IS NULL OR channel = @channel) ORDER BY next_attempt_at, id LIMIT @limit`).all({ now: iso(now), channel: channel ?? null, limit }) as OutboxRow[];
    return rows.map(outboxFromRow);
  }

  markDelivered(id: number, now: Instant): boolean {
    // Durable, so that a power cut after Slack's 200 cannot bring the row back as undelivered.
    return this.durably(
      () => this.sql('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL').run(iso(now), id)
        .changes === 1,
    );
  }

  markAttemptFailed(id: number, error: string, nextAttemptAt: Instant): void {
    this.sql('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL').run(
      error.slice(0, MAX_ERROR_LENGTH),
      iso(nextAttemptAt),
      id,
    );
  }

  markFailed(id: number, error: string, now: Instant): void {
    this.durably(() => this.sql('UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at = ? WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL').run(
      error.slice(0, MAX_ERROR_LENGTH),
      iso(now),
      id,
    ));
  }

  outboxOldestPending(): Partial<Record<Channel, string>> {
    const rows = this.sql(`SELECT channel, min(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY channel`).all() as {
      channel: Channel;
      oldest: string;
    }[];
    return Object.fromEntries(rows.map((row) => [row.channel, row.oldest]));
  }

  outboxCounts(): OutboxCounts {
    const counts = Object.fromEntries(CHANNELS.map((c) => [c, { pending: 0, delivered: 0, failed: 0 }])) as OutboxCounts;
    const rows = this.sql(`SELECT channel,
        sum(delivered_at IS NULL AND failed_at IS NULL) AS pending, sum(delivered_at IS NOT NULL) AS delivered, sum(failed_at IS NOT NULL) AS failed
      FROM outbox GROUP BY channel`).all() as { channel: Channel; pending: number; delivered: number; failed: number }[];
    for (const row of rows) counts[row.channel] = { pending: row.pending, delivered: row.delivered, failed: row.failed };
    return counts;
  }

  /**
   * Deletes probes that started before `olderThan`, batchSize rows per short transaction, yielding to
   * the event loop between batches so probes and HTTP keep running. Keeps every connection's last
   * probe and last ok probe. Returns the number deleted.
   */
  async pruneProbes(olderThan: Instant, batchSize = 500, shouldContinue: () => boolean = () => true): Promise<number> {
    const cutoff = iso(olderThan);
    const batch = this.db.transaction(
      () =>
        this.sql(`DELETE FROM probes WHERE id IN (
          SELECT id FROM probes WHERE started_at < @cutoff
            AND id NOT IN (SELECT last_probe_id FROM connection_state WHERE last_probe_id IS NOT NULL)
            AND id NOT IN (SELECT last_ok_probe_id FROM connection_state WHERE last_ok_probe_id IS NOT NULL)
          ORDER BY started_at LIMIT @batchSize)`).run({ cutoff, batchSize }).changes,
    );
    let total = 0;
    for (;;) {
      const deleted = batch.immediate();
      total += deleted;
      if (deleted < batchSize) return total;
      await new Promise((resolve) => setImmediate(resolve));
      if (!shouldContinue()) return total;
    }
  }

  /** Deletes delivered or failed notifications created before `olderThan`; pending ones stay. */
  pruneOutbox(olderThan: Instant): number {
    return this.sql('DELETE FROM outbox WHERE created_at < ? AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)').run(iso(olderThan)).changes;
  }

  probe(id: number): StoredProbe | null {
    const row = this.sql('SELECT * FROM probes WHERE id = ?').get(id) as ProbeRow | undefined;
    return row ? probeFromRow(row) : null;
  }

  transaction<T>(work: () => T): T {
    return this.durably(() => this.db.transaction(work).immediate());
  }

  slackGroups(): SlackGroupStore {
    return (this.groups ??= new SlackGroupStore((source) => this.sql(source)));
  }

  /** Checkpoints the WAL into the main file (writer) and closes; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.readonly) {
      try {
        this.db.pragma('optimize');
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // A reader holding a snapshot can make the checkpoint incomplete; the WAL is replayed at next open.
      }
    }
    this.db.close();
  }

  private sql(source: string): Statement {
    let statement = this.statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement;
  }
}

function defaultDedupeKey(kind: OutboxKind, incidentId: number | null, eventId: number | null, createdAt: string): string {
  switch (kind) {
    case 'open':
    case 'resolve':
      if (incidentId === null) throw new StoreError(`an outbox item of kind ${kind} needs an incident`);
      return `incident:${incidentId}:${kind}`;
    case 'reminder':
      if (incidentId === null) throw new StoreError('an outbox item of kind reminder needs an incident');
      return `incident:${incidentId}:reminder:${createdAt}`;
    case 'event':
      if (eventId === null) throw new StoreError('an outbox item of kind event needs an event');
      return `event:${eventId}`;
    case 'test':
      return `test:${createdAt}:${randomUUID()}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Row mapping

const bool = (value: boolean | null | undefined): number | null => (value == null ? null : value ? 1 : 0);
const fromBool = (value: number | null): boolean | null => (value == null ? null : value === 1);

interface StateRow {
  name: string;
  state: AuthState;
  since: string | null;
  consecutive_failures: number;
  failure_run: number;
  consecutive_successes: number;
  last_outcome: Outcome | null;
  last_outcome_class: OutcomeClass | null;
  last_auth_outcome: Outcome | null;
  last_probe_at: string | null;
  last_success_at: string | null;
  ever_succeeded: number;
  first_failure_at: string | null;
  backoff_until: string | null;
  backoff_level: number;
}

function stateRow(name: string, s: ConnectionState): StateRow {
  return {
    name,
    state: s.state,
    since: s.since,
    consecutive_failures: s.consecutiveFailures,
    failure_run: s.failureRun,
    consecutive_successes: s.consecutiveSuccesses,
    last_outcome: s.lastOutcome,
    last_outcome_class: s.lastOutcomeClass,
    last_auth_outcome: s.lastAuthOutcome,
    last_probe_at: s.lastProbeAt,
    last_success_at: s.lastSuccessAt,
    ever_succeeded: s.everSucceeded ? 1 : 0,
    first_failure_at: s.firstFailureAt,
    backoff_until: s.backoffUntil,
    backoff_level: s.backoffLevel,
  };
}

function stateFromRow(r: StateRow): ConnectionState {
  return {
    state: r.state,
    since: r.since,
    consecutiveFailures: r.consecutive_failures,
    failureRun: r.failure_run,
    consecutiveSuccesses: r.consecutive_successes,
    lastOutcome: r.last_outcome,
    lastOutcomeClass: r.last_outcome_class,
    lastAuthOutcome: r.last_auth_outcome,
    lastProbeAt: r.last_probe_at,
    lastSuccessAt: r.last_success_at,
    everSucceeded: r.ever_succeeded === 1,
    firstFailureAt: r.first_failure_at,
    backoffUntil: r.backoff_until,
    backoffLevel: r.backoff_level,
  };
}

type SummaryRow = StateRow & Record<string, unknown>;

const SUMMARY_SELECT = `SELECT c.name AS c_name, c.url AS c_url, c.path AS c_path, c.deployment AS c_deployment, c.auth_type AS c_auth_type,
        c.labels AS c_labels, c.first_seen AS c_first_seen, c.removed_at AS c_removed_at, s.*,
        p.id AS p_id, p.started_at AS p_started_at, p.outcome AS p_outcome, p.class AS p_class, p.detail AS p_detail,
        p.http_status AS p_http_status, p.total_seconds AS p_total_seconds, p.tls_protocol AS p_tls_protocol, p.tls_cipher AS p_tls_cipher,
        p.tls_not_after AS p_tls_not_after, p.tls_chain_earliest_not_after AS p_tls_chain, p.tls_authorized AS p_tls_authorized,
        p.tls_authorization_error AS p_tls_error
      FROM connections c
      LEFT JOIN connection_state s ON s.name = c.name
      LEFT JOIN probes p ON p.id = s.last_probe_id`;

function summaryFromRow(row: SummaryRow): ConnectionSummary {
  return {
    name: row.c_name as string,
    url: row.c_url as string,
    path: row.c_path as string,
    deployment: row.c_deployment as Deployment,
    authType: row.c_auth_type as AuthType,
    labels: JSON.parse(row.c_labels as string) as Record<string, string>,
    firstSeen: row.c_first_seen as string,
    removedAt: row.c_removed_at as string | null,
    state: row.state ? stateFromRow(row) : initialState(),
    lastProbe:
      row.p_id == null
        ? null
        : {
            id: row.p_id as number,
            startedAt: row.p_started_at as string,
            outcome: row.p_outcome as Outcome,
            class: row.p_class as OutcomeClass,
            detail: row.p_detail as string,
            httpStatus: row.p_http_status as number | null,
            totalSeconds: row.p_total_seconds as number | null,
            tls:
              row.p_tls_authorized == null
                ? null
                : {
                    protocol: row.p_tls_protocol as string | null,
                    cipher: row.p_tls_cipher as string | null,
                    notAfter: row.p_tls_not_after as string | null,
                    chainEarliestNotAfter: row.p_tls_chain as string | null,
                    authorized: row.p_tls_authorized === 1,
                    authorizationError: row.p_tls_error as string | null,
                  },
          },
  };
}

// last_ok_probe_id keeps its previous value when this probe is not ok.
const UPSERT_STATE = `INSERT INTO connection_state (name, state, since, consecutive_failures, failure_run, consecutive_successes, last_outcome, last_outcome_class,
    last_auth_outcome, last_probe_at, last_success_at, ever_succeeded, first_failure_at, backoff_until, backoff_level, last_probe_id, last_ok_probe_id, updated_at)
  VALUES (@name, @state, @since, @consecutive_failures, @failure_run, @consecutive_successes, @last_outcome, @last_outcome_class,
    @last_auth_outcome, @last_probe_at, @last_success_at, @ever_succeeded, @first_failure_at, @backoff_until, @backoff_level, @last_probe_id, @last_ok_probe_id, @updated_at)
  ON CONFLICT (name) DO UPDATE SET state = excluded.state, since = excluded.since, consecutive_failures = excluded.consecutive_failures,
    failure_run = excluded.failure_run,
    consecutive_successes = excluded.consecutive_successes, last_outcome = excluded.last_outcome, last_outcome_class = excluded.last_outcome_class,
    last_auth_outcome = excluded.last_auth_outcome, last_probe_at = excluded.last_probe_at, last_success_at = excluded.last_success_at,
    ever_succeeded = excluded.ever_succeeded, first_failure_at = excluded.first_failure_at, backoff_until = excluded.backoff_until,
    backoff_level = excluded.backoff_level, last_probe_id = excluded.last_probe_id,
    last_ok_probe_id = coalesce(excluded.last_ok_probe_id, connection_state.last_ok_probe_id), updated_at = excluded.updated_at`;

interface ProbeRow {
  id: number;
  connection: string;
  started_at: string;
  url: string;
  outcome: Outcome;
  class: OutcomeClass;
  detail: string;
  dns_seconds: number | null;
  connect_seconds: number | null;
  tls_seconds: number | null;
  request_seconds: number | null;
  first_byte_seconds: number | null;
  download_seconds: number | null;
  total_seconds: number | null;
  http_status: number | null;
  content_type: string | null;
  headers: string | null;
  message: string | null;
  body_bytes: number | null;
  body_truncated: number | null;
  has_identity: number;
  identity_account_id: string | null;
  identity_name: string | null;
  identity_key: string | null;
  identity_email: string | null;
  identity_display_name: string | null;
  identity_active: number | null;
  tls_protocol: string | null;
  tls_cipher: string | null;
  tls_subject: string | null;
  tls_issuer: string | null;
  tls_sans: string | null;
  tls_serial: string | null;
  tls_fingerprint256: string | null;
  tls_not_before: string | null;
  tls_not_after: string | null;
  tls_chain_earliest_not_after: string | null;
  tls_authorized: number | null;
  tls_authorization_error: string | null;
  credential_status: 'ok' | 'missing' | 'malformed';
  credential_problem: string | null;
  credential_fingerprint: string | null;
  credential_findings: string;
  oauth_ok: number | null;
  oauth_from_cache: number | null;
  oauth_http_status: number | null;
  oauth_error: string | null;
  oauth_expires_at: string | null;
  error_code: string | null;
  error_phase: string | null;
  error_message: string | null;
}

const PROBE_COLUMNS = [
  'connection', 'started_at', 'url', 'outcome', 'class', 'detail',
  'dns_seconds', 'connect_seconds', 'tls_seconds', 'request_seconds', 'first_byte_seconds', 'download_seconds', 'total_seconds',
  'http_status', 'content_type', 'headers', 'message', 'body_bytes', 'body_truncated',
  'has_identity', 'identity_account_id', 'identity_name', 'identity_key', 'identity_email', 'identity_display_name', 'identity_active',
  'tls_protocol', 'tls_cipher', 'tls_subject', 'tls_issuer', 'tls_sans', 'tls_serial', 'tls_fingerprint256',
  'tls_not_before', 'tls_not_after', 'tls_chain_earliest_not_after', 'tls_authorized', 'tls_authorization_error',
  'credential_status', 'credential_problem', 'credential_fingerprint', 'credential_findings',
  'oauth_ok', 'oauth_from_cache', 'oauth_http_status', 'oauth_error', 'oauth_expires_at',
  'error_code', 'error_phase', 'error_message',
] as const satisfies readonly (keyof ProbeRow)[];
const INSERT_PROBE = `INSERT INTO probes (${PROBE_COLUMNS.join(', ')}) VALUES (${PROBE_COLUMNS.map((c) => `@${c}`).join(', ')})`;

function probeRow(o: ProbeObservation, d: Diagnosis, startedAt: string): Omit<ProbeRow, 'id'> {
  const { http, identity, tls, oauth, error, credential, timings } = o;
  return {
    connection: o.connection,
    started_at: startedAt,
    url: o.url,
    outcome: d.outcome,
    class: d.class,
    detail: d.detail,
    dns_seconds: timings.dns,
    connect_seconds: timings.connect,
    tls_seconds: timings.tls,
    request_seconds: timings.request,
    first_byte_seconds: timings.first_byte,
    download_seconds: timings.download,
    total_seconds: timings.total,
    http_status: http?.status ?? null,
    content_type: http?.contentType ?? null,
    headers: http ? JSON.stringify(http.headers) : null,
    message: http?.message ?? null,
    body_bytes: http?.bodyBytes ?? null,
    body_truncated: bool(http?.bodyTruncated),
    has_identity: identity ? 1 : 0,
    identity_account_id: identity?.accountId ?? null,
    identity_name: identity?.name ?? null,
    identity_key: identity?.key ?? null,
    identity_email: identity?.emailAddress ?? null,
    identity_display_name: identity?.displayName ?? null,
    identity_active: bool(identity?.active),
    tls_protocol: tls?.protocol ?? null,
    tls_cipher: tls?.cipher ?? null,
    tls_subject: tls?.subject ?? null,
    tls_issuer: tls?.issuer ?? null,
    tls_sans: tls ? JSON.stringify(tls.sans) : null,
    tls_serial: tls?.serial ?? null,
    tls_fingerprint256: tls?.fingerprint256 ?? null,
    tls_not_before: tls?.notBefore ?? null,
    tls_not_after: tls?.notAfter ?? null,
    tls_chain_earliest_not_after: tls?.chainEarliestNotAfter ?? null,
    tls_authorized: bool(tls?.authorized),
    tls_authorization_error: tls?.authorizationError ?? null,
    credential_status: credential.status,
    credential_problem: credential.problem,
    credential_fingerprint: credential.fingerprint,
    credential_findings: JSON.stringify(credential.findings),
    oauth_ok: bool(oauth?.ok),
    oauth_from_cache: bool(oauth?.fromCache),
    oauth_http_status: oauth?.httpStatus ?? null,
    oauth_error: oauth?.error ?? null,
    oauth_expires_at: oauth?.expiresAt ?? null,
    error_code: error?.code ?? null,
    error_phase: error?.phase ?? null,
    error_message: error?.message ?? null,
  };
}

function probeFromRow(r: ProbeRow): StoredProbe {
  const tls: TlsDetails | null =
    r.tls_authorized === null
      ? null
      : {
          protocol: r.tls_protocol,
          cipher: r.tls_cipher,
          subject: r.tls_subject,
          issuer: r.tls_issuer,
          sans: r.tls_sans ? (JSON.parse(r.tls_sans) as string[]) : [],
          serial: r.tls_serial,
          fingerprint256: r.tls_fingerprint256,
          notBefore: r.tls_not_before,
          notAfter: r.tls_not_after,
          chainEarliestNotAfter: r.tls_chain_earliest_not_after,
          authorized: r.tls_authorized === 1,
          authorizationError: r.tls_authorization_error,
        };
  const observation: ProbeObservation = {
    connection: r.connection,
    startedAt: r.started_at,
    url: r.url,
    credential: {
      status: r.credential_status,
      problem: r.credential_problem,
      fingerprint: r.credential_fingerprint,
      findings: JSON.parse(r.credential_findings) as string[],
    },
    oauth:
      r.oauth_ok === null
        ? null
        : { ok: r.oauth_ok === 1, fromCache: r.oauth_from_cache === 1, httpStatus: r.oauth_http_status, error: r.oauth_error, expiresAt: r.oauth_expires_at },
    error: r.error_code === null ? null : { code: r.error_code, phase: r.error_phase, message: r.error_message ?? '' },
    http:
      r.http_status === null
        ? null
        : {
            status: r.http_status,
            contentType: r.content_type,
            headers: r.headers ? (JSON.parse(r.headers) as Record<string, string>) : {},
            message: r.message ?? '',
            json: null,
            bodyBytes: r.body_bytes ?? 0,
            bodyTruncated: r.body_truncated === 1,
          },
    identity:
      r.has_identity === 0
        ? null
        : {
            accountId: r.identity_account_id,
            name: r.identity_name,
            key: r.identity_key,
            emailAddress: r.identity_email,
            displayName: r.identity_display_name,
            active: fromBool(r.identity_active),
          },
    tls,
    timings: {
      dns: r.dns_seconds,
      connect: r.connect_seconds,
      tls: r.tls_seconds,
      request: r.request_seconds,
      first_byte: r.first_byte_seconds,
      download: r.download_seconds,
      total: r.total_seconds,
    },
  };
  return { id: r.id, connection: r.connection, startedAt: r.started_at, outcome: r.outcome, class: r.class, detail: r.detail, observation };
}

interface EventRow {
  id: number;
  connection: string;
  kind: EventKind;
  from_state: AuthState | null;
  to_state: AuthState | null;
  at: string;
  probe_id: number | null;
  details: string;
}

function eventFromRow(r: EventRow): StoredEvent {
  return {
    id: r.id,
    connection: r.connection,
    kind: r.kind,
    from: r.from_state,
    to: r.to_state,
    at: r.at,
    probeId: r.probe_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

interface IncidentRow {
  id: number;
  connection: string;
  kind: IncidentKind;
  opened_at: string;
  resolved_at: string | null;
  open_event_id: number;
  resolve_event_id: number | null;
  last_notified_at: string | null;
}

function incidentFromRow(r: IncidentRow): StoredIncident {
  return {
    id: r.id,
    connection: r.connection,
    kind: r.kind,
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
    openEventId: r.open_event_id,
    resolveEventId: r.resolve_event_id,
    lastNotifiedAt: r.last_notified_at,
  };
}

interface OutboxRow {
  id: number;
  channel: Channel;
  target: string;
  incident_id: number | null;
  event_id: number | null;
  kind: OutboxKind;
  dedupe_key: string;
  payload: string;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  failed_at: string | null;
  last_error: string | null;
}

function outboxFromRow(r: OutboxRow): OutboxItem {
  return {
    id: r.id,
    channel: r.channel,
    target: r.target,
    incidentId: r.incident_id,
    eventId: r.event_id,
    kind: r.kind,
    dedupeKey: r.dedupe_key,
    payload: JSON.parse(r.payload) as unknown,
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    deliveredAt: r.delivered_at,
    failedAt: r.failed_at,
    lastError: r.last_error,
  };
}
