// The dispatcher's view of the store's outbox table. Each row's payload holds the notifier lane (target) it
// belongs to; a lane is delivered strictly in order, so a head waiting for its retry holds back the rows after it.
import type { OutboxItem, OutboxPort } from '../notify/dispatcher.js';
import type { Store } from '../store/store.js';
import type { StoredPayload } from './notifications.js';

// Stored instants compare as ISO strings, so the far future must be a four-digit year.
const EVERYTHING_PENDING = new Date('9999-12-31T23:59:59.999Z');

export class StoreOutbox implements OutboxPort {
  constructor(private readonly store: Store) {}

  due(now: Date, limit: number): OutboxItem[] {
    const heads = new Map<string, OutboxItem & { nextAttemptAt: string }>();
    for (const row of this.store.pendingOutbox(EVERYTHING_PENDING, undefined, 10_000).sort((a, b) => a.id - b.id)) {
      const payload = row.payload as StoredPayload;
      const lane = `${row.channel}\u0000${payload.target}`;
      if (heads.has(lane)) continue;
      heads.set(lane, {
        id: row.id,
        channel: row.channel,
        target: payload.target,
        payload: payload.body,
        attempts: row.attempts,
        createdAt: new Date(row.createdAt),
        nextAttemptAt: row.nextAttemptAt,
      });
    }
    return [...heads.values()]
      .filter((head) => Date.parse(head.nextAttemptAt) <= now.getTime())
      .slice(0, limit)
      .map(({ nextAttemptAt: _next, ...item }) => item);
  }

  markDelivered(id: number, at: Date): void {
    this.store.markDelivered(id, at);
  }

  scheduleRetry(id: number, _attempts: number, nextAttemptAt: Date, error: string): void {
    this.store.markAttemptFailed(id, error, nextAttemptAt);
  }

  markFailed(id: number, at: Date, error: string): void {
    this.store.markFailed(id, error, at);
  }
}
