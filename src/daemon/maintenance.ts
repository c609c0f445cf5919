// The daemon's periodic upkeep, each on its own timer and each surviving a failing database: the incident sweep
// (reminders, Alertmanager re-sends, the outbox gauge), the history's upkeep (hourly roll-ups, then pruning by
// retention: rollup-job.ts), the Slack grouping pass, and the
// periodic fsync of the write-ahead log.
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { AuthwatchMetrics } from '../metrics/metrics.js';
import type { Notifier } from '../notify/registry.js';
import { isStorageError, type StorageHealth } from '../store/health.js';
import type { Store } from '../store/store.js';
import { reportRenderFailures, sweepIncidents } from './notifications.js';
import { maintainHistory } from './rollup-job.js';
import { flushSlackGroups, SLACK_GROUPING_PASS_MS } from './slack-groups.js';

const HOUR_MS = 3_600_000;
/** How often the WAL is fsynced: the most probe-only history a power cut can take (docs/reliability.md). */
export const WAL_SYNC_INTERVAL_MS = 10_000;

export interface MaintenanceContext {
  store: Store;
  health: StorageHealth;
  logger: Logger;
  metrics: AuthwatchMetrics;
  sweepIntervalMs: number;
  now: () => Date;
  /** The running config and notifiers (a reload replaces them). */
  config: () => Config;
  notifiers: () => readonly Notifier[];
  stopping: () => boolean;
  /** Rows were written to the outbox. */
  wake: () => void;
  refreshOutboxGauge: () => void;
}

/** Starts every upkeep timer (the sweep and pruning also run once now); the returned function stops them all. */
export function startMaintenance(context: MaintenanceContext): () => void {
  const { store, health, logger, now, stopping } = context;
  let previousSweepAt: Date | null = null;
  const sweep = () => {
    if (stopping()) return;
    try {
      const at = now();
      const enqueued = sweepIncidents(store, context.config(), context.notifiers(), at, previousSweepAt, (failures) => reportRenderFailures(failures, logger, context.metrics));
      previousSweepAt = at;
      if (enqueued > 0) context.wake();
      context.refreshOutboxGauge();
    } catch (error) {
      if (isStorageError(error)) health.failed('incident sweep', error);
      else logger.error('incident sweep failed', { error });
    }
  };
  let upkeep: Promise<void> | null = null;
  const prune = () => (upkeep ??= maintain().finally(() => (upkeep = null)));
  const maintain = async () => {
    if (stopping()) return;
    try {
      const { storage } = context.config();
      const at = now();
      const done = await maintainHistory(store, storage, at, () => !stopping());
      // Shutdown may have closed the database between two batches: the rest waits for the next start.
      if (stopping()) return;
      const outbox = store.pruneOutbox(new Date(at.getTime() - storage.retentionMs));
      if (done.probes > 0 || outbox > 0 || done.rollups > 0) logger.info('pruned old rows', { probes: done.probes, outbox, rollups: done.rollups, hoursRolledUp: done.hours });
      else if (done.hours > 0) logger.debug('rolled up', { hours: done.hours });
    } catch (error) {
      if (stopping()) return;
      if (isStorageError(error)) health.failed('roll up and prune history', error);
      else logger.error('pruning failed', { error });
    }
  };
  let previousGroupingAt: Date | null = null;
  const group = () => {
    if (stopping()) return;
    try {
      const at = now();
      const written = flushSlackGroups(store, context.config(), context.notifiers(), at, previousGroupingAt);
      previousGroupingAt = at;
      if (written > 0) context.wake();
    } catch (error) {
      if (isStorageError(error)) health.failed('group Slack notifications', error);
      else logger.error('Slack grouping pass failed', { error });
    }
  };
  const sync = () => {
    if (stopping()) return;
    try {
      store.syncToDisk();
    } catch (error) {
      health.failed('fsync the write-ahead log', error);
    }
  };
  sweep();
  void prune();
  const timers = [
    setInterval(group, SLACK_GROUPING_PASS_MS),
    setInterval(sweep, context.sweepIntervalMs),
    setInterval(() => void prune(), HOUR_MS),
    setInterval(sync, WAL_SYNC_INTERVAL_MS),
  ];
  for (const timer of timers) timer.unref();
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
