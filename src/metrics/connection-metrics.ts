// The per-connection metrics: an in-memory model of each configured connection and the table that turns it into
// series at scrape time. A new per-connection metric is one entry in CONNECTION_METRICS (and a line in
// docs/behaviour.md's metrics table); AuthwatchMetrics (metrics.ts) keeps the models and renders them.
import { outcomeClass, type Outcome } from '../diagnosis/outcome-names.js';
import { TIMING_PHASES, type ProbeTimings } from '../probe/observation.js';
import type { MetricsConnection, StateMetrics } from './metrics.js';

/** The parts of a probe (every timing phase but the total). */
export const PROBE_PARTS = TIMING_PHASES.filter((phase) => phase !== 'total');

/** Seconds since the epoch, or null for a missing/unparseable time. A date-only `2027-05-01` is midnight UTC. */
export function epochSeconds(at: Date | string | null | undefined): number | null {
  if (at === null || at === undefined) return null;
  const ms = at instanceof Date ? at.getTime() : Date.parse(at);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** connection_info's labels: the fixed ones first, then the connection's configured labels (sorted). */
export function connectionInfoLabels(connection: MetricsConnection): Record<string, string> {
  const fixed: Record<string, string> = { connection: connection.name, url: connection.url, deployment: connection.deployment, auth_type: connection.auth.type };
  const configured = Object.keys(connection.labels)
    .filter((key) => !(key in fixed))
    .sort()
    .map((key) => [key, connection.labels[key]!] as const);
  return { ...fixed, ...Object.fromEntries(configured) };
}

/** What the metrics know about one configured connection: its config and what its last probe and state said. */
export interface ConnectionModel {
  readonly name: string;
  /** `connection="…"`, escaped once. */
  readonly key: string;
  /** connection_info's label text. */
  infoLabels: string;
  tokenExpiry: number | null;
  /** The client certificate's expiry (tls.certFile) as last read by a probe; null without one. */
  clientCertNotAfter: number | null;
  /** When this process started watching it, seconds since the epoch. */
  readonly configuredAt: number;
  probe: { outcome: Outcome; httpStatus: number | null; timings: ProbeTimings; at: number | null } | null;
  /** The last handshake's findings (kept across probes that did not reach TLS). */
  tls: { version: string | null; cipher: string | null; notAfter: number | null; chainEarliestNotAfter: number | null } | null;
  state: StateMetrics;
  backoffUntil: number | null;
}

export interface RenderContext {
  now: number;
  periodSeconds: (connection: string) => number | null;
}

type Emit = (labels: string, value: number | null) => void;

/**
 * Every per-connection metric: its name, help, whether it is detail, and how its samples come from the model.
 * `emit('', v)` writes `name{connection="…"} v`; `emit(',x="y"', v)` adds labels; a null value writes nothing.
 * A new per-connection metric is one entry here (and a line in docs/behaviour.md).
 */
export const CONNECTION_METRICS: readonly { name: string; help: string; detail?: boolean; samples: (c: ConnectionModel, emit: Emit, ctx: RenderContext) => void }[] = [
  {
    name: 'authwatch_connection_info',
    help: 'A configured connection, its URL, deployment, auth type and configured labels; always 1. Join on connection to use the labels',
    samples: (c, emit) => emit(c.infoLabels, 1),
  },
  {
    name: 'authwatch_auth_state',
    help: "The connection's auth state (unknown, ok, failing, regressed, unreachable); only the current state's series exists, with value 1",
    samples: (c, emit) => emit(`,state="${c.state.state}"`, 1),
  },
  {
    name: 'authwatch_probe_success',
    help: 'Whether the last probe of the connection was ok (1) or not (0)',
    samples: (c, emit) => emit('', c.probe ? (c.probe.outcome === 'ok' ? 1 : 0) : null),
  },
  {
    name: 'authwatch_last_outcome_info',
    help: "The last probe's outcome and its class; only the current outcome's series exists",
    samples: (c, emit) => c.probe && emit(`,outcome="${c.probe.outcome}",class="${outcomeClass(c.probe.outcome)}"`, 1),
  },
  {
    name: 'authwatch_probe_duration_seconds',
    help: 'Total duration of the last probe (the parts: authwatch_probe_phase_seconds)',
    samples: (c, emit) => emit('', c.probe ? (c.probe.timings.total ?? 0) : null),
  },
  {
    name: 'authwatch_last_probe_timestamp_seconds',
    help: 'When the last probe started, seconds since the epoch',
    samples: (c, emit) => emit('', c.probe?.at ?? null),
  },
  {
    name: 'authwatch_last_success_timestamp_seconds',
    help: 'When the last ok probe started, seconds since the epoch; absent until the first success',
    samples: (c, emit) => emit('', epochSeconds(c.state.lastSuccessAt)),
  },
  {
    name: 'authwatch_probe_next_due_timestamp_seconds',
    help: "When the connection's next probe is due by its own schedule (last probe start + period, or the end of a lockout back-off + period), seconds since the epoch",
    samples: (c, emit, ctx) => emit('', nextDue(c, ctx.periodSeconds(c.name))),
  },
  {
    name: 'authwatch_tls_version_info',
    help: 'TLS protocol version negotiated by the last TLS handshake; always 1',
    samples: (c, emit) => c.tls?.version && emit(`,version="${escapeLabel(c.tls.version)}"`, 1),
  },
  {
    name: 'authwatch_tls_chain_earliest_not_after_timestamp_seconds',
    help: 'Earliest expiry of any certificate in the chain the server presented, seconds since the epoch',
    samples: (c, emit) => emit('', c.tls?.chainEarliestNotAfter ?? null),
  },
  {
    name: 'authwatch_token_expiry_timestamp_seconds',
    help: "When the connection's credential expires (auth.expiresAt, midnight UTC), seconds since the epoch",
    samples: (c, emit) => emit('', c.tokenExpiry),
  },
  {
    name: 'authwatch_tls_client_cert_not_after_timestamp_seconds',
    help: "Expiry of the connection's client certificate (tls.certFile) as last read by a probe, seconds since the epoch",
    samples: (c, emit) => emit('', c.clientCertNotAfter),
  },
  // Detail (metrics.detail: true): what only matters when looking at one connection's last probe.
  {
    name: 'authwatch_http_status_code',
    help: 'HTTP status of the last probe; 0 when no response was received',
    detail: true,
    samples: (c, emit) => emit('', c.probe ? (c.probe.httpStatus ?? 0) : null),
  },
  {
    name: 'authwatch_consecutive_failures',
    help: 'Probes in a row that were not ok',
    detail: true,
    samples: (c, emit) => emit('', c.state.consecutiveFailures),
  },
  {
    name: 'authwatch_probe_phase_duration_seconds',
    help: 'Duration of each part of the last probe (dns, connect, tls, request, first_byte, download); 0 for a part that did not happen',
    detail: true,
    samples: (c, emit) => {
      if (c.probe) for (const phase of PROBE_PARTS) emit(`,phase="${phase}"`, c.probe.timings[phase] ?? 0);
    },
  },
  {
    name: 'authwatch_tls_cipher_info',
    help: 'TLS cipher negotiated by the last TLS handshake; always 1',
    detail: true,
    samples: (c, emit) => c.tls?.cipher && emit(`,cipher="${escapeLabel(c.tls.cipher)}"`, 1),
  },
  {
    name: 'authwatch_tls_cert_not_after_timestamp_seconds',
    help: "Expiry of the server's leaf certificate seen by the last TLS handshake, seconds since the epoch",
    detail: true,
    samples: (c, emit) => emit('', c.tls?.notAfter ?? null),
  },
];

/** The scheduler's offset inside a period: at most 80% of it and at most 60 s (its maxSpreadMs default). */
const SPREAD_SECONDS = 60;
const SPREAD_SHARE = 0.8;

function nextDue(c: ConnectionModel, period: number | null): number | null {
  if (period === null) return null;
  const due = c.probe?.at != null ? c.probe.at + period : c.configuredAt + period + Math.min(period * SPREAD_SHARE, SPREAD_SECONDS);
  return c.backoffUntil !== null && c.backoffUntil + period > due ? c.backoffUntil + period : due;
}

export function escapeLabel(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
