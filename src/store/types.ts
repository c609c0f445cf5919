// The store's vocabulary: what callers hand to it and the rows it hands back. Times are ISO 8601 UTC strings
// (src/time/instant.ts); nothing here may carry a secret (observations carry only the credential's fingerprint).
import type { Deployment } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { AuthState, ConnectionState } from '../state/types.js';
import type { Instant } from '../time/instant.js';

export type { Instant } from '../time/instant.js';

// The channel is a notification concept, defined once by the channel registry (notify/registry.ts).
export { CHANNELS, type Channel } from '../notify/registry.js';
import type { Channel } from '../notify/types.js';

export type EventKind = 'state_changed' | 'tls_changed' | 'cert_expiring' | 'token_expiring' | 'identity_changed';
export type IncidentKind = 'failing' | 'regressed' | 'unreachable' | 'cert_expiring' | 'token_expiring';
export type OutboxKind = 'open' | 'resolve' | 'reminder' | 'event' | 'test';

// ---------------------------------------------------------------------------------------------
// Inputs

export interface NewEvent {
  kind: EventKind;
  from?: AuthState | null;
  to?: AuthState | null;
  /** Defaults to the probe's startedAt. */
  at?: Instant;
  /** Plain recorded data, never a secret. */
  details?: Record<string, unknown>;
}

/** An id that exists already, or the index of a row created earlier in the same call. */
export type Ref = { id: number } | { index: number };

/** Incident bookkeeping of one cycle; `event` is the index (in this cycle's events) of the event that caused it. */
export type IncidentChange =
  | { action: 'open'; kind: IncidentKind; event: number }
  | { action: 'resolve'; incidentId: number; event: number };

export interface NewOutboxItem {
  channel: Channel;
  /** The notifier lane within the channel (an Alertmanager URL, 'webhook' for Slack); rows of a lane go out in order. Default ''. */
  target?: string;
  kind: OutboxKind;
  /** JSON-serialisable message body, rendered from recorded data only. */
  payload: unknown;
  /** Required for open/resolve/reminder. In recordCycle `{ index }` points into its `incidents` changes. */
  incident?: Ref;
  /** Required for kind 'event'. In recordCycle `{ index }` points into its `events`. */
  event?: Ref;
  /**
   * Makes the notification impossible to enqueue twice on a channel; an item whose key exists is
   * skipped (its id is returned as null). Default: `incident:ID:open|resolve`,
   * `incident:ID:reminder:AT`, `event:ID`, and a unique key for 'test'.
   */
  dedupeKey?: string;
  /** Defaults to the creation time. */
  nextAttemptAt?: Instant;
}

export interface CycleRecord {
  observation: ProbeObservation;
  diagnosis: Diagnosis;
  /** The state after this probe (from advance()). */
  next: ConnectionState;
  /** Must contain exactly one 'state_changed' event (see stateChangedEvent) when next.state differs from the stored state, and none otherwise. */
  events?: NewEvent[];
  incidents?: IncidentChange[];
  outbox?: NewOutboxItem[];
}

export interface CycleIds {
  probeId: number;
  eventIds: number[];
  /** Per incident change: the incident opened or resolved. */
  incidentIds: number[];
  /** Per outbox item: its id, or null when its dedupe key was already used. */
  outboxIds: (number | null)[];
}

// ---------------------------------------------------------------------------------------------
// Rows read back

export interface StoredProbe {
  id: number;
  connection: string;
  startedAt: string;
  outcome: Outcome;
  class: OutcomeClass;
  detail: string;
  /** The observation as recorded (http.json is not stored and comes back null). */
  observation: ProbeObservation;
}

export interface TlsSummary {
  protocol: string | null;
  cipher: string | null;
  notAfter: string | null;
  chainEarliestNotAfter: string | null;
  authorized: boolean;
  authorizationError: string | null;
}

export interface ConnectionSummary {
  name: string;
  url: string;
  path: string;
  deployment: Deployment;
  authType: AuthType;
  labels: Record<string, string>;
  firstSeen: string;
  /** Set when the connection is no longer in the config. */
  removedAt: string | null;
  state: ConnectionState;
  lastProbe: {
    id: number;
    startedAt: string;
    outcome: Outcome;
    class: OutcomeClass;
    detail: string;
    httpStatus: number | null;
    totalSeconds: number | null;
    tls: TlsSummary | null;
  } | null;
}

export interface StoredEvent {
  id: number;
  connection: string;
  kind: EventKind;
  from: AuthState | null;
  to: AuthState | null;
  at: string;
  probeId: number | null;
  details: Record<string, unknown>;
}

export interface StoredIncident {
  id: number;
  connection: string;
  kind: IncidentKind;
  openedAt: string;
  resolvedAt: string | null;
  openEventId: number;
  resolveEventId: number | null;
  lastNotifiedAt: string | null;
}

export interface OutboxItem {
  id: number;
  channel: Channel;
  target: string;
  incidentId: number | null;
  eventId: number | null;
  kind: OutboxKind;
  dedupeKey: string;
  payload: unknown;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string;
  deliveredAt: string | null;
  failedAt: string | null;
  lastError: string | null;
}

export interface HourlyOutcomeCount {
  connection: string;
  /** The start of the UTC hour, ISO 8601. */
  hour: string;
  class: OutcomeClass;
  probes: number;
}

export type OutboxCounts = Record<Channel, { pending: number; delivered: number; failed: number }>;

/** One outcome's probes in an hour of a connection's roll-up. */
export interface HourlyOutcome {
  outcome: Outcome;
  class: OutcomeClass;
  probes: number;
  /** Total durations in seconds of the probes that have one (`timed` of them: a credential problem sends nothing). */
  timed: number;
  totalSeconds: { sum: number; min: number | null; max: number | null };
}

/** A connection's UTC hour as rolled up (probe_hours, state_hours): what remains of it once its raw probes are pruned. */
export interface HourlySummary {
  /** The start of the UTC hour, ISO 8601. */
  hour: string;
  /** Per outcome, most probes first; empty for an hour without probes. */
  outcomes: HourlyOutcome[];
  /**
   * Seconds in each state within the hour, from the recorded state changes (states it was not in are absent).
   * They add up to 3600, less in the hour the connection was added to or removed from the config.
   */
  states: Partial<Record<AuthState, number>>;
}
