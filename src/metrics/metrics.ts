// authwatch's Prometheus metrics on a Registry of their own (never prom-client's global one).
//
// Two kinds of series:
// - Per connection (CONNECTION_METRICS in connection-metrics.ts): rendered at scrape time from an in-memory model of each
//   configured connection's current state (what its last probe found, its auth state). Nothing is set or
//   removed series by series, so a connection removed by a reload has no series by construction, and one
//   scrape of 10,000 connections is a single loop writing text (docs/benchmarks.md).
// - Process-wide (prom-client): build info, counters, histograms, the outbox and the config reload.
//
// The series budget (docs/behaviour.md "Metrics"): by default at most 11 series per connection, each one
// something an alert or the dashboard's overview needs. What only matters when looking at one connection's
// last probe (HTTP status, phase timings, cipher, leaf certificate, failures in a row) is exported only with
// `metrics.detail: true`, and is always in the status API (`authwatch status`, /api).
//
// Decisions:
// - Series of a connection appear with its configuration (connection_info, auth_state{state="unknown"},
//   next-due time, token expiry) or with its first probe (probe_success, last_outcome_info, durations,
//   timestamps, TLS). A 0 before the first probe would claim a failed probe that never happened.
// - auth_state and last_outcome_info have only the current value's series (value 1), as an info metric: the
//   other four states as 0s would cost 40,000 series at 10,000 connections and say nothing `== 1` doesn't.
// - probes_total counts by outcome over all connections, every outcome's series from 0 at start, so
//   increase() sees the first failure of any kind. Per connection, last_outcome_info and auth_state tell
//   what is wrong now and the status API keeps the history.
// - Durations: probe_duration_seconds{connection} is the last probe's total; the parts are the histogram
//   probe_phase_seconds{phase} over all probes (bounded at any scale), and per connection only with detail.
//   Parts and total are never in one metric, so sum() never double-counts.
// - probe_next_due_timestamp_seconds: when the connection's next probe should start by its own schedule —
//   the last probe's start (or the time it was configured, plus the spread window) plus the schedule's period,
//   or after a Data Center lockout back-off the back-off's end plus a period. Staleness alerts compare with it,
//   so a yearly schedule is not "stale" after an hour.
// - TLS series show the last handshake: a probe that never reached TLS (DNS, connect) leaves them as they were;
//   a probe that reached TLS replaces them, and a field it could not learn is dropped rather than kept stale.
// - Probes or states for a connection that is not configured (a reload raced a probe) are ignored.
// - prom-client's three nodejs_active_*_total gauges are dropped: promtool rejects a gauge named *_total, and
//   each equals sum() of the gauge without the suffix.
// - authwatch_config_last_reload_timestamp_seconds is the last *successful* load: when the config in force began.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Connection } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import { OUTCOMES, type Outcome } from '../diagnosis/outcome-names.js';
import type { ProbeTimings, TlsDetails } from '../probe/observation.js';
import type { ConnectionState } from '../state/types.js';
import { VERSION } from '../version.js';
import { CONNECTION_METRICS, PROBE_PARTS, connectionInfoLabels, epochSeconds, escapeHelp, escapeLabel, formatValue, type ConnectionModel, type RenderContext } from './connection-metrics.js';
export { CONNECTION_METRICS, PROBE_PARTS, connectionInfoLabels, epochSeconds, type ConnectionModel } from './connection-metrics.js';

/**
 * Characters per piece of a streamed /metrics answer (renderChunks): about 150 writes at 10,000 connections, each
 * piece small enough for V8's young generation (objects over ~128 KiB go to the large-object space).
 */
export const RENDER_CHUNK_CHARS = 64 * 1024;

/** What the metrics need to know about a configured connection. */
export type MetricsConnection = Pick<Connection, 'name' | 'url' | 'deployment' | 'labels' | 'tokenExpiresAt'> & {
  auth: { type: AuthType };
};

export interface ProbeMetrics {
  outcome: Outcome;
  /** null when no HTTP response was received. */
  httpStatus: number | null;
  timings: ProbeTimings;
  /** When the probe started. */
  at: Date | string;
  tls: TlsDetails | null;
}

export type StateMetrics = Pick<ConnectionState, 'state' | 'consecutiveFailures' | 'lastSuccessAt'> & Partial<Pick<ConnectionState, 'backoffUntil'>>;

export type NotificationResult = 'delivered' | 'failed' | 'retried';
export const NOTIFICATION_RESULTS: readonly NotificationResult[] = ['delivered', 'failed', 'retried'];

/** The phases of probe_phase_seconds and the detail gauge: the parts of a probe, never the total. */

export interface MetricsOptions {
  version?: string;
  nodeVersion?: string;
  /** prom-client's process and Node.js metrics; on by default. */
  defaultMetrics?: boolean;
  /** Per-probe detail series per connection (config `metrics.detail`); off by default. */
  detail?: boolean;
  /** The period of a connection's schedule in seconds, from the scheduler; null when it has none. */
  schedulePeriodSeconds?: (connection: string) => number | null;
  /** Seconds since the epoch; for tests. */
  now?: () => number;
}

/**
 * prom-client gauges whose names end in _total, which `promtool check metrics` rejects. Each is the sum of
 * the gauge of the same name without the suffix (by type), so nothing is lost: sum(nodejs_active_handles).
 */
export const LINT_FAILING_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export class AuthwatchMetrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;
  /** Whether per-probe detail series are exported (config metrics.detail); read at every scrape. */
  detail: boolean;

  private readonly connections = new Map<string, ConnectionModel>();
  private readonly channels = new Set<string>();
  private readonly outbox = new Map<string, { pending: number; oldestPendingAt: number | null }>();
  private readonly now: () => number;
  private readonly periodSeconds: (connection: string) => number | null;

  private readonly probesTotal: Counter<'outcome'>;
  private readonly probePhase: Histogram<'phase'>;
  private readonly notificationsTotal: Counter<'channel' | 'result'>;
  private readonly probeStartDelay: Histogram<string>;
  private readonly configReloadSuccessful: Gauge<string>;
  private readonly configLastReload: Gauge<string>;

  constructor(options: MetricsOptions = {}) {
    this.detail = options.detail ?? false;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.periodSeconds = options.schedulePeriodSeconds ?? (() => null);
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of LINT_FAILING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    const buildInfo = new Gauge({ name: 'authwatch_build_info', help: 'authwatch build information; always 1', labelNames: ['version', 'node_version'], registers });
    buildInfo.set({ version: options.version ?? VERSION, node_version: options.nodeVersion ?? process.version }, 1);
    this.probesTotal = new Counter({ name: 'authwatch_probes_total', help: 'Probes run, by outcome, over all connections', labelNames: ['outcome'], registers });
    for (const outcome of OUTCOMES) this.probesTotal.inc({ outcome }, 0);
    this.probePhase = new Histogram({
      name: 'authwatch_probe_phase_seconds',
      help: 'Duration of each part of every probe (dns, connect, tls, request, first_byte, download), over all connections',
      labelNames: ['phase'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.notificationsTotal = new Counter({
      name: 'authwatch_notifications_total',
      help: 'Notification delivery attempts by channel and result (delivered, failed, retried)',
      labelNames: ['channel', 'result'],
      registers,
    });
    const outbox = this.outbox;
    const now = this.now;
    new Gauge({
      name: 'authwatch_outbox_pending',
      help: 'Notifications waiting in the outbox to be delivered',
      labelNames: ['channel'],
      registers,
      collect() {
        this.reset();
        for (const [channel, entry] of outbox) this.set({ channel }, entry.pending);
      },
    });
    new Gauge({
      name: 'authwatch_outbox_oldest_pending_age_seconds',
      help: 'How long the oldest notification still waiting in the outbox has waited; 0 when none waits',
      labelNames: ['channel'],
      registers,
      collect() {
        this.reset();
        for (const [channel, entry] of outbox) this.set({ channel }, entry.oldestPendingAt === null ? 0 : Math.max(0, now() - entry.oldestPendingAt));
      },
    });
    this.probeStartDelay = new Histogram({
      name: 'authwatch_probe_start_delay_seconds',
      help: 'How late probes start against their schedule',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.configReloadSuccessful = new Gauge({ name: 'authwatch_config_last_reload_successful', help: 'Whether the last configuration load or reload succeeded', registers });
    this.configLastReload = new Gauge({
      name: 'authwatch_config_last_reload_timestamp_seconds',
      help: 'When the configuration in force was loaded (last successful load or reload), seconds since the epoch',
      registers,
    });
  }

  /** Applies the configured connections: new ones start unknown, changed ones keep what their probes said, removed ones are gone. */
  setConnections(connections: readonly MetricsConnection[]): void {
    const wanted = new Set(connections.map((connection) => connection.name));
    for (const name of [...this.connections.keys()]) if (!wanted.has(name)) this.connections.delete(name);
    for (const connection of connections) {
      let model = this.connections.get(connection.name);
      if (!model) {
        model = {
          name: connection.name,
          key: `connection="${escapeLabel(connection.name)}"`,
          infoLabels: '',
          tokenExpiry: null,
          clientCertNotAfter: null,
          configuredAt: this.now(),
          probe: null,
          tls: null,
          state: { state: 'unknown', consecutiveFailures: 0, lastSuccessAt: null },
          backoffUntil: null,
        };
        this.connections.set(connection.name, model);
      }
      model.infoLabels = Object.entries(connectionInfoLabels(connection))
        .filter(([key]) => key !== 'connection')
        .map(([key, value]) => `,${key}="${escapeLabel(value)}"`)
        .join('');
      model.tokenExpiry = epochSeconds(connection.tokenExpiresAt);
    }
  }

  recordProbe(connection: string, probe: ProbeMetrics): void {
    const model = this.connections.get(connection);
    if (!model) return;
    model.probe = { outcome: probe.outcome, httpStatus: probe.httpStatus, timings: probe.timings, at: epochSeconds(probe.at) };
    this.probesTotal.inc({ outcome: probe.outcome });
    for (const phase of PROBE_PARTS) {
      const seconds = probe.timings[phase];
      if (seconds !== null && seconds !== undefined) this.probePhase.observe({ phase }, seconds);
    }
    if (probe.tls) {
      model.tls = {
        version: probe.tls.protocol,
        cipher: probe.tls.cipher,
        notAfter: epochSeconds(probe.tls.notAfter),
        chainEarliestNotAfter: epochSeconds(probe.tls.chainEarliestNotAfter),
      };
    }
  }

  /** The client certificate's expiry (mutual TLS); null removes the series (no certificate configured any more). */
  recordClientCertificate(connection: string, notAfter: string | null): void {
    const model = this.connections.get(connection);
    if (model) model.clientCertNotAfter = epochSeconds(notAfter);
  }

  recordState(connection: string, state: StateMetrics): void {
    const model = this.connections.get(connection);
    if (!model) return;
    model.state = { state: state.state, consecutiveFailures: state.consecutiveFailures, lastSuccessAt: state.lastSuccessAt };
    model.backoffUntil = epochSeconds(state.backoffUntil);
  }

  observeStartDelay(seconds: number): void {
    this.probeStartDelay.observe(Math.max(0, seconds));
  }

  /** The configured notification channels: their counters start at 0, a channel no longer configured loses its series. */
  setChannels(channels: readonly string[]): void {
    for (const channel of [...this.channels]) {
      if (channels.includes(channel)) continue;
      this.channels.delete(channel);
      this.outbox.delete(channel);
      for (const result of NOTIFICATION_RESULTS) this.notificationsTotal.remove({ channel, result });
    }
    for (const channel of channels) {
      if (this.channels.has(channel)) continue;
      this.channels.add(channel);
      this.outbox.set(channel, { pending: 0, oldestPendingAt: null });
      for (const result of NOTIFICATION_RESULTS) this.notificationsTotal.inc({ channel, result }, 0);
    }
  }

  notification(channel: string, result: NotificationResult): void {
    this.notificationsTotal.inc({ channel, result });
  }

  /** A configured channel's outbox: how many notifications wait, and since when the oldest waits (its creation). */
  setOutboxPending(channel: string, pending: number, oldestPendingAt: Date | string | null = null): void {
    if (!this.channels.has(channel)) return;
    this.outbox.set(channel, { pending, oldestPendingAt: pending > 0 ? epochSeconds(oldestPendingAt) : null });
  }

  /** Call after the first load too, so the metrics say when the configuration in force was loaded. */
  configReloaded(success: boolean, at: Date = new Date()): void {
    this.configReloadSuccessful.set(success ? 1 : 0);
    if (success) this.configLastReload.set(at.getTime() / 1000);
  }

  async render(): Promise<string> {
    return (await this.registry.metrics()) + this.renderConnections();
  }

  /**
   * The whole exposition in pieces of about `chunkChars` (what /metrics sends): at 10,000 connections it is ~10 MB,
   * which as one string, plus the Buffer node:http copies it into, sat in the large-object space until the next
   * full collection after every scrape; and writing it piece by piece lets the event loop run between pieces.
   */
  async *renderChunks(chunkChars = RENDER_CHUNK_CHARS): AsyncGenerator<string> {
    yield await this.registry.metrics();
    yield* this.connectionChunks(chunkChars);
  }

  /** The per-connection families in the text exposition format, from the model as it is now. */
  renderConnections(): string {
    return [...this.connectionChunks(Number.POSITIVE_INFINITY)].join('');
  }

  /**
   * The per-connection families, cut after any sample once `chunkChars` have gathered. Between two pieces probes
   * may update the model (a series shows its latest value) or a reload change the connections (a connection
   * appears in the families still to come): every line is whole either way. `metrics.detail` is read once.
   */
  *connectionChunks(chunkChars: number): Generator<string> {
    const ctx: RenderContext = { now: this.now(), periodSeconds: this.periodSeconds };
    const detail = this.detail;
    let out: string[] = [];
    let size = 0;
    let prefix = '';
    let model: ConnectionModel | null = null;
    // One emitter for the whole scrape (not one closure per connection and metric).
    const emit = (labels: string, value: number | null): void => {
      if (value === null) return;
      const line = `${prefix}${model!.key}${labels}} ${formatValue(value)}\n`;
      out.push(line);
      size += line.length;
    };
    for (const metric of CONNECTION_METRICS) {
      if (metric.detail && !detail) continue;
      const header = `# HELP ${metric.name} ${escapeHelp(metric.help)}\n# TYPE ${metric.name} gauge\n`;
      out.push(header);
      size += header.length;
      prefix = `${metric.name}{`;
      for (model of this.connections.values()) {
        metric.samples(model, emit, ctx);
        if (size >= chunkChars) {
          yield out.join('');
          out = [];
          size = 0;
        }
      }
    }
    if (out.length > 0) yield out.join('');
  }
}
