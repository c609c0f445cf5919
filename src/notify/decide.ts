// Why did (or didn't) this message go out: the one pure decision from a cycle's facts to the incidents it opens
// or resolves and the outbox rows it writes. The facts come from elsewhere — the state change from the state
// machine (src/state/machine.ts), expiry entering or leaving its warning window from src/state/events.ts (an
// event with incident 'open' / 'resolve'), the open incidents from the store — and the per-kind rules (which
// change notifies, reminders, Alertmanager re-sends, dedupe keys, channels) from src/notify/plan.ts; this
// module joins them, asks each configured notifier to render, and says which rows could not be rendered.
// No I/O: src/daemon/cycle.ts commits the result, src/daemon/notifications.ts logs and counts render failures.
import type { AlertingConfig, Connection } from '../config/load.js';
import { describeOutcome } from '../diagnosis/outcomes.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { ConnectionState, StateChange } from '../state/types.js';
import type { IncidentChange, NewEvent, NewOutboxItem, OutboxKind, Ref, StoredIncident } from '../store/store.js';
import { ALERTMANAGER_TIMING } from './alertmanager/render.js';
import { notificationFromPlan, planEventNotification, planIncidentNotifications, type IncidentPolicy, type NotificationFacts, type PlannedNotification } from './plan.js';
import { renderOutboxEntries, type Notifier, type RenderFailure } from './registry.js';
import { compareWithLastSuccess, isIncidentState, snapshotOf, type NotificationKind } from './types.js';

export interface PlanInput {
  connection: Connection;
  observation: ProbeObservation;
  diagnosis: Diagnosis;
  before: ConnectionState;
  next: ConnectionState;
  change: StateChange | null;
  /** Events of this cycle in the order they will be stored; index 0 is the state change when there is one. */
  events: (NewEvent & { notify?: boolean; incident?: 'open' | 'resolve' | null })[];
  lastOk: ProbeObservation | null;
  openIncidents: StoredIncident[];
  now: Date;
}

export interface NotificationPlan {
  incidents: IncidentChange[];
  outbox: NewOutboxItem[];
  /** Rows a notifier could not render: not written, logged and counted as failed notifications after the commit. */
  renderFailures?: RenderFailure[];
}

export type NotificationPlanner = (input: PlanInput) => NotificationPlan;

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
  const alertmanager = Boolean(alerting.alertmanager);
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
/** With Slack grouping on, Slack hears of incidents only through their group (src/daemon/slack-groups.ts). */
export function incidentNotifiers(notifiers: readonly Notifier[], alerting: AlertingConfig): readonly Notifier[] {
  return (alerting.slack?.groupWindowMs ?? 0) > 0 ? notifiers.filter((notifier) => notifier.channel !== 'slack') : notifiers;
}

export interface Rendered {
  rows: NewOutboxItem[];
  failures: RenderFailure[];
}

export function rows(plan: PlannedNotification, facts: NotificationFacts, notifiers: readonly Notifier[], now: Date, refs: Pick<NewOutboxItem, 'incident' | 'event'>): Rendered {
  const notification = notificationFromPlan(plan, facts);
  const { entries, failures } = renderOutboxEntries(notifiers, notification, plan, { now });
  return {
    rows: entries.map((entry) => ({
      channel: entry.channel,
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

