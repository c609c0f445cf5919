// The data a notification is rendered from: recorded facts only, never a secret.
// Built by the daemon from the state change, the probe row and the diagnosis; read by the pure renderers.
import type { AuthType } from '../config/schema.js';
import type { Deployment } from '../config/load.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { Identity, ProbeObservation } from '../probe/observation.js';
import { isProtocolDowngrade as protocolDowngrade } from '../probe/tls.js';
import type { AuthState } from '../state/types.js';

export type NotificationKind =
  | 'incident_opened'
  | 'incident_reminder'
  | 'incident_resolved'
  | 'tls_changed'
  | 'cert_expiring'
  | 'token_expiring'
  | 'identity_changed'
  | 'test';

/** The states that are an open incident. */
export type IncidentState = 'failing' | 'regressed' | 'unreachable';
export const INCIDENT_STATES: readonly IncidentState[] = ['failing', 'regressed', 'unreachable'];
export function isIncidentState(state: AuthState): state is IncidentState {
  return (INCIDENT_STATES as readonly string[]).includes(state);
}

/** A channel's name: a key of CHANNEL_REGISTRY (registry.ts), where CHANNELS, the list of them, lives too. */
export type { Channel } from './registry.js';

export interface NotifiedConnection {
  name: string;
  /** Base URL of the Jira site (never contains credentials). */
  url: string;
  deployment: Deployment;
  authType: AuthType;
  labels: Record<string, string>;
}

/** One compared fact: the value at the last successful probe against the value now. */
export type Comparison =
  | { status: 'unchanged'; value: string }
  | { status: 'changed'; before: string; after: string }
  /** Not observed on one side (no last success, no TLS handshake, no identity in a failed answer). */
  | { status: 'unknown' };

/** What changed since the last successful probe. */
export interface Changes {
  /** Compares credential fingerprints (HMACs), so it never needs the secret. */
  credential: 'unchanged' | 'changed' | 'unknown';
  tlsProtocol: Comparison;
  tlsCipher: Comparison;
  /** Leaf certificate SHA-256 fingerprint. */
  tlsCertificate: Comparison;
  identity: Comparison;
}

/** The facts of one probe that are compared against the last successful one. */
export interface ProbeSnapshot {
  credentialFingerprint: string | null;
  tlsProtocol: string | null;
  tlsCipher: string | null;
  tlsFingerprint: string | null;
  /** A stable id of who the credentials authenticated as: accountId (Cloud), else key, else name (Data Center). */
  identity: string | null;
}

export interface NotificationDiagnosis {
  outcome: Outcome;
  class: OutcomeClass;
  /** The classifier's one-line detail for this probe. */
  detail: string;
  /** From describeOutcome(outcome, deployment). */
  title: string;
  explanation: string;
  remediation: string[];
}

export interface NotificationHttp {
  status: number;
  contentType: string | null;
  /** The Atlassian/diagnostic headers the probe kept (lower-case names). */
  headers: Record<string, string>;
  /** The server's message: first 500 characters of the body, secrets already masked by the probe. */
  message: string;
}

export interface NotificationIncident {
  state: IncidentState;
  /** When the connection entered the incident state (ISO 8601). */
  openedAt: string;
  /** Set on incident_resolved. */
  resolvedAt: string | null;
}

export interface Notification {
  kind: NotificationKind;
  /** null only for a `test` notification. */
  connection: NotifiedConnection | null;
  /** When it happened: the state change, the probe that noticed the event, or when a test was requested (ISO 8601). */
  at: string;
  /** The state change behind an incident notification (for a reminder: the one that opened it). */
  transition: { from: AuthState; to: AuthState } | null;
  incident: NotificationIncident | null;
  /** The latest probe's diagnosis (for incident_resolved: the recovering probe). */
  diagnosis: NotificationDiagnosis | null;
  /** null when the probe got no HTTP answer. */
  http: NotificationHttp | null;
  lastSuccessAt: string | null;
  firstFailureAt: string | null;
  /** Compared with the last successful probe; null when there never was one. */
  changes: Changes | null;
  /** cert_expiring */
  certificate: { notAfter: string; daysLeft: number; subject: string | null } | null;
  /** token_expiring */
  token: { expiresAt: string; daysLeft: number } | null;
}

/** What a channel said about one delivery attempt. Reasons never contain a webhook URL or credentials. */
export type DeliveryResult =
  | { kind: 'delivered' }
  /** Worth trying again: 429, 5xx, network error, timeout. afterMs from Retry-After when the server sent one. */
  | { kind: 'retry'; afterMs: number | null; reason: string }
  /** Will never be accepted as is (4xx other than 429): not retried. */
  | { kind: 'rejected'; reason: string };

/** How long an incident lasted, or null while it is open. */
export function incidentDurationMs(incident: NotificationIncident | null): number | null {
  if (!incident?.resolvedAt) return null;
  return Math.max(0, Date.parse(incident.resolvedAt) - Date.parse(incident.openedAt));
}

/** accountId on Cloud; key, then name on Data Center. */
export function identityIdOf(identity: Identity | null): string | null {
  if (!identity) return null;
  return identity.accountId ?? identity.key ?? identity.name ?? null;
}

export function snapshotOf(observation: ProbeObservation): ProbeSnapshot {
  return {
    credentialFingerprint: observation.credential.fingerprint,
    tlsProtocol: observation.tls?.protocol ?? null,
    tlsCipher: observation.tls?.cipher ?? null,
    tlsFingerprint: observation.tls?.fingerprint256 ?? null,
    identity: identityIdOf(observation.identity),
  };
}

function compare(before: string | null | undefined, after: string | null | undefined): Comparison {
  if (before == null || after == null) return { status: 'unknown' };
  return before === after ? { status: 'unchanged', value: after } : { status: 'changed', before, after };
}

/** What differs between the last successful probe and this one. Pure. */
export function compareWithLastSuccess(lastOk: ProbeSnapshot | null, current: ProbeSnapshot): Changes {
  const credential = compare(lastOk?.credentialFingerprint, current.credentialFingerprint).status;
  return {
    credential,
    tlsProtocol: compare(lastOk?.tlsProtocol, current.tlsProtocol),
    tlsCipher: compare(lastOk?.tlsCipher, current.tlsCipher),
    tlsCertificate: compare(lastOk?.tlsFingerprint, current.tlsFingerprint),
    identity: compare(lastOk?.identity, current.identity),
  };
}

/** True when the negotiated protocol is older than before (TLSv1.3 → TLSv1.2). Unknown names rank lowest. */
export function isProtocolDowngrade(comparison: Comparison): boolean {
  if (comparison.status !== 'changed') return false;
  return protocolDowngrade(comparison.before, comparison.after);
}
