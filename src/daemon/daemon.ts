// The composition root: the only place that wires config, store, probers, scheduler, metrics, notifiers and
// the HTTP server together, and the daemon's lifecycle (start, SIGHUP reload, shutdown).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, loadConfigFile, storagePathProblem, type Config, type Connection } from '../config/load.js';
import type { AppLogger } from '../log/logger.js';
import { AuthwatchMetrics } from '../metrics/metrics.js';
import { buildNotifiers, type Notifier } from '../notify/registry.js';
import type { Dispatcher } from '../notify/dispatcher.js';
import { startHttpServer, type HttpServerHandle } from '../server/http.js';
import { outcomeView } from '../server/store-read-model.js';
import type { ProbeNowView } from '../server/probe-now.js';
import { DEFAULT_BUSY_TIMEOUT_MS } from '../store/db.js';
import { openStore, type Store } from '../store/store.js';
import { commitProbe, runCycle, type CycleDeps, type CycleResult } from './cycle.js';
import { CycleCache } from './cycle-cache.js';
import { heapLimitWarning } from './heap-budget.js';
import { startMaintenance } from './maintenance.js';
import { readModelsWithPendingProbes } from './pending-store-reads.js';
import { DEFAULT_RECORD_QUEUE_BOUND, RecordQueue } from './record-queue.js';
import { StorageHealth } from '../store/health.js';
import { registerStorageMetrics } from '../metrics/storage-metrics.js';
import { Scheduler } from './scheduler.js';
import { planNotifications } from './notifications.js';
import { ProberPool, registerSecrets } from './probers.js';
import { dispatcherOverStore } from './store-outbox.js';
import { ownedBy, type Shard } from './shard.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { Channel } from '../notify/types.js';
import type { StateChange } from '../state/types.js';

export interface DaemonOptions {
  configPath: string;
  logger: AppLogger;
  env?: NodeJS.ProcessEnv;
  /** Global cap on probes in flight; null or absent: derived from the schedules and probe durations. */
  concurrency?: number | null;
  /** Upper bound of the per-connection start offset inside its schedule period. */
  maxSpreadMs?: number;
  /** How long shutdown waits for probes in flight before abandoning them. */
  shutdownGraceMs?: number;
  /** How often open incidents are re-evaluated for reminders and Alertmanager re-sends, and the outbox gauge set. */
  sweepIntervalMs?: number;
  onStateChange?: (connection: Connection, change: StateChange, diagnosis: Diagnosis) => void;
  /** Probe only this replica's share of the connections (docs/behaviour.md, Daemon). */
  shard?: Shard | null;
  now?: () => Date;
}

export { WAL_SYNC_INTERVAL_MS } from './maintenance.js';
/**
 * The running daemon's SQLite busy timeout: a write that meets another process's lock fails after this long and is
 * retried later from memory (RecordQueue), so the event loop is never held for the 5 s start-up default.
 */
export const RUNNING_BUSY_TIMEOUT_MS = 20;

export class Daemon {
  private readonly probers: ProberPool;
  /** The running config's connections by name (a tick looks its connection up; 10,000 ticks a minute). */
  private connectionsByName = new Map<string, Connection>();
  private notifiers: readonly Notifier[] = [];
  /** The configured channels: the only ones with an authwatch_outbox_pending series. */
  private channels: readonly Channel[] = [];
  /** What every cycle needs; rebuilt when a config is applied. */
  private deps: CycleDeps | null = null;
  private stopMaintenance: (() => void) | null = null;
  private ready = false;
  private stopping = false;
  private readonly records: RecordQueue;
  /** Each connection's state, last ok probe and open incidents: what a cycle reads, in memory. */
  private readonly cycleStore: CycleCache;

  private constructor(
    private config: Config,
    private readonly options: Required<Pick<DaemonOptions, 'concurrency' | 'maxSpreadMs' | 'shutdownGraceMs' | 'sweepIntervalMs'>> & DaemonOptions,
    readonly store: Store,
    readonly metrics: AuthwatchMetrics,
    private readonly scheduler: Scheduler,
    private readonly dispatcher: Dispatcher,
    private server: HttpServerHandle | null,
    private readonly health: StorageHealth,
  ) {
    const { logger } = options;
    this.probers = new ProberPool(logger.secrets);
    this.cycleStore = new CycleCache(store);
    this.records = new RecordQueue({
      health,
      commit: (probe) => commitProbe(this.deps!, probe),
      batch: (work) => this.cycleStore.batch(work),
      sync: () => store.syncToDisk(),
      loadState: (name) => this.cycleStore.loadState(name),
      isConfigured: (connection) => this.connectionsByName.get(connection.name) === connection,
      onCommitError: (probe, error) => logger.error('probe cycle failed', { connection: probe.connection.name, error }),
      onDropped: (probe, reason) =>
        logger.warn(reason === 'bound' ? `probe records dropped: more than ${DEFAULT_RECORD_QUEUE_BOUND} probes wait for storage; the oldest are dropped until it returns` : 'queued probe record dropped: its connection was changed or removed', {
          connection: probe.connection.name,
          startedAt: probe.observation.startedAt,
        }),
    });
  }

  /**
   * Loads the config (throws ConfigError), opens and migrates the database (throws StoreError), listens (throws
   * the listen error), then starts probing. A failure leaves nothing running: no probe, timer or open database.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const settings = { concurrency: null, maxSpreadMs: 60_000, shutdownGraceMs: 10_000, sweepIntervalMs: 30_000, ...options };
    const { logger } = options;
    const now = options.now ?? (() => new Date());
    const config = loadConfigFile(options.configPath);
    prepareStorageDir(config);
    const store = openStore(config.storage.path);
    const metrics = new AuthwatchMetrics({ detail: config.metrics?.detail, schedulePeriodSeconds: (name) => scheduler.periodSeconds(name) });
    const health = new StorageHealth(now);
    health.listen({
      onEpisodeStart: (episode) => logger.error('storage failing: probe results and notification records wait in memory', { kind: episode.kind, operation: episode.operation, error: episode.message }),
      onEpisodeEnd: (episode, endedAt) =>
        logger.info('storage recovered', { kind: episode.kind, failedWrites: episode.errors, seconds: (endedAt.getTime() - episode.since.getTime()) / 1000 }),
    });
    let daemon: Daemon | null = null;
    const scheduler = new Scheduler({
      concurrency: settings.concurrency,
      maxSpreadMs: settings.maxSpreadMs,
      onStartDelay: (seconds) => metrics.observeStartDelay(seconds),
      onSkippedOverlap: (name) => logger.warn('probe still running at its next scheduled time; tick skipped', { connection: name }),
      onError: (name, error) => logger.error('probe cycle failed', { connection: name, error }),
      now: () => now().getTime(),
    });
    const dispatcher = dispatcherOverStore({ store, health, metrics, logger, now, notifiers: () => daemon?.notifiers ?? [], onPass: () => daemon?.refreshOutboxGauge() });
    daemon = new Daemon(config, settings, store, metrics, scheduler, dispatcher, null, health);
    const started = daemon;
    registerStorageMetrics(metrics.registry, health, { probes: () => started.records.size, notifications: () => dispatcher.unrecordedCount });
    try {
      // Listen first: a taken port must stop the start before any probe is scheduled.
      started.server = await startHttpServer({
        host: config.listen.host,
        port: config.listen.port,
        metrics,
        ...readModelsWithPendingProbes(store, started.records),
        isReady: () => started.ready,
        degraded: () => started.degraded(),
        isAlive: () => !started.stopping,
        logger,
        secrets: logger.secrets,
        probeNow: (name) => started.probeNow(name),
      });
      started.cycleStore.preload();
      started.apply(config);
      metrics.configReloaded(true, now());
      for (const warning of config.warnings) logger.warn(warning);
      dispatcher.start();
      started.startMaintenance();
    } catch (error) {
      await started.abandonStart();
      throw error;
    }
    store.setBusyTimeout(RUNNING_BUSY_TIMEOUT_MS);
    started.ready = true;
    scheduler.kickoff(scheduler.names());
    logger.info('authwatch started', {
      connections: config.connections.length,
      listen: started.url,
      database: config.storage.path,
      channels: started.channels,
    });
    return started;
  }

  get url(): string {
    return this.server?.url ?? '';
  }

  /** SIGHUP: a valid config replaces the running one; an invalid one is logged and the old one stays. */
  reload(): boolean {
    const { logger } = this.options;
    const now = this.now();
    let next: Config;
    try {
      next = loadConfigFile(this.options.configPath);
    } catch (error) {
      this.metrics.configReloaded(false, now);
      const issues = (error as { describe?: () => string }).describe?.() ?? (error as Error).message;
      logger.error('config reload rejected; the previous config stays in force', { problems: issues });
      return false;
    }
    if (next.listen.host !== this.config.listen.host || next.listen.port !== this.config.listen.port || next.storage.path !== this.config.storage.path) {
      logger.warn('server.listen and storage.path take effect only after a restart');
      next = { ...next, listen: this.config.listen, storage: this.config.storage };
    }
    const known = new Set(this.scheduler.names());
    // Probes made under the old config and waiting for their group commit are recorded under it (a probe of a
    // connection the reload removes was logged, so it belongs in its history).
    if (this.health.up) this.records.flush(true);
    try {
      this.apply(next);
    } catch (error) {
      // e.g. SQLITE_BUSY from another writer: apply changes nothing before the database accepted the new connections.
      this.metrics.configReloaded(false, now);
      logger.error('config reload failed; the previous config stays in force', { error });
      return false;
    }
    this.metrics.configReloaded(true, now);
    this.scheduler.kickoff(this.scheduler.names().filter((name) => !known.has(name)));
    for (const warning of next.warnings) logger.warn(warning);
    logger.info('config reloaded', { connections: next.connections.length });
    return true;
  }

  /** Stops probing, lets probes in flight finish (bounded), flushes the outbox pass in progress, closes the database. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    const { logger } = this.options;
    this.stopMaintenance?.();
    const abandoned = await this.scheduler.stop(this.options.shutdownGraceMs);
    if (abandoned.length > 0) logger.warn('probes abandoned at shutdown', { connections: abandoned });
    // Last chance for what waits in memory, with the patience of the start-up: what the database still refuses is
    // lost with the process (logged).
    this.store.setBusyTimeout(DEFAULT_BUSY_TIMEOUT_MS);
    this.records.flush(true);
    this.records.stop();
    if (this.records.size > 0) logger.error('probe records lost at shutdown: storage still failing', { probes: this.records.size });
    await this.dispatcher.stop();
    if (this.dispatcher.unrecordedCount > 0) {
      logger.error('notification records lost at shutdown: storage still failing; these may be sent again after the restart', { notifications: this.dispatcher.unrecordedCount });
    }
    await this.server?.close();
    this.probers.close();
    this.store.close();
    logger.info('authwatch stopped');
  }

  /**
   * One cycle of the connection now, through the scheduler (the concurrency cap, one cycle per connection at a
   * time), recorded and notified like a scheduled one; the lockout back-off still holds it. Secrets are read at
   * probe time, so a fixed secret file is what this probe sends.
   */
  async probeNow(name: string): Promise<ProbeNowView | null | 'unavailable'> {
    if (this.stopping) return 'unavailable';
    const connection = this.connectionsByName.get(name);
    if (!connection) return null;
    const run = await this.scheduler.runNow(name);
    if (run.status === 'unknown') return null;
    const result = run.status === 'ran' ? (run.value as CycleResult | null) : null;
    if (!result || result.kind === 'dropped' || this.stopping) return 'unavailable';
    // The answer says whether the probe is stored: wait for the group commit it joined (not for a back-off retry).
    if (result.kind === 'recorded') await this.records.whenSettled();
    const waiting = this.records.pendingOf(name);
    const kind = result.kind === 'skipped' ? 'skipped' : waiting.length > 0 ? 'queued' : 'recorded';
    // While storage fails the newest state is the one waiting in memory.
    const state = this.records.stateOf(name);
    this.options.logger.info('probe requested through the API', { connection: name, result: kind });
    if (result.kind === 'skipped') {
      return { connection: name, result: 'skipped', backoffUntil: result.until, outcome: null, state: state.state, change: null, probedAt: null };
    }
    return {
      connection: name,
      result: kind === 'queued' ? 'queued' : 'recorded',
      backoffUntil: null,
      outcome: outcomeView(result.diagnosis.outcome, result.diagnosis.class, result.diagnosis.detail, connection.deployment),
      state: state.state,
      change: result.change ? { from: result.change.from, to: result.change.to } : null,
      probedAt: state.lastProbeAt,
    };
  }

  /** After a failed start: nothing may keep probing, ticking or holding the database (0 grace: nothing ran yet). */
  private async abandonStart(): Promise<void> {
    this.stopping = true;
    this.stopMaintenance?.();
    await this.scheduler.stop(0);
    this.records.stop();
    await this.dispatcher.stop();
    await this.server?.close();
    this.probers.close();
    this.store.close();
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** /readyz's 503 body while storage fails; null when healthy. */
  private degraded(): Record<string, unknown> | null {
    const view = this.health.view();
    if (view.up) return null;
    return {
      status: 'degraded',
      reason: `storage failing (${view.degraded!.kind}): ${view.degraded!.message}`,
      storage: { ...view.degraded, pendingProbes: this.records.size, pendingNotificationRecords: this.dispatcher.unrecordedCount },
    };
  }

  /**
   * Makes `config` the running one: database rows, probers, scheduler jobs, metrics series, notifiers, secrets to
   * mask. What can fail (the database, the notifiers) comes before anything running is swapped, so a throw leaves
   * the previous config in force.
   */
  private apply(configured: Config): void {
    // An unchanged connection keeps its object, so a probe in flight across a reload still counts as current.
    const unchanged = (connection: Connection) => {
      const previous = this.connectionsByName.get(connection.name);
      return previous && JSON.stringify(previous) === JSON.stringify(connection) ? previous : connection;
    };
    const config = { ...configured, connections: ownedBy(configured.connections, this.options.shard ?? null).map(unchanged) };
    if (this.options.shard) {
      this.options.logger.info('shard', { shard: `${this.options.shard.index}/${this.options.shard.count}`, owned: config.connections.length, configured: configured.connections.length });
    }
    const env = this.options.env ?? process.env;
    registerSecrets(config, env, this.options.logger.secrets);
    const notifiers = buildNotifiers(config.alerting, { env, threads: this.store.slackGroups() });
    const fingerprintKey = this.store.fingerprintKey();
    const { added, removed } = this.health.track('record the configured connections', () => this.store.upsertConnections(config.connections, this.now()));
    if (added.length > 0 || removed.length > 0) this.options.logger.info('connections changed', { added, removed });
    const heap = heapLimitWarning(config.connections.length);
    if (heap) this.options.logger.warn(heap);
    this.probers.sync(config.connections, { fingerprintKey, env });
    const wanted = new Map(config.connections.map((connection) => [connection.name, connection]));
    this.config = config;
    this.connectionsByName = wanted;
    this.notifiers = notifiers;
    this.channels = [...new Set(notifiers.map((notifier) => notifier.channel))];
    this.metrics.detail = config.metrics?.detail ?? false;
    this.metrics.setConnections(config.connections);
    this.metrics.setChannels(this.channels);
    for (const name of removed) this.cycleStore.forget(name);
    for (const connection of config.connections) this.metrics.recordState(connection.name, this.records.stateOf(connection.name));
    this.deps = this.cycleDeps();
    this.scheduler.sync(
      config.connections.map((connection) => ({
        name: connection.name,
        schedule: connection.schedule,
        run: async () => {
          const prober = this.probers.get(connection.name);
          const current = this.connectionsByName.get(connection.name);
          if (!prober || !current || this.stopping) return null;
          return runCycle(this.deps!, current, prober);
        },
      })),
    );
  }

  private cycleDeps(): CycleDeps {
    return {
      store: this.cycleStore,
      metrics: this.metrics,
      logger: this.options.logger,
      planNotifications: (input) => planNotifications(input, { notifiers: this.notifiers, alerting: this.config.alerting }),
      alerting: this.config.alerting,
      now: () => this.now(),
      onEnqueued: () => this.dispatcher.wake(),
      records: this.records,
      isCurrent: (connection) => !this.stopping && this.connectionsByName.get(connection.name) === connection,
      onStateChange: this.options.onStateChange,
    };
  }

  private refreshOutboxGauge(): void {
    if (this.stopping) return;
    const counts = this.store.outboxCounts();
    const oldest = this.store.outboxOldestPending();
    // Rows of a channel no longer configured are failed by the dispatcher; the channel gets no series back.
    for (const channel of this.channels) this.metrics.setOutboxPending(channel, counts[channel]?.pending ?? 0, oldest[channel] ?? null);
  }

  private startMaintenance(): void {
    this.stopMaintenance = startMaintenance({
      store: this.store,
      health: this.health,
      logger: this.options.logger,
      metrics: this.metrics,
      sweepIntervalMs: this.options.sweepIntervalMs,
      now: () => this.now(),
      config: () => this.config,
      notifiers: () => this.notifiers,
      stopping: () => this.stopping,
      wake: () => this.dispatcher.wake(),
      refreshOutboxGauge: () => this.refreshOutboxGauge(),
    });
  }
}

/** storage.path as a config error (exit 2, the setting and the fix) when the database cannot be created there. */
function prepareStorageDir(config: Config): void {
  const unusable = (message: string) => new ConfigError(config.source, [{ path: 'storage.path', line: null, message }]);
  const problem = storagePathProblem(config.storage.path, true);
  if (problem) throw unusable(problem);
  try {
    mkdirSync(dirname(config.storage.path), { recursive: true });
  } catch (error) {
    throw unusable(`cannot create the directory of ${config.storage.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): create it for the user authwatch runs as, or choose another storage.path`);
  }
}
