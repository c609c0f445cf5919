// What the JSON API shows, and the interface the daemon implements over the store to supply it.
// The views are the API's stable JSON shape (documented in docs/http-api.md); they hold no secret by construction.
import type { Deployment } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { Changes } from '../notify/types.js';
import type { ProbeTimings, TlsDetails } from '../probe/observation.js';
import type { AuthState } from '../state/types.js';

export interface OutcomeView {
  outcome: Outcome;
  class: OutcomeClass;
  /** Specific to the probe, e.g. `401 text/plain "Basic authentication with passwords is deprecated"`. */
  detail: string | null;
  /** Short name of the outcome, e.g. "Jira Cloud rejected the basic-auth credentials". */
  title: string;
  /** The outcome's one-line explanation for the integration's owner. */
  explanation: string;
  /** What to do about it, in order. */
  remediation: string[];
}

export interface TlsSummaryView {
  protocol: string | null;
  cipher: string | null;
  /** Leaf certificate expiry, ISO 8601. */
  notAfter: string | null;
  authorized: boolean;
}

export interface ConnectionView {
  name: string;
  url: string;
  deployment: Deployment;
  authType: AuthType;
  state: AuthState;
  /** When the current state began (ISO 8601); null while unknown. */
  since: string | null;
  lastOutcome: OutcomeView | null;
  lastProbeAt: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  /** From the last probe; null when it did not get as far as a TLS handshake (DNS, connect) or for http:// loopback URLs. */
  tls: TlsSummaryView | null;
}

export interface ProbeView {
  /** When the probe started, ISO 8601. */
  at: string;
  outcome: Outcome;
  class: OutcomeClass;
  detail: string | null;
  httpStatus: number | null;
  /** Error code when there was no usable response: ENOTFOUND, ECONNREFUSED, CERT_HAS_EXPIRED, ... */
  errorCode: string | null;
  /** The server's message: first 500 characters of the body, secrets masked. */
  message: string | null;
  /** The Atlassian/diagnostic response headers (docs/behaviour.md, The probe), lower-case names. */
  headers: Record<string, string>;
  /** Seconds per phase; null for a phase that did not happen. */
  timings: ProbeTimings;
  tls: TlsSummaryView | null;
  /** 16 hex chars of an HMAC of the secret: shows whether the credential changed, can't be reversed. */
  credentialFingerprint: string | null;
}

export interface ReadModel {
  /** Every configured connection with its current state, sorted by name. */
  listConnections(): ConnectionView[] | Promise<ConnectionView[]>;
  /** The connection's most recent probes, newest first, at most `limit`; null when no such connection is configured. */
  recentProbes(name: string, limit: number): ProbeView[] | null | Promise<ProbeView[] | null>;
}

// ---------------------------------------------------------------------------------------------
// The status page's reads (src/server/ui/): narrower and richer than the JSON API, never a secret either.

/** A connection as the status page lists it: the API's view plus its configured labels. */
export interface StatusConnectionView extends ConnectionView {
  labels: Record<string, string>;
  /** Set when the connection is no longer in the config (its page stays readable). */
  removedAt: string | null;
}

/** Probes in one hour of a connection's outcome strip, by class. */
export interface OutcomeBucketView {
  /** Start of the hour, ISO 8601. */
  start: string;
  ok: number;
  auth: number;
  /** network, tls and server classes. */
  other: number;
}

export interface ProbeDetailView extends ProbeView {
  /** Everything recorded of the TLS handshake: subject, issuer, SANs, serial, fingerprint, validity, verification. */
  tlsDetails: TlsDetails | null;
}

export interface NotificationView {
  channel: string;
  kind: string;
  createdAt: string;
  attempts: number;
  deliveredAt: string | null;
  failedAt: string | null;
  /** Redacted by the dispatcher before it was stored (never a webhook URL). */
  lastError: string | null;
}

export interface IncidentView {
  id: number;
  kind: string;
  openedAt: string;
  lastNotifiedAt: string | null;
  notifications: NotificationView[];
}

export interface ConnectionDetailView {
  connection: StatusConnectionView;
  /** Newest first. */
  probes: ProbeDetailView[];
  /** The last successful probe, kept by pruning; null when there never was one. */
  lastOk: ProbeDetailView | null;
  /** The latest probe compared with the last success (the comparison the notifications carry); null without both. */
  changes: Changes | null;
  openIncidents: IncidentView[];
}

export interface StatusReadModel {
  /** Every configured connection, sorted by name. */
  statusConnections(): StatusConnectionView[] | Promise<StatusConnectionView[]>;
  /** Outcome counts per UTC hour from `since` (a whole hour), `hours` of them, for just these connections; every hour present. */
  outcomeStrips(names: readonly string[], since: Date, hours: number): Map<string, OutcomeBucketView[]> | Promise<Map<string, OutcomeBucketView[]>>;
  /** null when no connection of that name was ever configured. */
  connectionDetail(name: string, probeLimit: number): ConnectionDetailView | null | Promise<ConnectionDetailView | null>;
}
