// Turns a cycle's state change and events into incident bookkeeping and outbox rows, using the pure planners
// of src/notify and the configured notifiers' renderers. Also the periodic sweep that plans reminders and
// Alertmanager re-sends for incidents that stay open between probes.
import type { AlertingConfig, Config, Connection } from '../config/load.js';
import { describeOutcome } from '../diagnosis/outcomes.js';
import type { Diagnosis } from '../diagnosis/types.js';
import { ALERTMANAGER_TIMING } from '../notify/alertmanager/render.js';
import { notificationFromPlan, planEventNotification, planExpiryResend, planIncidentNotifications, type IncidentPolicy, type NotificationFacts, type PlannedNotification } from '../notify/plan.js';
import { renderOutboxEntries, type Notifier, type RenderFailure } from '../notify/registry.js';
import { compareWithLastSuccess, isIncidentState, snapshotOf, type Channel, type NotificationKind } from '../notify/types.js';
import type { Logger } from '../log/logger.js';
import type { AuthwatchMetrics } from '../metrics/metrics.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { ConnectionState } from '../state/types.js';
import type { IncidentChange, NewOutboxItem, OutboxKind, Ref, Store, StoredIncident } from '../store/store.js';
import type { NotificationPlan, PlanInput } from './cycle.js';

export interface NotificationContext {
  notifiers: readonly Notifier[];
  alerting: AlertingConfig;
}

const OUTBOX_KIND: Record<NotificationKind, OutboxKind> = {
  incident_opened: 'open',
  incident_resolved: 'resolve',
  incident_reminder: 'reminder',
  tls_changed: 'event',
  cert_expiring: 'event',
  token_expiring: 'event',
  identity_changed: 'event',
  test: 'test',
};

export function incidentPolicy(alerting: AlertingConfig): IncidentPolicy {
  const alertmanager = alerting.alertmanager !== null;
  return {
    reminderIntervalMs: alerting.reminderIntervalMs,
    alertmanagerResendMs: alertmanager ? ALERTMANAGER_TIMING.resendIntervalMs : 0,
  };
}

export function planNotifications(input: PlanInput, context: NotificationContext): NotificationPlan {
  const { connection, change, events, openIncidents, before, next, now } = input;
  const incidents: IncidentChange[] = [];
  const openIndex = new Map<string, number>();
  const resolveIndex = new Map<string, number>();
  const openOf = (kind: string) => openIncidents.find((incident) => incident.kind === kind);

  if (change) {
    const previous = isIncidentState(change.from) ? openOf(change.from) : undefined;
    if (previous) {
      resolveIndex.set(change.from, incidents.length);
      incidents.push({ action: 'resolve', incidentId: previous.id, event: 0 });
    }
    if (isIncidentState(change.to)) {
      openIndex.set(change.to, incidents.length);
      incidents.push({ action: 'open', kind: change.to, event: 0 });
    }
  }
  events.forEach((event, index) => {
    if (event.kind !== 'cert_expiring' && event.kind !== 'token_expiring') return;
    if (event.incident === 'open') {
      openIndex.set(event.kind, incidents.length);
      incidents.push({ action: 'open', kind: event.kind, event: index });
    } else if (event.incident === 'resolve') {
      const open = openOf(event.kind);
      if (open) incidents.push({ action: 'resolve', incidentId: open.id, event: index });
    }
  });

  const facts = notificationFacts(connection, input.observation, input.diagnosis, next, input.lastOk, now);
  const planned = planIncidentNotifications({
    connection: connection.name,
    now: now.toISOString(),
    change: change ? { from: change.from, to: change.to, at: change.at, fromSince: before.since } : null,
    current: { state: next.state, since: next.since },
    previousEvaluationAt: before.lastProbeAt,
    policy: incidentPolicy(context.alerting),
  });
  const outbox: NewOutboxItem[] = [];
  const renderFailures: RenderFailure[] = [];
  const add = (rendered: Rendered) => {
    outbox.push(...rendered.rows);
    renderFailures.push(...rendered.failures);
  };
  for (const plan of planned) {
    const state = plan.incident?.state;
    let incident: Ref | undefined;
    if (plan.kind === 'incident_opened' && state !== undefined && openIndex.has(state)) incident = { index: openIndex.get(state)! };
    else if (plan.kind === 'incident_resolved' && state !== undefined && resolveIndex.has(state)) incident = { index: resolveIndex.get(state)! };
    else if (plan.kind === 'incident_reminder' && state !== undefined) {
      const open = openOf(state);
      if (open) incident = { id: open.id };
    }
    if (!incident) continue; // an incident the database does not know (e.g. opened before incidents were recorded)
    add(rows(plan, facts, incidentNotifiers(context.notifiers, context.alerting), now, { incident }));
  }

  events.forEach((event, index) => {
    if (!event.notify) return;
    const plan = planEventNotification(connection.name, { kind: event.kind, details: event.details ?? {} }, facts);
    if (plan) add(rows(plan, facts, context.notifiers, now, { event: { index } }));
  });
  return { incidents, outbox, renderFailures };
}

/** Reminders and Alertmanager re-sends for open incidents; returns how many rows were enqueued. */
export function sweepIncidents(
  store: Store,
  config: Config,
  notifiers: readonly Notifier[],
  now: Date,
  previousSweepAt: Date | null,
  onRenderFailures: (failures: RenderFailure[]) => void,
): number {
  const policy = incidentPolicy(config.alerting);
  if (notifiers.length === 0 || (policy.reminderIntervalMs === 0 && policy.alertmanagerResendMs === 0)) return 0;
  const connections = new Map(config.connections.map((connection) => [connection.name, connection]));
  const items: NewOutboxItem[] = [];
  const failures: RenderFailure[] = [];
  for (const incident of store.openIncidents()) {
    const connection = connections.get(incident.connection);
    const kind = incident.kind;
    if (!connection) continue;
    const latest = store.recentProbes(connection.name, 1)[0];
    if (!latest) continue;
    const state = store.loadState(connection.name);
    if (kind === 'cert_expiring' || kind === 'token_expiring') {
      const expiresAt = kind === 'cert_expiring' ? latest.observation.tls?.notAfter : connection.tokenExpiresAt;
      if (!expiresAt) continue;
      const daysLeft = Math.floor((Date.parse(expiresAt) - now.getTime()) / 86_400_000);
      const resend = planExpiryResend(connection.name, { kind, openedAt: incident.openedAt }, { at: expiresAt, daysLeft }, policy, now.toISOString(), previousSweepAt?.toISOString() ?? null);
      if (!resend) continue;
      const facts = notificationFacts(connection, latest.observation, latest, state, null, now);
      const rendered = rows(resend, facts, notifiers, now, { incident: { id: incident.id } });
      failures.push(...rendered.failures);
      items.push(...rendered.rows.map((row) => ({ ...row, kind: 'reminder' as const })));
      continue;
    }
    const planned = planIncidentNotifications({
      connection: connection.name,
      now: now.toISOString(),
      change: null,
      current: { state: kind, since: state.state === kind ? state.since : incident.openedAt },
      previousEvaluationAt: previousSweepAt?.toISOString() ?? null,
        policy,
    });
    const facts = notificationFacts(connection, latest.observation, latest, state, store.lastOkProbe(connection.name)?.observation ?? null, now);
    for (const plan of planned) {
      const rendered = rows(plan, facts, incidentNotifiers(notifiers, config.alerting), now, { incident: { id: incident.id } });
      failures.push(...rendered.failures);
      items.push(...rendered.rows);
    }
  }
  if (failures.length > 0) onRenderFailures(failures);
  if (items.length === 0) return 0;
  return store.enqueueOutbox(items, now).filter((id) => id !== null).length;
}

/**
 * A renderer that threw (a defect in a notifier): its row was not written, so it is logged with the error and
 * counted as a failed notification (authwatch_notifications_total{result="failed"}); nothing else is lost.
 */
export function reportRenderFailures(failures: readonly RenderFailure[], log: Logger, metrics: Pick<AuthwatchMetrics, 'notification'>): void {
  for (const failure of failures) {
    log.error('notification could not be rendered; not sent', { channel: failure.channel, target: failure.target, error: failure.error });
    metrics.notification(failure.channel, 'failed');
  }
}

/** With Slack grouping on, Slack hears of incidents only through their group (src/daemon/slack-groups.ts). */
function incidentNotifiers(notifiers: readonly Notifier[], alerting: AlertingConfig): readonly Notifier[] {
  return (alerting.slack?.groupWindowMs ?? 0) > 0 ? notifiers.filter((notifier) => notifier.channel !== 'slack') : notifiers;
}

interface Rendered {
  rows: NewOutboxItem[];
  failures: RenderFailure[];
}

function rows(plan: PlannedNotification, facts: NotificationFacts, notifiers: readonly Notifier[], now: Date, refs: Pick<NewOutboxItem, 'incident' | 'event'>): Rendered {
  const notification = notificationFromPlan(plan, facts);
  const { entries, failures } = renderOutboxEntries(notifiers, notification, plan, { now });
  return {
    rows: entries.map((entry) => ({
      channel: entry.channel as Channel,
      kind: OUTBOX_KIND[plan.kind],
      target: entry.target,
      payload: entry.payload,
      dedupeKey: entry.dedupeKey,
      ...refs,
    })),
    failures,
  };
}

export function notificationFacts(
  connection: Connection,
  observation: ProbeObservation,
  diagnosis: Pick<Diagnosis, 'outcome' | 'class' | 'detail'>,
  state: ConnectionState,
  lastOk: ProbeObservation | null,
  now: Date,
): NotificationFacts {
  const guide = describeOutcome(diagnosis.outcome, connection.deployment);
  return {
    connection: { name: connection.name, url: connection.url, deployment: connection.deployment, authType: connection.auth.type, labels: connection.labels },
    at: now.toISOString(),
    diagnosis: { outcome: diagnosis.outcome, class: diagnosis.class, detail: diagnosis.detail, title: guide.title, explanation: guide.explanation, remediation: guide.remediation },
    http: observation.http
      ? { status: observation.http.status, contentType: observation.http.contentType, headers: observation.http.headers, message: observation.http.message }
      : null,
    lastSuccessAt: state.lastSuccessAt,
    firstFailureAt: state.firstFailureAt,
    changes: lastOk ? compareWithLastSuccess(snapshotOf(lastOk), snapshotOf(observation)) : null,
    certificateSubject: observation.tls?.subject ?? null,
  };
}

export type { StoredIncident };
