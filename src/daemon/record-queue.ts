// Where probe results wait for the database: every probe is recorded through this queue, in probe order.
//
// Group commit: probes that return within `groupWindowMs` of each other are committed in one transaction (each
// probe's state, events, incidents and outbox rows in a savepoint of it: all of a probe or none), then, when one of
// them wrote something a notification depends on, the write-ahead log is fsynced before anything is acted on
// (logged as a state change, handed to the dispatcher). One transaction for many probes is what keeps SQLite's
// cost per probe small at 10,000 connections a minute.
//
// When the database cannot take them (locked by another process, full, read-only) the probes wait here and are
// retried with back-off; the daemon keeps a short busy timeout, so a foreign lock costs the event loop a few
// milliseconds per retry and never blocks probing. Notifications are created only by the commit, so none is sent
// before its state change is durable, and every one is sent once it is. Meanwhile each connection's current state
// (what the metrics and the API show) is advanced in memory from the same probes with the same pure state machine,
// so it equals what the commits will store.
//
// Bounded: at most `bound` probes wait (DEFAULT_RECORD_QUEUE_BOUND, about 2 KB each without the parsed body, so
// some 20–40 MB); beyond it the oldest waiting probe is dropped (and counted), so memory stays bounded during a
// storage outage of any length.
import { performance } from 'node:perf_hooks';
import type { Connection } from '../config/load.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { ConnectionState } from '../state/types.js';
import { isStorageError, type StorageHealth } from '../store/health.js';

export const DEFAULT_RECORD_QUEUE_BOUND = 10_000;
export const DEFAULT_GROUP_WINDOW_MS = 100;
/** Probes per transaction at most: a backlog is committed in slices, yielding to the event loop between them. */
export const DEFAULT_MAX_BATCH = 250;
/**
 * ...and no more than fit in this much time (each probe is a savepoint, so a transaction can end after any of
 * them): a backlog of thousands after a lock is drained in slices that hold the event loop ~20 ms each, with
 * BACKLOG_PAUSE_MS between them for /healthz, /metrics and the probes (slices of 250 held it ~90 ms each, and an
 * HTTP request needing three turns of the loop waited ~400 ms).
 */
export const DEFAULT_BATCH_BUDGET_MS = 20;
export const BACKLOG_PAUSE_MS = 5;
/**
 * Retries of a refused commit back off from 1 s to this: with the short busy timeout a retry costs the event loop
 * at most that timeout, so the records land within a few seconds of the lock's release.
 */
export const DEFAULT_MAX_RETRY_DELAY_MS = 4_000;

export interface PendingProbe {
  connection: Connection;
  observation: ProbeObservation;
  diagnosis: Diagnosis;
  /** The cycle's clock when the probe returned (event detection and planning use it at commit time). */
  now: Date;
  /** The state after this probe, as advanced in memory. */
  next: ConnectionState;
}

/** What a committed probe still has to do once its transaction is durable. */
export interface AfterCommit {
  /** It wrote an event, an incident or a notification: the WAL must be fsynced before `run`. */
  notable: boolean;
  run: () => void;
}

export interface RecordQueueOptions {
  health: StorageHealth;
  /** Writes one probe inside the open batch (reads nothing from the database). Throws when storage fails. */
  commit: (probe: PendingProbe) => AfterCommit;
  /** Runs `work` in one write transaction; a nested call is a savepoint. */
  batch: <T>(work: () => T) => T;
  /** Makes everything committed so far durable (fsync of the write-ahead log). */
  sync: () => void;
  /** Stored state of a connection with nothing queued (kept in memory by the daemon's CycleCache). */
  loadState: (name: string) => ConnectionState;
  /** Whether a queued probe's connection is still configured as it was (a reload may have changed it). */
  isConfigured: (connection: Connection) => boolean;
  /** A commit that failed for a reason other than storage (a bug): the probe is dropped, not retried. */
  onCommitError: (probe: PendingProbe, error: unknown) => void;
  /** 'bound' is reported for the first probe dropped since the queue was last empty only (one log line per outage). */
  onDropped?: (probe: PendingProbe, reason: 'bound' | 'removed') => void;
  bound?: number;
  /** How long a probe waits for others to share its transaction; 0 commits in submit (tests of the queue alone). */
  groupWindowMs?: number;
  maxBatch?: number;
  /** A transaction takes no more probes once this long has passed since it began (the first always goes in). */
  batchBudgetMs?: number;
  /** The clock of the budget (default performance.now). */
  nowMs?: () => number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export type SubmitResult = 'recorded' | 'queued';

export class RecordQueue {
  private readonly queue: PendingProbe[] = [];
  /** In-memory state of each connection that has probes queued: the `next` of its newest one. */
  private readonly live = new Map<string, ConnectionState>();
  private readonly waiting = new Map<string, number>();
  /** Probes a commit attempt failed for, or submitted while storage was failing. */
  private readonly stalled = new WeakSet<PendingProbe>();
  private readonly bound: number;
  private readonly groupWindowMs: number;
  private readonly maxBatch: number;
  private readonly batchBudgetMs: number;
  private readonly nowMs: () => number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private settled: (() => void)[] = [];
  private droppedCount = 0;
  private droppedSinceEmpty = 0;

  constructor(private readonly options: RecordQueueOptions) {
    this.bound = options.bound ?? DEFAULT_RECORD_QUEUE_BOUND;
    this.groupWindowMs = options.groupWindowMs ?? DEFAULT_GROUP_WINDOW_MS;
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.batchBudgetMs = options.batchBudgetMs ?? DEFAULT_BATCH_BUDGET_MS;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    this.delayMs = this.initialDelayMs;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Probes dropped because the queue was full, since start. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** The connection's current state: advanced in memory while its probes wait, the stored one otherwise. */
  stateOf(name: string): ConnectionState {
    return this.live.get(name) ?? this.options.loadState(name);
  }

  /**
   * The connection's probes waiting for storage, oldest first: those whose commit failed or that came while it
   * failed. A probe only waiting for its group commit (≤ the group window) is not one of them: the API shows what
   * SQLite has, plus what it refused.
   */
  pendingOf(name: string): PendingProbe[] {
    return this.live.has(name) ? this.queue.filter((probe) => probe.observation.connection === name && this.stalled.has(probe)) : [];
  }

  /**
   * Takes the probe for the next group commit. 'recorded': storage is up, it is committed within the group window;
   * 'queued': storage is failing and it waits for the next retry (or, without a group window, its commit failed).
   */
  submit(probe: PendingProbe): SubmitResult {
    const alone = this.queue.length === 0;
    this.enqueue(probe);
    if (!this.options.health.up) {
      this.schedule(this.delayMs);
      return 'queued';
    }
    if (this.groupWindowMs > 0) {
      this.schedule(this.queue.length >= this.maxBatch ? 0 : this.groupWindowMs);
      return 'recorded';
    }
    if (alone) this.flush();
    else this.schedule(this.delayMs);
    return this.queue.length === 0 ? 'recorded' : 'queued';
  }

  /** Resolves after the next commit attempt (the API's "probe now" answers whether its probe is stored). */
  whenSettled(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.settled.push(resolve));
  }

  /**
   * Commits the waiting probes in order, `maxBatch` per transaction, stopping at the first storage failure (the
   * rest waits for the next try, with back-off). `all`: every batch now (shutdown); otherwise one batch, and the
   * next after yielding to the event loop. Returns how many committed.
   */
  flush(all = false): number {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let committed = 0;
    try {
      do {
        const done = this.commitBatch();
        if (done === null) {
          this.delayMs = Math.min(this.maxDelayMs, this.delayMs * 2);
          this.schedule(this.delayMs);
          return committed;
        }
        committed += done;
      } while (all && this.queue.length > 0);
      this.delayMs = this.initialDelayMs;
      if (this.queue.length > 0) this.schedule(BACKLOG_PAUSE_MS);
      else this.droppedSinceEmpty = 0;
      return committed;
    } finally {
      const settled = this.settled;
      this.settled = [];
      for (const resolve of settled) resolve();
    }
  }

  /** Stops the retry timer (shutdown: call flush(true) first). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One transaction of up to maxBatch probes; null when storage refused it (nothing of it was written). */
  private commitBatch(): number | null {
    while (this.queue.length > 0 && !this.options.isConfigured(this.queue[0].connection)) {
      const probe = this.queue.shift()!;
      this.forget(probe);
      this.options.onDropped?.(probe, 'removed');
    }
    const batch: PendingProbe[] = [];
    for (const probe of this.queue) {
      if (batch.length >= this.maxBatch) break;
      batch.push(probe);
    }
    if (batch.length === 0) return 0;
    let effects: AfterCommit[] = [];
    let taken = 0;
    try {
      this.options.health.track('record probes', () =>
        this.options.batch(() => {
          effects = [];
          taken = 0;
          const began = this.nowMs();
          for (const probe of batch) {
            if (taken > 0 && this.nowMs() - began >= this.batchBudgetMs) break;
            taken++;
            if (!this.options.isConfigured(probe.connection)) continue;
            try {
              effects.push(this.options.batch(() => this.options.commit(probe)));
            } catch (error) {
              if (isStorageError(error)) throw error;
              this.options.onCommitError(probe, error);
            }
          }
        }),
      );
    } catch (error) {
      if (!isStorageError(error)) throw error;
      for (const probe of batch) this.stalled.add(probe);
      return null;
    }
    batch.length = taken;
    this.queue.splice(0, taken);
    for (const probe of batch) this.forget(probe);
    if (effects.some((effect) => effect.notable)) {
      try {
        this.options.health.track('fsync the write-ahead log', () => this.options.sync());
      } catch {
        // Counted and logged by the health; the rows are committed and the periodic fsync retries.
      }
    }
    for (const effect of effects) {
      try {
        effect.run();
      } catch (error) {
        this.options.onCommitError(batch[0], error);
      }
    }
    return batch.length;
  }

  private enqueue(waiting: PendingProbe): void {
    // The parsed body (up to 1 MiB) served the classifier and is never stored: a waiting probe keeps ~2 KB.
    const { http } = waiting.observation;
    const probe = http?.json != null ? { ...waiting, observation: { ...waiting.observation, http: { ...http, json: null } } } : waiting;
    const name = probe.observation.connection;
    this.queue.push(probe);
    if (!this.options.health.up) this.stalled.add(probe);
    this.live.set(name, probe.next);
    this.waiting.set(name, (this.waiting.get(name) ?? 0) + 1);
    while (this.queue.length > this.bound) {
      const oldest = this.queue.shift()!;
      this.droppedCount++;
      this.forget(oldest);
      if (++this.droppedSinceEmpty === 1) this.options.onDropped?.(oldest, 'bound');
    }
  }

  /** After `probe` left the queue: its connection shows the stored state again once none of its probes waits. */
  private forget(probe: PendingProbe): void {
    const name = probe.observation.connection;
    const left = (this.waiting.get(name) ?? 1) - 1;
    if (left > 0) {
      this.waiting.set(name, left);
    } else {
      this.waiting.delete(name);
      this.live.delete(name);
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), delayMs);
    this.timer.unref();
  }
}
