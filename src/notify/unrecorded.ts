// What a channel answered that the outbox could not record yet (the database was locked, full, read-only).
// The answer is kept in memory and its write retried with back-off; meanwhile the row is held back from the
// dispatcher: one the channel accepted (or rejected) is never sent again, one it asked to retry not before
// its next attempt time. Only a crash while an answer waits here can still repeat a message (docs/reliability.md).

export interface UnrecordedOptions {
  /** Delay after the first failed write; doubles after each further one. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

interface Entry {
  write: () => void;
  /** null: held until recorded (delivered or failed); a time: held until then (a retry). */
  holdUntil: number | null;
  failures: number;
  nextTryAt: number;
}

export class UnrecordedOutcomes {
  private readonly entries = new Map<number, Entry>();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: UnrecordedOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes the outcome of row `id` now; if the write throws, keeps it for flush() and returns the error. */
  record(id: number, write: () => void, holdUntil: Date | null, now: Date): unknown {
    try {
      write();
      this.entries.delete(id);
      return null;
    } catch (error) {
      // A newer outcome of the same row replaces an older unrecorded one.
      this.entries.set(id, { write, holdUntil: holdUntil?.getTime() ?? null, failures: 1, nextTryAt: now.getTime() + this.initialDelayMs });
      return error;
    }
  }

  /** Whether the dispatcher must not pick row `id` now. */
  holds(id: number, now: Date): boolean {
    const entry = this.entries.get(id);
    return entry !== undefined && (entry.holdUntil === null || entry.holdUntil > now.getTime());
  }

  /**
   * Retries the writes that are due (all of them with `force`), oldest row first; stops at the first failure,
   * which is returned (the storage is still unavailable: the rest waits for the next try).
   */
  flush(now: Date, force = false): unknown {
    for (const [id, entry] of [...this.entries].sort(([a], [b]) => a - b)) {
      if (!force && entry.nextTryAt > now.getTime()) continue;
      try {
        entry.write();
        this.entries.delete(id);
      } catch (error) {
        entry.failures++;
        entry.nextTryAt = now.getTime() + Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(entry.failures - 1, 20));
        return error;
      }
    }
    return null;
  }
}
