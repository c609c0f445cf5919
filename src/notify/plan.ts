// Which notifications a cycle produces. Pure: data in, data out, no clock, no I/O.
//
// Every planned notification has a dedupe key derived only from recorded facts (connection, incident
// state and opening time, a slot's due time, a notAfter...), so planning the same cycle twice — after a
// crash, a restart, or on every evaluation while an incident stays open — can never enqueue it twice:
// the outbox keeps the first row with a key and ignores the rest.
//
// Reminders and Alertmanager re-sends are numbered slots counted from the incident's opening:
// slot k is due at openedAt + k × interval. Only slots reached since the previous evaluation are planned,
// which keeps re-planning cheap; the keys make it safe either way. The daemon must evaluate every open
// incident at least every ALERTMANAGER_TIMING.resendIntervalMs (a sweep, not only after probes), or
// Alertmanager's firing window runs out between probes on a slow schedule.
import type { AuthState } from '../state/types.js';
import { CHANNELS, type Channel } from './registry.js';
import {
  isIncidentState,
  type Changes,
  type Notification,
  type NotificationDiagnosis,
  type NotificationHttp,
  type NotificationIncident,
  type NotifiedConnection,
  type NotificationKind,
} from './types.js';

/** A notification every configured channel hears of. */
export const ALL_CHANNELS: readonly Channel[] = CHANNELS;

export interface PlannedNotification {
  kind: NotificationKind;
  /** Unique for this notification; the registry appends channel and target per outbox row. */
  dedupeKey: string;
  channels: readonly Channel[];
  transition: { from: AuthState; to: AuthState } | null;
  incident: NotificationIncident | null;
  /** tls_changed / identity_changed: the comparison that triggered it. */
  changes: Changes | null;
  certificate: { notAfter: string; daysLeft: number } | null;
  token: { expiresAt: string; daysLeft: number } | null;
}

export interface IncidentPolicy {
  /** 0 = no reminders. */
  reminderIntervalMs: number;
  /** Alertmanager firing alerts are re-sent this often while an incident is open (0 = never). */
  alertmanagerResendMs: number;
}

export interface IncidentPlanInput {
  connection: string;
  /** ISO 8601. */
  now: string;
  /** The state change this cycle committed, if any. fromSince: when the previous state began. */
  change: { from: AuthState; to: AuthState; at: string; fromSince: string | null } | null;
  /** The state after this cycle, and since when (ConnectionState.state / since). */
  current: { state: AuthState; since: string | null };
  /** When this connection was last evaluated before now; null when unknown (then the current slot is planned). */
  previousEvaluationAt: string | null;
  policy: IncidentPolicy;
}

function planned(kind: NotificationKind, dedupeKey: string, channels: readonly Channel[], extra: Partial<PlannedNotification>): PlannedNotification {
  return { kind, dedupeKey, channels, transition: null, incident: null, changes: null, certificate: null, token: null, ...extra };
}

function incidentKey(connection: string, incident: { state: string; openedAt: string }): string {
  return `${connection}|${incident.state}|${incident.openedAt}`;
}

/** Slot k (≥ 1) reached at `now`, counted every intervalMs from `start`, when it was not yet reached at `previous`. */
export function newSlot(start: string, intervalMs: number, now: string, previous: string | null): number | null {
  if (intervalMs <= 0) return null;
  const slotAt = (time: string) => Math.floor((Date.parse(time) - Date.parse(start)) / intervalMs);
  const slot = slotAt(now);
  if (!(slot >= 1)) return null;
  if (previous !== null && Date.parse(previous) >= Date.parse(start) && slotAt(previous) >= slot) return null;
  return slot;
}

/**
 * When slot k is due. Keys name the instant, not the slot number, so a changed interval (a reload) can neither
 * reuse an already-sent key for a new reminder nor send one twice.
 */
function slotTime(start: string, intervalMs: number, slot: number): string {
  return new Date(Date.parse(start) + slot * intervalMs).toISOString();
}

export function planIncidentNotifications(input: IncidentPlanInput): PlannedNotification[] {
  const { connection, change, current, now, policy } = input;
  const result: PlannedNotification[] = [];
  if (change) {
    if (isIncidentState(change.from)) {
      const incident: NotificationIncident = { state: change.from, openedAt: change.fromSince ?? change.at, resolvedAt: change.at };
      result.push(
        planned('incident_resolved', `${incidentKey(connection, incident)}|resolved`, ALL_CHANNELS, {
          transition: { from: change.from, to: change.to },
          incident,
        }),
      );
    }
    if (isIncidentState(change.to)) {
      const incident: NotificationIncident = { state: change.to, openedAt: change.at, resolvedAt: null };
      result.push(
        planned('incident_opened', `${incidentKey(connection, incident)}|opened`, ALL_CHANNELS, {
          transition: { from: change.from, to: change.to },
          incident,
        }),
      );
    }
  } else if (isIncidentState(current.state) && current.since) {
    const incident: NotificationIncident = { state: current.state, openedAt: current.since, resolvedAt: null };
    const reminder = newSlot(incident.openedAt, policy.reminderIntervalMs, now, input.previousEvaluationAt);
    if (reminder !== null) {
      result.push(planned('incident_reminder', `${incidentKey(connection, incident)}|reminder|${slotTime(incident.openedAt, policy.reminderIntervalMs, reminder)}`, ['slack'], { incident }));
    }
    const resend = newSlot(incident.openedAt, policy.alertmanagerResendMs, now, input.previousEvaluationAt);
    if (resend !== null) {
      result.push(planned('incident_reminder', `${incidentKey(connection, incident)}|am-firing|${slotTime(incident.openedAt, policy.alertmanagerResendMs, resend)}`, ['alertmanager'], { incident }));
    }
  }
  return result;
}

/** An event recorded by the daemon (src/state/events.ts) that may deserve a notification of its own. */
export interface NotifiableEvent {
  kind: string;
  details: Record<string, unknown>;
}

/**
 * The notification of a recorded event, keyed so that the same occurrence can never be enqueued twice:
 * tls_changed once per last success and change, identity_changed once per change, cert_expiring once per
 * certificate notAfter, token_expiring once per expiry date. Whether an event notifies at all is the
 * detector's decision (only a protocol downgrade does, for tls_changed).
 */
export function planEventNotification(
  connection: string,
  event: NotifiableEvent,
  facts: { lastSuccessAt: string | null; changes: Changes | null },
): PlannedNotification | null {
  const { details } = event;
  switch (event.kind) {
    case 'tls_changed': {
      // Once per protocol pair: a load balancer whose nodes alternate between TLS 1.3 and 1.2 warns once, not at every flip.
      const protocol = details.protocol as { before?: unknown; after?: unknown } | undefined;
      return planned('tls_changed', `${connection}|tls_changed|${String(protocol?.before)}>${String(protocol?.after)}`, ALL_CHANNELS, { changes: facts.changes });
    }
    case 'identity_changed':
      return planned('identity_changed', `${connection}|identity_changed|${String(details.before)}>${String(details.after)}`, ALL_CHANNELS, { changes: facts.changes });
    case 'cert_expiring':
      return planned('cert_expiring', `${connection}|cert_expiring|${String(details.notAfter)}`, ALL_CHANNELS, {
        certificate: { notAfter: String(details.notAfter), daysLeft: Number(details.daysLeft) },
      });
    case 'token_expiring':
      return planned('token_expiring', `${connection}|token_expiring|${String(details.expiresAt)}`, ALL_CHANNELS, {
        token: { expiresAt: String(details.expiresAt), daysLeft: Number(details.daysLeft) },
      });
    default:
      return null;
  }
}

/**
 * An Alertmanager re-send of an open expiry incident (cert_expiring, token_expiring): the notice is re-sent every
 * policy.alertmanagerResendMs while the certificate or token is not replaced, like an open auth incident, so
 * Alertmanager never lets it expire (and the Prometheus rule twin it inhibits never notifies again). Slack gets the
 * notice once. Keyed by the expiry and the slot's due time.
 */
export function planExpiryResend(
  connection: string,
  incident: { kind: 'cert_expiring' | 'token_expiring'; openedAt: string },
  expiry: { at: string; daysLeft: number },
  policy: IncidentPolicy,
  now: string,
  previousEvaluationAt: string | null,
): PlannedNotification | null {
  const slot = newSlot(incident.openedAt, policy.alertmanagerResendMs, now, previousEvaluationAt);
  if (slot === null) return null;
  const details = incident.kind === 'cert_expiring' ? { notAfter: expiry.at, daysLeft: expiry.daysLeft } : { expiresAt: expiry.at, daysLeft: expiry.daysLeft };
  const notice = planEventNotification(connection, { kind: incident.kind, details }, { lastSuccessAt: null, changes: null })!;
  return { ...notice, dedupeKey: `${notice.dedupeKey}|am-firing|${slotTime(incident.openedAt, policy.alertmanagerResendMs, slot)}`, channels: ['alertmanager'] };
}

/** What the daemon knows about the connection and its latest probe when it builds a planned notification. */
export interface NotificationFacts {
  connection: NotifiedConnection;
  /** The cycle's time (ISO 8601). */
  at: string;
  diagnosis: NotificationDiagnosis | null;
  http: NotificationHttp | null;
  lastSuccessAt: string | null;
  firstFailureAt: string | null;
  /** compareWithLastSuccess(lastOk, current), or null when there never was a success. */
  changes: Changes | null;
  certificateSubject: string | null;
}

export function notificationFromPlan(plan: PlannedNotification, facts: NotificationFacts): Notification {
  return {
    kind: plan.kind,
    connection: facts.connection,
    at: plan.incident?.resolvedAt ?? facts.at,
    transition: plan.transition,
    incident: plan.incident,
    diagnosis: facts.diagnosis,
    http: facts.http,
    lastSuccessAt: facts.lastSuccessAt,
    firstFailureAt: facts.firstFailureAt,
    changes: plan.changes ?? facts.changes,
    certificate: plan.certificate ? { ...plan.certificate, subject: facts.certificateSubject } : null,
    token: plan.token,
  };
}

/** A `test` notification (authwatch test-alert): not about any connection. */
export function testNotification(at: string): Notification {
  return {
    kind: 'test',
    connection: null,
    at,
    transition: null,
    incident: null,
    diagnosis: null,
    http: null,
    lastSuccessAt: null,
    firstFailureAt: null,
    changes: null,
    certificate: null,
    token: null,
  };
}
