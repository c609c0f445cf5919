// Who needs what from storage. Each caller depends on the narrow port it uses; `Store` (store.ts) is all of them,
// implemented over SQLite. The contract suite (test/contract/) holds every implementation of a port to the same
// behaviour.
import type { Connection } from '../config/load.js';
import type { ConnectionState } from '../state/types.js';
import type { Instant } from '../time/instant.js';
import type { SlackGroupStore } from './slack-groups.js';
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

/** What one probe cycle (daemon/cycle.ts commitProbe) reads and writes. */
export interface CycleStore {
  loadState(name: string): ConnectionState;
  lastOkProbe(name: string): StoredProbe | null;
  openIncidents(name?: string): StoredIncident[];
  /** One transaction: probe row, state row, events, incident changes, outbox items. */
  recordCycle(record: CycleRecord): CycleIds;
  /**
   * Group commit: runs `work` in one write transaction, in which each recordCycle is a savepoint (a cycle that
   * throws leaves nothing, the others stay). It commits without an fsync: call syncToDisk before anything it wrote
   * is acted on outside the process (a notification sent).
   */
  batch<T>(work: () => T): T;
  /** Every connection's last ok probe, in one read (loaded once at start). */
  lastOkProbes(): Map<string, StoredProbe>;
}

/** What the dispatcher delivers from (through daemon/store-outbox.ts). */
export interface OutboxStore {
  /** The oldest undelivered row of every (channel, target) lane, when it is due: a head waiting for its retry holds its lane back. */
  outboxLaneHeads(now: Instant, limit?: number): OutboxItem[];
  /** False when the row was delivered or failed already. */
  markDelivered(id: number, now: Instant): boolean;
  markAttemptFailed(id: number, error: string, nextAttemptAt: Instant): void;
  markFailed(id: number, error: string, now: Instant): void;
}

/** Notifications enqueued outside a probe cycle (reminders, the Slack grouping pass, tests), and their counts. */
export interface OutboxWriter {
  /** Durable; an item whose dedupe key was used on its channel is skipped (null). */
  enqueueOutbox(items: readonly NewOutboxItem[], now: Instant): (number | null)[];
  /** Due rows, not delivered nor failed, by next attempt time (any lane order). */
  pendingOutbox(now: Instant, channel?: Channel, limit?: number): OutboxItem[];
  outboxCounts(): OutboxCounts;
  /** Per channel, created_at of the oldest notification still pending; a channel with none is absent. */
  outboxOldestPending(): Partial<Record<Channel, string>>;
}

/** What the API, the CLI's `status`/`history` and the status page read. */
export interface ReadStore {
  listStates(options?: { includeRemoved?: boolean }): ConnectionSummary[];
  /** One connection as listStates shows it (removed ones included), or null when it was never configured. */
  connectionSummary(name: string): ConnectionSummary | null;
  recentProbes(name: string, limit: number): StoredProbe[];
  /**
   * Since `since`, newest first, at most `limit` of each: the events; the hourly summaries of the hours before
   * `hoursBefore`, where raw probes were pruned (null when none of the range was: no hours then); the raw probes
   * from then on.
   */
  history(name: string, since: Instant, limit: number): { probes: StoredProbe[]; events: StoredEvent[]; hours: HourlySummary[]; hoursBefore: string | null };
  /** The connection's hourly roll-ups of the UTC hours that overlap [from, to), newest first, at most `limit`. */
  probeHours(name: string, from: Instant, to: Instant, limit: number): HourlySummary[];
  lastOkProbe(name: string): StoredProbe | null;
  openIncidents(name?: string): StoredIncident[];
  /** Per connection, its probes since `since` counted by UTC hour and outcome class: the roll-ups, then the probes of the hours not rolled up yet. */
  hourlyOutcomeCounts(names: readonly string[], since: Instant): HourlyOutcomeCount[];
  /** Every notification enqueued for these incidents, oldest first. */
  incidentNotifications(incidentIds: readonly number[]): OutboxItem[];
  /** One probe by id, or null when pruned. */
  probe(id: number): StoredProbe | null;
}

/** The reminder sweep (daemon/notifications.ts): open incidents and their connections' latest probes. */
export type SweepStore = Pick<CycleStore, 'loadState' | 'lastOkProbe' | 'openIncidents'> & Pick<ReadStore, 'recentProbes'> & Pick<OutboxWriter, 'enqueueOutbox'>;

/** The Slack grouping pass (daemon/slack-groups.ts): the grouping tables and the outbox, in one transaction. */
export type SlackGroupingStore = SweepStore &
  Pick<ReadStore, 'probe'> & {
    /** Runs `work` in one durable write transaction (nested store calls become part of it). */
    transaction<T>(work: () => T): T;
    /** The Slack grouping and thread tables. */
    slackGroups(): SlackGroupStore;
  };

/** The daemon's upkeep: the connection registry, the fingerprint key, roll-ups and pruning, fsync. */
export interface MaintenanceStore {
  /** The per-database HMAC key for credential fingerprints (32 bytes, created on first open). */
  fingerprintKey(): Buffer;
  /** Records the configured connections; ones no longer configured get removed_at (history kept). */
  upsertConnections(configured: readonly Connection[], now: Instant): { added: string[]; removed: string[] };
  loadStates(): Map<string, ConnectionState>;
  /**
   * Rolls up every hour that ended 15 minutes (ROLLUP_DELAY_MS) before `now` and is not rolled up yet, in short
   * transactions of `batchSize` connections, yielding between them; stops early when `shouldContinue` says so.
   * Returns the hours completed.
   */
  rollUp(now: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number>;
  /** The end of the last hour rolled up (ISO 8601): every probe before it is counted in the roll-ups; null before the first. */
  rolledUpBefore(): string | null;
  /** Deletes the roll-ups of hours that started before `olderThan`, in small transactions, yielding between them. */
  pruneRollups(olderThan: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number>;
  /**
   * Deletes old probes in small transactions, yielding between them; stops early when `shouldContinue` says so.
   * Give it no cutoff past rolledUpBefore(): what is pruned before it is rolled up is missing from the roll-ups.
   */
  pruneProbes(olderThan: Instant, batchSize?: number, shouldContinue?: () => boolean): Promise<number>;
  /** Deletes delivered or failed notifications created before `olderThan`; pending ones stay. */
  pruneOutbox(olderThan: Instant): number;
  /**
   * fsyncs the write-ahead log: every transaction committed so far survives a power cut. Probe-only
   * transactions commit without an fsync (synchronous = NORMAL); the daemon calls this every few seconds.
   */
  syncToDisk(): void;
  /**
   * How long a write waits for a lock another process holds before it fails with SQLITE_BUSY (the daemon keeps it
   * short once started: a foreign lock must delay its records, never block its event loop).
   */
  setBusyTimeout(ms: number): void;
}

/** A store that can be closed (checkpoints the WAL when it is the writer); safe to call twice. */
export interface Closable {
  close(): void;
}
