// An outbox kept in memory, with the same contract as the store's table: dedupe keys, FIFO lanes,
// retry times. For `authwatch test-alert` (nothing to persist) and for tests of the dispatcher.
import type { OutboxItem, OutboxPort } from './dispatcher.js';
import type { NewOutboxEntry } from './registry.js';

export type OutboxStatus = 'pending' | 'delivered' | 'failed';

export interface MemoryOutboxRow extends OutboxItem {
  dedupeKey: string;
  status: OutboxStatus;
  nextAttemptAt: Date;
  lastError: string | null;
  finishedAt: Date | null;
}

export class MemoryOutbox implements OutboxPort {
  private readonly rows: MemoryOutboxRow[] = [];
  private nextId = 1;

  /** Adds a row unless its dedupe key was used before; returns the row, or null for a duplicate. */
  enqueue(entry: NewOutboxEntry, now: Date): MemoryOutboxRow | null {
    if (this.rows.some((row) => row.dedupeKey === entry.dedupeKey)) return null;
    const row: MemoryOutboxRow = {
      id: this.nextId++,
      channel: entry.channel,
      target: entry.target,
      payload: structuredClone(entry.payload),
      attempts: 0,
      createdAt: now,
      dedupeKey: entry.dedupeKey,
      status: 'pending',
      nextAttemptAt: now,
      lastError: null,
      finishedAt: null,
    };
    this.rows.push(row);
    return row;
  }

  due(now: Date, limit: number): OutboxItem[] {
    const heads = new Map<string, MemoryOutboxRow>();
    for (const row of this.rows) {
      const lane = `${row.channel}\u0000${row.target}`;
      if (row.status === 'pending' && !heads.has(lane)) heads.set(lane, row);
    }
    return [...heads.values()]
      .filter((row) => row.nextAttemptAt.getTime() <= now.getTime())
      .sort((a, b) => a.id - b.id)
      .slice(0, limit)
      .map(({ id, channel, target, payload, attempts, createdAt }) => ({ id, channel, target, payload: structuredClone(payload), attempts, createdAt }));
  }

  markDelivered(id: number, at: Date): void {
    const row = this.pending(id);
    row.status = 'delivered';
    row.attempts += 1;
    row.finishedAt = at;
  }

  scheduleRetry(id: number, attempts: number, nextAttemptAt: Date, error: string): void {
    const row = this.pending(id);
    row.attempts = attempts;
    row.nextAttemptAt = nextAttemptAt;
    row.lastError = error;
  }

  markFailed(id: number, at: Date, error: string): void {
    const row = this.pending(id);
    row.status = 'failed';
    row.attempts += 1;
    row.lastError = error;
    row.finishedAt = at;
  }

  list(): readonly MemoryOutboxRow[] {
    return this.rows;
  }

  pendingCount(channel?: OutboxItem['channel']): number {
    return this.rows.filter((row) => row.status === 'pending' && (channel === undefined || row.channel === channel)).length;
  }

  private pending(id: number): MemoryOutboxRow {
    const row = this.rows.find((candidate) => candidate.id === id);
    if (!row) throw new Error(`outbox row ${id} does not exist`);
    if (row.status !== 'pending') throw new Error(`outbox row ${id} is already ${row.status}`);
    return row;
  }
}
