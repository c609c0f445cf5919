// Probe results the database could not take yet (locked, full, read-only): kept in memory, in probe order, and
// committed once storage returns, each through the same path as a fresh probe (state, events, incidents and
// outbox rows in one transaction). Notifications are created only by that commit, so none is sent before its
// state change is durable, and every one is sent once it is.
//
// Meanwhile the connection's current state (what the metrics and the API show) is advanced in memory from the
// same probes with the same pure state machine, so it equals what the commits will store.
//
// Bounded: at most `bound` probes wait (DEFAULT_RECORD_QUEUE_BOUND, about 2 KB each without the parsed body, so
// some 20–40 MB); beyond it the oldest waiting probe is dropped (and counted), so memory stays bounded during a
// storage outage of any length.
import type { Connection } from '../config/load.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { ConnectionState } from '../state/types.js';
import { isStorageError, type StorageHealth } from '../store/health.js';

export const DEFAULT_RECORD_QUEUE_BOUND = 10_000;

export interface PendingProbe {
  connection: Connection;
  observation: ProbeObservation;
  diagnosis: Diagnosis;
  /** The cycle's clock when the probe returned (event detection and planning use it at commit time). */
  now: Date;
  /** The state after this probe, as advanced in memory. */
  next: ConnectionState;
}

export interface RecordQueueOptions {
  health: StorageHealth;
  /** Commits one probe (reads the stored state, plans, writes one transaction). Throws when storage fails. */
  commit: (probe: PendingProbe) => void;
  /** Stored state of a connection with nothing queued. */
  loadState: (name: string) => ConnectionState;
  /** Whether a queued probe's connection is still configured as it was (a reload may have changed it). */
  isConfigured: (connection: Connection) => boolean;
  /** A commit that failed for a reason other than storage (a bug): the probe is dropped, not retried. */
  onCommitError: (probe: PendingProbe, error: unknown) => void;
  /** 'bound' is reported for the first probe dropped since the queue was last empty only (one log line per outage). */
  onDropped?: (probe: PendingProbe, reason: 'bound' | 'removed') => void;
  bound?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export type SubmitResult = 'recorded' | 'queued';

export class RecordQueue {
  private readonly queue: PendingProbe[] = [];
  /** In-memory state of each connection that has probes queued: the `next` of its newest one. */
  private readonly live = new Map<string, ConnectionState>();
  private readonly waiting = new Map<string, number>();
  private readonly bound: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private droppedCount = 0;
  private droppedSinceEmpty = 0;

  constructor(private readonly options: RecordQueueOptions) {
    this.bound = options.bound ?? DEFAULT_RECORD_QUEUE_BOUND;
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
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

  /** The connection's probes not yet recorded, oldest first. */
  pendingOf(name: string): PendingProbe[] {
    return this.live.has(name) ? this.queue.filter((probe) => probe.observation.connection === name) : [];
  }

  /**
   * Records the probe now when nothing waits before it and storage is up; otherwise (or when the write fails)
   * queues it: during an episode only the back-off retries touch the database, so a foreign lock stalls the
   * daemon (busy timeout) once per retry, not once per probe.
   */
  submit(probe: PendingProbe): SubmitResult {
    if (this.queue.length === 0 && this.options.health.up) {
      try {
        this.options.health.track('record probe', () => this.options.commit(probe));
        return 'recorded';
      } catch (error) {
        if (!isStorageError(error)) throw error;
      }
    }
    this.enqueue(probe);
    return 'queued';
  }

  /**
   * Commits the queued probes in order, stopping at the first storage failure (the rest waits for the next
   * try, with back-off). Called by its own timer, and by shutdown once more. Returns how many committed.
   */
  flush(): number {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let committed = 0;
    while (this.queue.length > 0) {
      const probe = this.queue[0];
      if (!this.options.isConfigured(probe.connection)) {
        this.queue.shift();
        this.forget(probe);
        this.options.onDropped?.(probe, 'removed');
        continue;
      }
      try {
        this.options.health.track('record probe', () => this.options.commit(probe));
      } catch (error) {
        if (isStorageError(error)) {
          this.delayMs = Math.min(this.maxDelayMs, this.delayMs * 2);
          this.schedule();
          return committed;
        }
        this.options.onCommitError(probe, error);
      }
      this.queue.shift();
      this.forget(probe);
      committed++;
    }
    this.delayMs = this.initialDelayMs;
    this.droppedSinceEmpty = 0;
    return committed;
  }

  /** Stops the retry timer (shutdown: call flush() once more first). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private enqueue(waiting: PendingProbe): void {
    // The parsed body (up to 1 MiB) served the classifier and is never stored: a waiting probe keeps ~2 KB.
    const { http } = waiting.observation;
    const probe = http?.json != null ? { ...waiting, observation: { ...waiting.observation, http: { ...http, json: null } } } : waiting;
    const name = probe.observation.connection;
    this.queue.push(probe);
    this.live.set(name, probe.next);
    this.waiting.set(name, (this.waiting.get(name) ?? 0) + 1);
    while (this.queue.length > this.bound) {
      const oldest = this.queue.shift()!;
      this.droppedCount++;
      this.forget(oldest);
      if (++this.droppedSinceEmpty === 1) this.options.onDropped?.(oldest, 'bound');
    }
    this.schedule();
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

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.delayMs);
    this.timer.unref();
  }
}
