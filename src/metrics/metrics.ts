// authwatch's Prometheus metrics (SPEC section 9) on a Registry of their own (never prom-client's global one).
//
// Decisions the SPEC leaves open:
// - Series of a connection appear with its configuration (connection_info, auth_state with unknown=1,
//   auth_regressed 0, consecutive_failures 0, probes_total{outcome="ok"} 0, token expiry) or with its first
//   probe (probe_success, http_status_code, all seven probe_duration_seconds phases, last_probe_timestamp,
//   last_outcome_info, TLS). A 0 before the first probe would claim a failed probe that never happened.
// - probes_total is pre-initialised only for outcome="ok": 23 zero series per connection would cost
//   Prometheus 230k series at 10,000 connections. A failure outcome's series starts at 1.
// - A phase that did not happen in the last probe (no TLS on http://, a probe that failed before) is 0, as in
//   blackbox_exporter: every phase series always exists and never shows a stale value from an older probe.
// - TLS series show the last handshake: a probe that never reached TLS (DNS, connect) leaves them as they were;
//   a probe that reached TLS replaces them, and a field it could not learn (no protocol after a failed
//   handshake) removes that series rather than keep a stale one.
// - Probes or states for a connection that is not configured (a reload raced a probe) are ignored, so a
//   removed connection's series cannot come back.
// - prom-client's three nodejs_active_*_total gauges are dropped: promtool rejects a gauge named *_total, and
//   each equals sum() of the gauge without the suffix.
// - authwatch_config_last_reload_timestamp_seconds is the last *successful* load: when the config in force began.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Connection } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import { OUTCOMES, outcomeClass, type Outcome } from '../diagnosis/outcome-names.js';
import { TIMING_PHASES, type ProbeTimings, type TlsDetails } from '../probe/observation.js';
import { AUTH_STATES, type ConnectionState } from '../state/types.js';
import { VERSION } from '../version.js';

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

export type StateMetrics = Pick<ConnectionState, 'state' | 'consecutiveFailures' | 'lastSuccessAt'>;

export type NotificationResult = 'delivered' | 'failed' | 'retried';
export const NOTIFICATION_RESULTS: readonly NotificationResult[] = ['delivered', 'failed', 'retried'];

export interface MetricsOptions {
  version?: string;
  nodeVersion?: string;
  /** prom-client's process and Node.js metrics; on by default. */
  defaultMetrics?: boolean;
}

/** Seconds since the epoch, or null for a missing/unparseable time. A date-only `2027-05-01` is midnight UTC. */
export function epochSeconds(at: Date | string | null | undefined): number | null {
  if (at === null || at === undefined) return null;
  const ms = at instanceof Date ? at.getTime() : Date.parse(at);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** connection_info's labels: the fixed ones first, then the connection's configured labels. */
export function connectionInfoLabels(connection: MetricsConnection): Record<string, string> {
  const fixed = { connection: connection.name, url: connection.url, deployment: connection.deployment, auth_type: connection.auth.type };
  return { ...fixed, ...connection.labels, ...fixed };
}

const FIXED_INFO_LABELS = ['connection', 'url', 'deployment', 'auth_type'];

/** The label names connection_info needs: fixed ones plus every configured label key, sorted for stability. */
export function connectionInfoLabelNames(connections: readonly MetricsConnection[]): string[] {
  const keys = new Set<string>();
  for (const connection of connections) for (const key of Object.keys(connection.labels)) keys.add(key);
  return [...FIXED_INFO_LABELS, ...[...keys].filter((key) => !FIXED_INFO_LABELS.includes(key)).sort()];
}

/**
 * prom-client gauges whose names end in _total, which `promtool check metrics` rejects. Each is the sum of
 * the gauge of the same name without the suffix (by type), so nothing is lost: sum(nodejs_active_handles).
 */
export const LINT_FAILING_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

interface SeriesMemory {
  outcome: Outcome | null;
  tlsVersion: string | null;
  tlsCipher: string | null;
}

export class AuthwatchMetrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;

  private readonly configured = new Map<string, SeriesMemory>();
  private readonly channels = new Set<string>();
  private connectionInfo: Gauge<string>;
  private connectionInfoNames: string[] = [];

  private readonly buildInfo: Gauge<'version' | 'node_version'>;
  private readonly probeSuccess: Gauge<'connection'>;
  private readonly probesTotal: Counter<'connection' | 'outcome'>;
  private readonly lastOutcomeInfo: Gauge<'connection' | 'outcome' | 'class'>;
  private readonly authState: Gauge<'connection' | 'state'>;
  private readonly authRegressed: Gauge<'connection'>;
  private readonly consecutiveFailures: Gauge<'connection'>;
  private readonly httpStatusCode: Gauge<'connection'>;
  private readonly probeDuration: Gauge<'connection' | 'phase'>;
  private readonly lastProbeTimestamp: Gauge<'connection'>;
  private readonly lastSuccessTimestamp: Gauge<'connection'>;
  private readonly tlsVersionInfo: Gauge<'connection' | 'version'>;
  private readonly tlsCipherInfo: Gauge<'connection' | 'cipher'>;
  private readonly certNotAfter: Gauge<'connection'>;
  private readonly chainEarliestNotAfter: Gauge<'connection'>;
  private readonly tokenExpiry: Gauge<'connection'>;
  private readonly clientCertNotAfter: Gauge<'connection'>;
  private readonly notificationsTotal: Counter<'channel' | 'result'>;
  private readonly outboxPending: Gauge<'channel'>;
  private readonly probeStartDelay: Histogram<string>;
  private readonly configReloadSuccess: Gauge<string>;
  private readonly configLastReload: Gauge<string>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of LINT_FAILING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });
    const connection = ['connection'] as const;

    this.buildInfo = gauge('authwatch_build_info', 'authwatch build information; always 1', ['version', 'node_version']);
    this.buildInfo.set({ version: options.version ?? VERSION, node_version: options.nodeVersion ?? process.version }, 1);
    this.connectionInfo = this.makeConnectionInfo([...FIXED_INFO_LABELS]);
    this.probeSuccess = gauge('authwatch_probe_success', 'Whether the last probe of the connection was ok (1) or not (0)', connection);
    this.probesTotal = new Counter({
      name: 'authwatch_probes_total',
      help: 'Probes run, by connection and outcome',
      labelNames: ['connection', 'outcome'],
      registers,
    });
    this.lastOutcomeInfo = gauge('authwatch_last_outcome_info', "The last probe's outcome and its class; only the current outcome's series exists", [
      'connection',
      'outcome',
      'class',
    ]);
    this.authState = gauge('authwatch_auth_state', "The connection's auth state: 1 for the current state, 0 for the other four", ['connection', 'state']);
    this.authRegressed = gauge('authwatch_auth_regressed', 'Whether auth that used to work now fails (state regressed)', connection);
    this.consecutiveFailures = gauge('authwatch_consecutive_failures', 'Probes in a row that were not ok', connection);
    this.httpStatusCode = gauge('authwatch_http_status_code', 'HTTP status of the last probe; 0 when no response was received', connection);
    this.probeDuration = gauge(
      'authwatch_probe_duration_seconds',
      'Duration of each phase of the last probe (dns, connect, tls, request, first_byte, download, total); 0 for a phase that did not happen',
      ['connection', 'phase'],
    );
    this.lastProbeTimestamp = gauge('authwatch_last_probe_timestamp_seconds', 'When the last probe started, seconds since the epoch', connection);
    this.lastSuccessTimestamp = gauge(
      'authwatch_last_success_timestamp_seconds',
      'When the last ok probe started, seconds since the epoch; absent until the first success',
      connection,
    );
    this.tlsVersionInfo = gauge('authwatch_tls_version_info', 'TLS protocol version negotiated by the last TLS handshake; always 1', ['connection', 'version']);
    this.tlsCipherInfo = gauge('authwatch_tls_cipher_info', 'TLS cipher negotiated by the last TLS handshake; always 1', ['connection', 'cipher']);
    this.certNotAfter = gauge(
      'authwatch_tls_cert_not_after_timestamp_seconds',
      "Expiry of the server's leaf certificate seen by the last TLS handshake, seconds since the epoch",
      connection,
    );
    this.chainEarliestNotAfter = gauge(
      'authwatch_tls_chain_earliest_not_after_timestamp_seconds',
      'Earliest expiry of any certificate in the chain the server presented, seconds since the epoch',
      connection,
    );
    this.clientCertNotAfter = gauge(
      'authwatch_tls_client_cert_not_after_timestamp_seconds',
      "Expiry of the connection's client certificate (tls.certFile) as last read by a probe, seconds since the epoch",
      connection,
    );
    this.tokenExpiry = gauge(
      'authwatch_token_expiry_timestamp_seconds',
      "When the connection's credential expires (auth.expiresAt, midnight UTC), seconds since the epoch",
      connection,
    );
    this.notificationsTotal = new Counter({
      name: 'authwatch_notifications_total',
      help: 'Notification delivery attempts by channel and result (delivered, failed, retried)',
      labelNames: ['channel', 'result'],
      registers,
    });
    this.outboxPending = gauge('authwatch_outbox_pending', 'Notifications waiting in the outbox to be delivered', ['channel']);
    this.probeStartDelay = new Histogram({
      name: 'authwatch_probe_start_delay_seconds',
      help: 'How late probes start against their schedule',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.configReloadSuccess = gauge('authwatch_config_reload_success', 'Whether the last configuration load or reload succeeded', []);
    this.configLastReload = gauge(
      'authwatch_config_last_reload_timestamp_seconds',
      'When the configuration in force was loaded (last successful load or reload), seconds since the epoch',
      [],
    );
  }

  /** Applies the configured connections: new ones get their series, removed ones lose all of theirs. */
  setConnections(connections: readonly MetricsConnection[]): void {
    const wanted = new Set(connections.map((connection) => connection.name));
    for (const name of [...this.configured.keys()]) if (!wanted.has(name)) this.forget(name);

    const names = connectionInfoLabelNames(connections);
    if (names.join('\0') !== this.connectionInfoNames.join('\0')) {
      this.registry.removeSingleMetric('authwatch_connection_info');
      this.connectionInfo = this.makeConnectionInfo(names);
    }
    this.connectionInfo.reset();
    for (const connection of connections) {
      this.connectionInfo.set(connectionInfoLabels(connection), 1);
      const expiry = epochSeconds(connection.tokenExpiresAt);
      if (expiry === null) this.tokenExpiry.remove({ connection: connection.name });
      else this.tokenExpiry.set({ connection: connection.name }, expiry);
      if (this.configured.has(connection.name)) continue;
      this.configured.set(connection.name, { outcome: null, tlsVersion: null, tlsCipher: null });
      this.probesTotal.inc({ connection: connection.name, outcome: 'ok' }, 0);
      this.recordState(connection.name, { state: 'unknown', consecutiveFailures: 0, lastSuccessAt: null });
    }
  }

  recordProbe(connection: string, probe: ProbeMetrics): void {
    const memory = this.configured.get(connection);
    if (!memory) return;
    const labels = { connection };
    this.probesTotal.inc({ connection, outcome: probe.outcome });
    this.probeSuccess.set(labels, probe.outcome === 'ok' ? 1 : 0);
    if (memory.outcome !== null) this.lastOutcomeInfo.remove({ connection, outcome: memory.outcome, class: outcomeClass(memory.outcome) });
    this.lastOutcomeInfo.set({ connection, outcome: probe.outcome, class: outcomeClass(probe.outcome) }, 1);
    memory.outcome = probe.outcome;
    this.httpStatusCode.set(labels, probe.httpStatus ?? 0);
    for (const phase of TIMING_PHASES) this.probeDuration.set({ connection, phase }, probe.timings[phase] ?? 0);
    const at = epochSeconds(probe.at);
    if (at !== null) this.lastProbeTimestamp.set(labels, at);
    if (probe.tls) this.recordTls(connection, memory, probe.tls);
  }

  recordState(connection: string, state: StateMetrics): void {
    if (!this.configured.has(connection)) return;
    for (const name of AUTH_STATES) this.authState.set({ connection, state: name }, name === state.state ? 1 : 0);
    this.authRegressed.set({ connection }, state.state === 'regressed' ? 1 : 0);
    this.consecutiveFailures.set({ connection }, state.consecutiveFailures);
    const lastSuccess = epochSeconds(state.lastSuccessAt);
    if (lastSuccess === null) this.lastSuccessTimestamp.remove({ connection });
    else this.lastSuccessTimestamp.set({ connection }, lastSuccess);
  }

  observeStartDelay(seconds: number): void {
    this.probeStartDelay.observe(Math.max(0, seconds));
  }

  /** The configured notification channels: their counters start at 0, a channel no longer configured loses its series. */
  setChannels(channels: readonly string[]): void {
    for (const channel of [...this.channels]) {
      if (channels.includes(channel)) continue;
      this.channels.delete(channel);
      this.outboxPending.remove({ channel });
      for (const result of NOTIFICATION_RESULTS) this.notificationsTotal.remove({ channel, result });
    }
    for (const channel of channels) {
      if (this.channels.has(channel)) continue;
      this.channels.add(channel);
      this.outboxPending.set({ channel }, 0);
      for (const result of NOTIFICATION_RESULTS) this.notificationsTotal.inc({ channel, result }, 0);
    }
  }

  notification(channel: string, result: NotificationResult): void {
    this.notificationsTotal.inc({ channel, result });
  }

  setOutboxPending(channel: string, pending: number): void {
    this.outboxPending.set({ channel }, pending);
  }

  /** Call after the first load too, so the metrics say when the configuration in force was loaded. */
  configReloaded(success: boolean, at: Date = new Date()): void {
    this.configReloadSuccess.set(success ? 1 : 0);
    if (success) this.configLastReload.set(at.getTime() / 1000);
  }

  /** The client certificate's expiry (mutual TLS); null removes the series (no certificate configured any more). */
  recordClientCertificate(connection: string, notAfter: string | null): void {
    setOrRemove(this.clientCertNotAfter, connection, epochSeconds(notAfter));
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  private recordTls(connection: string, memory: SeriesMemory, tls: TlsDetails): void {
    if (memory.tlsVersion !== null) this.tlsVersionInfo.remove({ connection, version: memory.tlsVersion });
    if (tls.protocol) this.tlsVersionInfo.set({ connection, version: tls.protocol }, 1);
    memory.tlsVersion = tls.protocol;
    if (memory.tlsCipher !== null) this.tlsCipherInfo.remove({ connection, cipher: memory.tlsCipher });
    if (tls.cipher) this.tlsCipherInfo.set({ connection, cipher: tls.cipher }, 1);
    memory.tlsCipher = tls.cipher;
    setOrRemove(this.certNotAfter, connection, epochSeconds(tls.notAfter));
    setOrRemove(this.chainEarliestNotAfter, connection, epochSeconds(tls.chainEarliestNotAfter));
  }

  private forget(connection: string): void {
    const memory = this.configured.get(connection);
    this.configured.delete(connection);
    const labels = { connection };
    for (const metric of [
      this.probeSuccess,
      this.authRegressed,
      this.consecutiveFailures,
      this.httpStatusCode,
      this.lastProbeTimestamp,
      this.lastSuccessTimestamp,
      this.certNotAfter,
      this.chainEarliestNotAfter,
      this.tokenExpiry,
      this.clientCertNotAfter,
    ]) {
      metric.remove(labels);
    }
    for (const outcome of OUTCOMES) this.probesTotal.remove({ connection, outcome });
    for (const state of AUTH_STATES) this.authState.remove({ connection, state });
    for (const phase of TIMING_PHASES) this.probeDuration.remove({ connection, phase });
    if (memory?.outcome) this.lastOutcomeInfo.remove({ connection, outcome: memory.outcome, class: outcomeClass(memory.outcome) });
    if (memory?.tlsVersion) this.tlsVersionInfo.remove({ connection, version: memory.tlsVersion });
    if (memory?.tlsCipher) this.tlsCipherInfo.remove({ connection, cipher: memory.tlsCipher });
  }

  private makeConnectionInfo(labelNames: string[]): Gauge<string> {
    this.connectionInfoNames = labelNames;
    return new Gauge({
      name: 'authwatch_connection_info',
      help: "A configured connection, its URL, deployment, auth type and configured labels; always 1. Join on connection to use the labels",
      labelNames,
      registers: [this.registry],
    });
  }
}

function setOrRemove(gauge: Gauge<'connection'>, connection: string, value: number | null): void {
  if (value === null) gauge.remove({ connection });
  else gauge.set({ connection }, value);
}
