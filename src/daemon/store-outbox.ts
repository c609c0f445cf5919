// The dispatcher's view of the store's outbox table: each (channel, target) lane is delivered strictly in order,
// so a head waiting for its retry holds back the rows after it.
import type { OutboxItem, OutboxPort } from '../notify/dispatcher.js';
import type { StorageHealth } from '../store/health.js';
import type { OutboxStore } from '../store/ports.js';

export class StoreOutbox implements OutboxPort {
  constructor(
    private readonly store: OutboxStore,
    /** Every write reports to it (a failure starts a storage episode, a success ends it). */
    private readonly health?: StorageHealth,
  ) {}

  due(now: Date, limit: number): OutboxItem[] {
    return this.store.outboxLaneHeads(now, limit).map((row) => ({
      id: row.id,
      channel: row.channel,
      target: row.target,
      payload: row.payload,
      attempts: row.attempts,
      createdAt: new Date(row.createdAt),
    }));
  }

  markDelivered(id: number, at: Date): void {
    this.write('record a notification delivered', () => this.store.markDelivered(id, at));
  }

  scheduleRetry(id: number, _attempts: number, nextAttemptAt: Date, error: string): void {
    this.write('record a notification retry', () => this.store.markAttemptFailed(id, error, nextAttemptAt));
  }

  markFailed(id: number, at: Date, error: string): void {
    this.write('record a notification failed', () => this.store.markFailed(id, error, at));
  }

  private write(operation: string, write: () => unknown): void {
    if (this.health) this.health.track(operation, write);
    else write();
  }
}
