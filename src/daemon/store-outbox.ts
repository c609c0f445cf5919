// The dispatcher's view of the store's outbox table: each (channel, target) lane is delivered strictly in order,
// so a head waiting for its retry holds back the rows after it; and the daemon's dispatcher over it.
import type { Logger } from '../log/logger.js';
import type { AuthwatchMetrics } from '../metrics/metrics.js';
import { Dispatcher, type OutboxItem, type OutboxPort } from '../notify/dispatcher.js';
import type { Notifier } from '../notify/registry.js';
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

export interface DispatcherWiring {
  store: OutboxStore;
  health: StorageHealth;
  metrics: AuthwatchMetrics;
  logger: Logger;
  now: () => Date;
  /** The running notifiers (a reload replaces them). */
  notifiers: () => readonly Notifier[];
  /** After a pass that changed rows: "Slack is down" shows in the outbox gauge within seconds, not at the next sweep. */
  onPass: () => void;
}

/** The daemon's dispatcher: the outbox over the store, each attempt logged and counted. */
export function dispatcherOverStore({ store, health, metrics, logger, now, notifiers, onPass }: DispatcherWiring): Dispatcher {
  return new Dispatcher({
    outbox: new StoreOutbox(store, health),
    notifiers,
    clock: now,
    // A row of a channel a reload removed is failed (and logged) without bringing its metric series back.
    onResult: (channel, result) => {
      if (notifiers().some((notifier) => notifier.channel === channel)) metrics.notification(channel, result);
    },
    onAttempt: (attempt) => {
      const fields = { channel: attempt.channel, target: attempt.target, id: attempt.id, attempts: attempt.attempts, reason: attempt.reason };
      if (attempt.outcome === 'delivered') logger.info('notification delivered', fields);
      else logger.warn(attempt.outcome === 'failed' ? 'notification failed' : 'notification will be retried', { ...fields, nextAttemptAt: attempt.nextAttemptAt });
    },
    onPass,
    onError: (error) => logger.error('outbox pass failed', { error }),
    onUnrecorded: (id, error) => logger.debug('notification answer kept in memory until the outbox can record it', { id, error }),
  });
}
