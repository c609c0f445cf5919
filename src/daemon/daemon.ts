// The composition root: the only place that wires config, store, probers, scheduler, metrics, notifiers and
// the HTTP server together, and the daemon's lifecycle (start, SIGHUP reload, shutdown).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfigFile, secretsOf, type Config, type Connection } from '../config/load.js';
import { readSecret } from '../config/secrets.js';
import type { AppLogger } from '../log/logger.js';
import { AuthwatchMetrics } from '../metrics/metrics.js';
import { buildNotifiers, type Notifier } from '../notify/registry.js';
import { Dispatcher } from '../notify/dispatcher.js';
import { createProber, SecureContextCache, type Prober } from '../probe/prober.js';
import { startHttpServer, type HttpServerHandle } from '../server/http.js';
import { readModelOverStore } from '../server/store-read-model.js';
import { openStore, type Store } from '../store/store.js';
import { runCycle, type CycleDeps } from './cycle.js';
import { Scheduler } from './scheduler.js';
import { planNotifications, sweepIncidents } from './notifications.js';
import { StoreOutbox } from './store-outbox.js';
import { ownedBy, type Shard } from './shard.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { Channel } from '../notify/types.js';
import type { StateChange } from '../state/types.js';

export interface DaemonOptions {
  configPath: string;
  logger: AppLogger;
  env?: NodeJS.ProcessEnv;
  /** Global cap on probes in flight. */
  concurrency?: number;
  /** Upper bound of the per-connection start offset inside its schedule period. */
  maxSpreadMs?: number;
  /** How long shutdown waits for probes in flight before abandoning them. */
  shutdownGraceMs?: number;
  /** How often open incidents are re-evaluated for reminders and Alertmanager re-sends, and the outbox gauge set. */
  sweepIntervalMs?: number;
  onStateChange?: (connection: Connection, change: StateChange, diagnosis: Diagnosis) => void;
  /** Probe only this replica's share of the connections (SPEC section 13). */
  shard?: Shard | null;
  now?: () => Date;
}

const HOUR_MS = 3_600_000;

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
  private ready = false;
  private stopping = false;

  private constructor(
    private config: Config,
    private readonly options: Required<Pick<DaemonOptions, 'concurrency' | 'maxSpreadMs' | 'shutdownGraceMs' | 'sweepIntervalMs'>> & DaemonOptions,
    readonly store: Store,
    readonly metrics: AuthwatchMetrics,
    private readonly scheduler: Scheduler,
    private readonly dispatcher: Dispatcher,
    private server: HttpServerHandle | null,
  ) {}

  /**
   * Loads the config (throws ConfigError), opens and migrates the database (throws StoreError), listens (throws
   * the listen error), then starts probing. A failure leaves nothing running: no probe, timer or open database.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const settings = { concurrency: 32, maxSpreadMs: 60_000, shutdownGraceMs: 10_000, sweepIntervalMs: 30_000, ...options };
    const { logger } = options;
    const now = options.now ?? (() => new Date());
    const config = loadConfigFile(options.configPath);
    mkdirSync(dirname(config.storage.path), { recursive: true });
    const store = openStore(config.storage.path);
    const metrics = new AuthwatchMetrics({ detail: config.metrics?.detail, schedulePeriodSeconds: (name) => scheduler.periodSeconds(name) });
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
      outbox: new StoreOutbox(store),
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
    });
    daemon = new Daemon(config, settings, store, metrics, scheduler, dispatcher, null);
    const started = daemon;
    try {
      // Listen first: a taken port must stop the start before any probe is scheduled.
      started.server = await startHttpServer({
        host: config.listen.host,
        port: config.listen.port,
        metrics,
        readModel: readModelOverStore(store),
        isReady: () => started.ready,
        isAlive: () => !started.stopping,
        logger,
        secrets: logger.secrets,
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
    try {
      this.apply(next);
    } catch (error) {
      // e.g. SQLITE_BUSY from another writer: apply changes nothing before the database accepted the new connections.
      this.metrics.configReloaded(false, now);
      logger.error('config reload failed; the previous config stays in force', { error });
      return false;
    }
    this.metrics.configReloaded(true, now);
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
    const abandoned = await this.scheduler.stop(this.options.shutdownGraceMs);
    if (abandoned.length > 0) logger.warn('probes abandoned at shutdown', { connections: abandoned });
    await this.dispatcher.stop();
    await this.server?.close();
    for (const { prober } of this.probers.values()) prober.close();
    this.store.close();
    logger.info('authwatch stopped');
  }

  /** After a failed start: nothing may keep probing, ticking or holding the database (0 grace: nothing ran yet). */
  private async abandonStart(): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.scheduler.stop(0);
    await this.dispatcher.stop();
    await this.server?.close();
    for (const { prober } of this.probers.values()) prober.close();
    this.store.close();
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
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
    const notifiers = buildNotifiers(config.alerting, { env });
    const fingerprintKey = this.store.fingerprintKey();
    const { added, removed } = this.store.upsertConnections(config.connections, this.now());
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
      const state = states.get(connection.name);
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
          if (!entry || !current || this.stopping) return;
          await runCycle(this.deps!, current, entry.prober);
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
      isCurrent: (connection) => !this.stopping && this.connectionsByName.get(connection.name) === connection,
      onStateChange: this.options.onStateChange,
    };
  }

  /** Every secret the daemon may come across is masked in every log line and API response. */
  private registerSecrets(config: Config, env: NodeJS.ProcessEnv): void {
    const { secrets } = this.options.logger;
    for (const connection of config.connections) {
      for (const [, ref] of secretsOf(connection.auth)) {
        const secret = readSecret(ref, env);
        if (!secret.ok) continue;
        if (connection.auth.type === 'basic') secrets.registerBasicCredential(connection.auth.username, secret.value);
        else secrets.register(secret.value);
      }
    }
    if (config.alerting.slack) {
      const webhook = readSecret(config.alerting.slack.webhookUrl, env);
      if (webhook.ok) secrets.register(webhook.value);
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
        const enqueued = sweepIncidents(this.store, this.config, this.notifiers, now, previousSweepAt);
        previousSweepAt = now;
        if (enqueued > 0) this.dispatcher.wake();
        this.refreshOutboxGauge();
      } catch (error) {
        logger.error('incident sweep failed', { error });
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
        if (!this.stopping) logger.error('pruning failed', { error });
      }
    };
    sweep();
    void prune();
    this.sweepTimer = setInterval(sweep, this.options.sweepIntervalMs);
    this.pruneTimer = setInterval(() => void prune(), HOUR_MS);
    this.sweepTimer.unref();
    this.pruneTimer.unref();
  }
}
