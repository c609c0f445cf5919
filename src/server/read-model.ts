// What the JSON API shows, and the interface the daemon implements over the store to supply it.
// The views are the API's stable JSON shape (documented in the SPEC's section 8); they hold no secret by construction.
import type { Deployment } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { ProbeTimings } from '../probe/observation.js';
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
  /** The Atlassian/diagnostic response headers (SPEC section 4), lower-case names. */
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
