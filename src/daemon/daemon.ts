// The composition root: the only place that wires config, store, probers, scheduler, metrics, notifiers and
// the HTTP server together, and the daemon's lifecycle (start, SIGHUP reload, shutdown).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, loadConfigFile, secretsOf, storagePathProblem, type Config, type Connection } from '../config/load.js';
import { readSecret } from '../config/secrets.js';
import type { AppLogger } from '../log/logger.js';
import { AuthwatchMetrics } from '../metrics/metrics.js';
import { buildNotifiers, type Notifier } from '../notify/registry.js';
import { Dispatcher } from '../notify/dispatcher.js';
import { slackSecretRefs } from '../notify/slack/destinations.js';
import { createProber, SecureContextCache, type Prober } from '../probe/prober.js';
import { startHttpServer, type HttpServerHandle } from '../server/http.js';
import { outcomeView, readModelOverStore, statusReadModelOverStore } from '../server/store-read-model.js';
import type { ProbeNowView } from '../server/probe-now.js';
import { openStore, type Store } from '../store/store.js';
import { commitProbe, runCycle, type CycleDeps, type CycleResult } from './cycle.js';
import { withPendingProbes } from './pending-store-reads.js';
import { DEFAULT_RECORD_QUEUE_BOUND, RecordQueue } from './record-queue.js';
import { isStorageError, StorageHealth } from '../store/health.js';
import { registerStorageMetrics } from '../metrics/storage-metrics.js';
import { Scheduler } from './scheduler.js';
import { planNotifications, reportRenderFailures, sweepIncidents } from './notifications.js';
import { flushSlackGroups, SLACK_GROUPING_PASS_MS } from './slack-groups.js';
import { StoreOutbox } from './store-outbox.js';
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

const HOUR_MS = 3_600_000;
/** How often the WAL is fsynced: the most probe-only history a power cut can take (docs/reliability.md). */
export const WAL_SYNC_INTERVAL_MS = 10_000;

export class Daemon {
  private readonly probers = new Map<string, { prober: Prober; fingerprint: string }>();
  /** One TLS context per distinct tls settings, shared by every prober. */
  private readonly secureContexts = new SecureContextCache();
  /** The running config's connections by name (a tick looks its connection up; 10,000 ticks a minute). */
  private connectionsByName = new Map<string, Connection>();
  private notifiers: readonly Notifier[] = [];
  /** The configured channels: the only ones with an authwatch_outbox_pending series. */
  private channels: readonly Channel[] = [];
  /** What every cycle needs; rebuilt when a config is applied. */
  private deps: CycleDeps | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private groupingTimer: NodeJS.Timeout | null = null;
  private ready = false;
  private stopping = false;
  private readonly records: RecordQueue;

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
    this.records = new RecordQueue({
      health,
      commit: (probe) => commitProbe(this.deps!, probe),
      loadState: (name) => store.loadState(name),
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
    const dispatcher = new Dispatcher({
      outbox: new StoreOutbox(store, health),
      notifiers: () => daemon?.notifiers ?? [],
      clock: now,
      // A row of a channel a reload removed is failed (and logged) without bringing its metric series back.
      onResult: (channel, result) => {
        if (daemon?.notifiers.some((notifier) => notifier.channel === channel)) metrics.notification(channel, result);
      },
      onAttempt: (attempt) => {
        const fields = { channel: attempt.channel, target: attempt.target, id: attempt.id, attempts: attempt.attempts, reason: attempt.reason };
        if (attempt.outcome === 'delivered') logger.info('notification delivered', fields);
        else logger.warn(attempt.outcome === 'failed' ? 'notification failed' : 'notification will be retried', { ...fields, nextAttemptAt: attempt.nextAttemptAt });
      },
      // The gauge follows every pass that changed rows, not only the sweep: "Slack is down" shows within seconds.
      onPass: () => daemon?.refreshOutboxGauge(),
      onError: (error) => logger.error('outbox pass failed', { error }),
      onUnrecorded: (id, error) => logger.debug('notification answer kept in memory until the outbox can record it', { id, error }),
    });
    daemon = new Daemon(config, settings, store, metrics, scheduler, dispatcher, null, health);
    const started = daemon;
    registerStorageMetrics(metrics.registry, health, { probes: () => started.records.size, notifications: () => dispatcher.unrecordedCount });
    try {
      // Listen first: a taken port must stop the start before any probe is scheduled.
      started.server = await startHttpServer({
        host: config.listen.host,
        port: config.listen.port,
        metrics,
        readModel: readModelOverStore(withPendingProbes(store, started.records)),
        statusPage: statusReadModelOverStore({
          ...withPendingProbes(store, started.records),
          connectionSummary: (name) => store.connectionSummary(name),
          hourlyOutcomeCounts: (names, since) => store.hourlyOutcomeCounts(names, since),
          lastOkProbe: (name) => store.lastOkProbe(name),
          openIncidents: (name) => store.openIncidents(name),
          incidentNotifications: (ids) => store.incidentNotifications(ids),
        }),
        isReady: () => started.ready,
        degraded: () => started.degraded(),
        isAlive: () => !started.stopping,
        logger,
        secrets: logger.secrets,
        probeNow: (name) => started.probeNow(name),
      });
      started.apply(config);
      metrics.configReloaded(true, now());
      for (const warning of config.warnings) logger.warn(warning);
      dispatcher.start();
      started.startMaintenance();
    } catch (error) {
      await started.abandonStart();
      throw error;
    }
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
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.groupingTimer) clearInterval(this.groupingTimer);
    const abandoned = await this.scheduler.stop(this.options.shutdownGraceMs);
    if (abandoned.length > 0) logger.warn('probes abandoned at shutdown', { connections: abandoned });
    // Last chance for what waits in memory; what the database still refuses is lost with the process (logged).
    this.records.flush();
    this.records.stop();
    if (this.records.size > 0) logger.error('probe records lost at shutdown: storage still failing', { probes: this.records.size });
    await this.dispatcher.stop();
    if (this.dispatcher.unrecordedCount > 0) {
      logger.error('notification records lost at shutdown: storage still failing; these may be sent again after the restart', { notifications: this.dispatcher.unrecordedCount });
    }
    await this.server?.close();
    for (const { prober } of this.probers.values()) prober.close();
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
    // While storage fails the newest state is the one waiting in memory, and the database may not answer at all.
    const state = this.records.pendingOf(name).at(-1)?.next ?? this.store.loadState(name);
    this.options.logger.info('probe requested through the API', { connection: name, result: result.kind });
    if (result.kind === 'skipped') {
      return { connection: name, result: 'skipped', backoffUntil: result.until, outcome: null, state: state.state, change: null, probedAt: null };
    }
    return {
      connection: name,
      result: result.kind,
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
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.groupingTimer) clearInterval(this.groupingTimer);
    await this.scheduler.stop(0);
    this.records.stop();
    await this.dispatcher.stop();
    await this.server?.close();
    for (const { prober } of this.probers.values()) prober.close();
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
    this.registerSecrets(config, env);
    const notifiers = buildNotifiers(config.alerting, { env, threads: this.store.slackGroups() });
    const fingerprintKey = this.store.fingerprintKey();
    const { added, removed } = this.health.track('record the configured connections', () => this.store.upsertConnections(config.connections, this.now()));
    const states = this.store.loadStates();
    if (added.length > 0 || removed.length > 0) this.options.logger.info('connections changed', { added, removed });
    // A reload reads the CA files again (a renewed corporate CA takes effect on SIGHUP).
    this.secureContexts.clear();
    const wanted = new Map(config.connections.map((connection) => [connection.name, connection]));
    for (const [name, entry] of this.probers) {
      const connection = wanted.get(name);
      if (!connection || JSON.stringify(connection) !== entry.fingerprint) {
        entry.prober.close();
        this.probers.delete(name);
      }
    }
    for (const connection of config.connections) {
      if (!this.probers.has(connection.name)) {
        this.probers.set(connection.name, { prober: createProber(connection, { fingerprintKey, env, secureContexts: this.secureContexts }), fingerprint: JSON.stringify(connection) });
      }
    }
    this.config = config;
    this.connectionsByName = wanted;
    this.notifiers = notifiers;
    this.channels = [...new Set(notifiers.map((notifier) => notifier.channel))];
    this.metrics.detail = config.metrics?.detail ?? false;
    this.metrics.setConnections(config.connections);
    this.metrics.setChannels(this.channels);
    for (const connection of config.connections) {
      const state = this.records.size > 0 ? this.records.stateOf(connection.name) : states.get(connection.name);
      if (state) this.metrics.recordState(connection.name, state);
    }
    this.deps = this.cycleDeps();
    this.scheduler.sync(
      config.connections.map((connection) => ({
        name: connection.name,
        schedule: connection.schedule,
        run: async () => {
          const entry = this.probers.get(connection.name);
          const current = this.connectionsByName.get(connection.name);
          if (!entry || !current || this.stopping) return null;
          this.registerConnectionSecrets(current, this.options.env ?? process.env);
          return runCycle(this.deps!, current, entry.prober);
        },
      })),
    );
  }

  private cycleDeps(): CycleDeps {
    return {
      store: this.store,
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

  /** Every secret the daemon may come across is masked in every log line and API response. */
  private registerSecrets(config: Config, env: NodeJS.ProcessEnv): void {
    const { secrets } = this.options.logger;
    for (const connection of config.connections) this.registerConnectionSecrets(connection, env);
    for (const { ref } of config.alerting.slack ? slackSecretRefs(config.alerting.slack) : []) {
      const secret = readSecret(ref, env);
      if (secret.ok) secrets.register(secret.value);
    }
  }

  /** Also before each cycle: a secret file fixed since the last reload is masked before its probe can log anything. */
  private registerConnectionSecrets(connection: Connection, env: NodeJS.ProcessEnv): void {
    const { secrets } = this.options.logger;
    for (const [, ref] of secretsOf(connection.auth)) {
      const secret = readSecret(ref, env);
      if (!secret.ok) continue;
      if (connection.auth.type === 'basic') secrets.registerBasicCredential(connection.auth.username, secret.value);
      else secrets.register(secret.value);
    }
  }

  private refreshOutboxGauge(): void {
    if (this.stopping) return;
    const counts = this.store.outboxCounts();
    const oldest = this.store.outboxOldestPending();
    // Rows of a channel no longer configured are failed by the dispatcher; the channel gets no series back.
    for (const channel of this.channels) this.metrics.setOutboxPending(channel, counts[channel]?.pending ?? 0, oldest[channel] ?? null);
  }

  private startMaintenance(): void {
    const { logger } = this.options;
    let previousSweepAt: Date | null = null;
    const sweep = () => {
      if (this.stopping) return;
      try {
        const now = this.now();
        const enqueued = sweepIncidents(this.store, this.config, this.notifiers, now, previousSweepAt, (failures) => reportRenderFailures(failures, logger, this.metrics));
        previousSweepAt = now;
        if (enqueued > 0) this.dispatcher.wake();
        this.refreshOutboxGauge();
      } catch (error) {
        if (isStorageError(error)) this.health.failed('incident sweep', error);
        else logger.error('incident sweep failed', { error });
      }
    };
    const prune = async () => {
      if (this.stopping) return;
      try {
        const cutoff = new Date(this.now().getTime() - this.config.storage.retentionMs);
        const pruned = await this.store.pruneProbes(cutoff, undefined, () => !this.stopping);
        // Shutdown may have closed the database between two batches: the rest waits for the next start.
        if (this.stopping) return;
        const outbox = this.store.pruneOutbox(cutoff);
        if (pruned > 0 || outbox > 0) logger.info('pruned old rows', { probes: pruned, outbox });
      } catch (error) {
        if (this.stopping) return;
        if (isStorageError(error)) this.health.failed('prune old probes', error);
        else logger.error('pruning failed', { error });
      }
    };
    let previousGroupingAt: Date | null = null;
    const group = () => {
      if (this.stopping) return;
      try {
        const now = this.now();
        const written = flushSlackGroups(this.store, this.config, this.notifiers, now, previousGroupingAt);
        previousGroupingAt = now;
        if (written > 0) this.dispatcher.wake();
      } catch (error) {
        if (isStorageError(error)) this.health.failed('group Slack notifications', error);
        else logger.error('Slack grouping pass failed', { error });
      }
    };
    sweep();
    void prune();
    this.groupingTimer = setInterval(group, SLACK_GROUPING_PASS_MS);
    this.groupingTimer.unref();
    this.sweepTimer = setInterval(sweep, this.options.sweepIntervalMs);
    this.pruneTimer = setInterval(() => void prune(), HOUR_MS);
    this.syncTimer = setInterval(() => {
      if (this.stopping) return;
      try {
        this.store.syncToDisk();
      } catch (error) {
        this.health.failed('fsync the write-ahead log', error);
      }
    }, WAL_SYNC_INTERVAL_MS);
    this.sweepTimer.unref();
    this.pruneTimer.unref();
    this.syncTimer.unref();
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
