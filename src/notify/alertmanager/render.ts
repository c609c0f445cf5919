// Notification → Alertmanager API v2 alerts. Pure.
//
// Deduplication across replicas (docs/behaviour.md, Daemon): the label set is the alert's identity in Alertmanager, so
// labels hold only what every replica computes identically from the config and the incident kind —
// never a host, pid, time or count. startsAt is this replica's own observation of when the incident
// opened; replicas differ by a probe interval at most, and Alertmanager keeps the earliest startsAt
// when it merges alerts with the same labels. Annotations may differ; the latest one sent wins.
//
// A firing alert carries endsAt = send time + firingValidityMs, so Alertmanager keeps it firing only
// while authwatch keeps re-sending it (and resolves it on its own if authwatch goes away);
// a resolved alert carries endsAt = the resolve time.
import { formatDuration } from '../../config/duration.js';
import { incidentDurationMs, type IncidentState, type Notification, type NotificationKind } from '../types.js';
import { describeChanges } from '../describe-changes.js';

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** How authwatch keeps Alertmanager's view current (see plan.ts for when re-sends are planned). */
export const ALERTMANAGER_TIMING = {
  /** A firing alert is re-sent this often while the incident stays open. */
  resendIntervalMs: 5 * 60_000,
  /** A firing alert stays firing this long after it was sent (3 re-sends may be lost). */
  firingValidityMs: 15 * 60_000,
} as const;

export type AlertName =
  | 'AuthwatchAuthRegressed'
  | 'AuthwatchNeverAuthenticated'
  | 'AuthwatchUnreachable'
  | 'AuthwatchTlsChanged'
  | 'AuthwatchCertExpiringSoon'
  | 'AuthwatchTokenExpiringSoon'
  | 'AuthwatchIdentityChanged'
  | 'AuthwatchTest';

const INCIDENT_ALERTS: Record<IncidentState, { alertname: AlertName; severity: string }> = {
  regressed: { alertname: 'AuthwatchAuthRegressed', severity: 'critical' },
  failing: { alertname: 'AuthwatchNeverAuthenticated', severity: 'warning' },
  unreachable: { alertname: 'AuthwatchUnreachable', severity: 'warning' },
};

const EVENT_ALERTS: Record<Exclude<NotificationKind, 'incident_opened' | 'incident_reminder' | 'incident_resolved'>, { alertname: AlertName; severity: string }> = {
  tls_changed: { alertname: 'AuthwatchTlsChanged', severity: 'warning' },
  cert_expiring: { alertname: 'AuthwatchCertExpiringSoon', severity: 'warning' },
  token_expiring: { alertname: 'AuthwatchTokenExpiringSoon', severity: 'warning' },
  identity_changed: { alertname: 'AuthwatchIdentityChanged', severity: 'warning' },
  test: { alertname: 'AuthwatchTest', severity: 'info' },
};

export function alertIdentity(n: Notification): { alertname: AlertName; severity: string } {
  switch (n.kind) {
    case 'incident_opened':
    case 'incident_reminder':
    case 'incident_resolved':
      return INCIDENT_ALERTS[n.incident?.state ?? 'regressed'];
    default:
      return EVENT_ALERTS[n.kind];
  }
}

/** Resolved notifications are sent with endsAt = resolve time; everything else fires. */
export function isFiring(n: Notification): boolean {
  return n.kind !== 'incident_resolved';
}

/**
 * The configured labels first, then authwatch's own (which win on a clash):
 * alertname, source="authwatch", connection, deployment, severity.
 */
export function alertLabels(n: Notification): Record<string, string> {
  const { alertname, severity } = alertIdentity(n);
  const labels: Record<string, string> = { ...(n.connection?.labels ?? {}) };
  labels.alertname = alertname;
  labels.source = 'authwatch';
  if (n.connection) {
    labels.connection = n.connection.name;
    labels.deployment = n.connection.deployment;
  }
  labels.severity = severity;
  return labels;
}

export interface AlertmanagerRenderOptions {
  dashboardUrl: string | null;
  /** Send time; a firing alert's endsAt is now + firingValidityMs. */
  now: Date;
  firingValidityMs?: number;
}

export function renderAlertmanagerAlerts(n: Notification, options: AlertmanagerRenderOptions): AlertmanagerAlert[] {
  const startsAt = n.incident?.openedAt ?? n.at;
  const endsAt = isFiring(n)
    ? new Date(options.now.getTime() + (options.firingValidityMs ?? ALERTMANAGER_TIMING.firingValidityMs)).toISOString()
    : (n.incident?.resolvedAt ?? n.at);
  const alert: AlertmanagerAlert = {
    labels: alertLabels(n),
    annotations: annotations(n, options.dashboardUrl),
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
  if (options.dashboardUrl) alert.generatorURL = options.dashboardUrl;
  return [alert];
}

/** Re-stamps firing alerts' endsAt at the moment they are actually sent (a retried alert must not arrive already expired). */
export function withFiringWindow(alerts: AlertmanagerAlert[], now: Date, firingValidityMs: number): AlertmanagerAlert[] {
  const endsAt = new Date(now.getTime() + firingValidityMs).toISOString();
  return alerts.map((alert) => ({ ...alert, endsAt }));
}

function annotations(n: Notification, dashboardUrl: string | null): Record<string, string> {
  const result: Record<string, string> = { summary: summary(n), description: description(n) };
  const steps = n.kind === 'incident_opened' || n.kind === 'incident_reminder' ? (n.diagnosis?.remediation ?? []) : [];
  if (steps.length > 0) result.remediation = steps.map((step, index) => `${index + 1}. ${step}`).join('\n');
  if (n.diagnosis) result.outcome = n.diagnosis.outcome;
  if (dashboardUrl) result.dashboard = dashboardUrl;
  return result;
}

function summary(n: Notification): string {
  const name = n.connection?.name ?? 'authwatch';
  const state = n.incident?.state ?? 'regressed';
  const outcome = n.diagnosis ? ` (${n.diagnosis.outcome})` : '';
  switch (n.kind) {
    case 'incident_opened':
    case 'incident_reminder':
      return `${name}: ${{ regressed: 'auth regressed', failing: 'has never authenticated', unreachable: 'Jira unreachable' }[state]}${outcome}`;
    case 'incident_resolved': {
      const duration = incidentDurationMs(n.incident);
      return `${name}: ${{ regressed: 'auth works again', failing: 'authenticates now', unreachable: 'reachable again' }[state]}${duration === null ? '' : ` (resolved after ${formatDuration(duration)})`}`;
    }
    case 'tls_changed':
      return `${name}: TLS ${n.changes?.tlsProtocol.status === 'changed' ? `downgraded ${n.changes.tlsProtocol.before} → ${n.changes.tlsProtocol.after}` : 'changed'}`;
    case 'cert_expiring':
      return `${name}: TLS certificate expires ${n.certificate ? `on ${n.certificate.notAfter}` : 'soon'}`;
    case 'token_expiring':
      return `${name}: token expires ${n.token ? `on ${n.token.expiresAt}` : 'soon'}`;
    case 'identity_changed':
      return `${name}: authenticates as someone else`;
    case 'test':
      return 'authwatch test notification (authwatch test-alert)';
  }
}

function description(n: Notification): string {
  const parts: string[] = [];
  if (n.connection) parts.push(`${n.connection.url} (${n.connection.deployment}, ${n.connection.authType} auth)`);
  if (n.diagnosis && n.kind !== 'incident_resolved') {
    parts.push(`${n.diagnosis.title}: ${n.diagnosis.explanation}`);
    if (n.diagnosis.detail) parts.push(`Seen: ${n.diagnosis.detail}`);
  }
  if (n.http && n.kind !== 'incident_resolved') {
    const headers = Object.entries(n.http.headers).map(([name, value]) => `${name}: ${value}`);
    parts.push([`HTTP ${n.http.status}`, ...headers].join('; '));
    if (n.http.message.trim()) parts.push(`Server message: ${n.http.message.slice(0, 500)}`);
  }
  if (n.changes && n.kind !== 'incident_resolved' && n.kind !== 'cert_expiring' && n.kind !== 'token_expiring') {
    parts.push(`Since the last success: ${describeChanges(n.changes).join('; ')}`);
  }
  if (n.lastSuccessAt) parts.push(`Last success: ${n.lastSuccessAt}`);
  if (n.firstFailureAt && n.kind !== 'incident_resolved') parts.push(`First failure: ${n.firstFailureAt}`);
  if (n.kind === 'test') parts.push('Sent by `authwatch test-alert` to check that Alertmanager receives authwatch alerts.');
  return parts.join('\n');
}
