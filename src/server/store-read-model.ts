// The API's read model over the SQLite store: pure mappings from stored rows to the API's views.
// The daemon creates it with the open store; the views add each outcome's explanation and remediation.
import { describeOutcome } from '../diagnosis/outcomes.js';
import type { Outcome } from '../diagnosis/outcome-names.js';
import type { Deployment } from '../config/load.js';
import type { TlsDetails } from '../probe/observation.js';
import { compareWithLastSuccess, snapshotOf } from '../notify/types.js';
import type { ReadStore } from '../store/ports.js';
import type { ConnectionSummary, OutboxItem, StoredIncident, StoredProbe, TlsSummary } from '../store/types.js';
import type {
  ConnectionView,
  IncidentView,
  NotificationView,
  OutcomeBucketView,
  OutcomeView,
  ProbeDetailView,
  ProbeView,
  ReadModel,
  StatusConnectionView,
  StatusReadModel,
  TlsSummaryView,
} from './read-model.js';

export function outcomeView(outcome: Outcome, outcomeClassName: OutcomeView['class'], detail: string | null, deployment: Deployment): OutcomeView {
  const guide = describeOutcome(outcome, deployment);
  return { outcome, class: outcomeClassName, detail, title: guide.title, explanation: guide.explanation, remediation: guide.remediation };
}

function tlsSummaryView(tls: TlsSummary | TlsDetails | null | undefined): TlsSummaryView | null {
  if (!tls) return null;
  return { protocol: tls.protocol, cipher: tls.cipher, notAfter: tls.notAfter, authorized: tls.authorized };
}

export function connectionView(summary: ConnectionSummary): ConnectionView {
  const { state, lastProbe } = summary;
  return {
    name: summary.name,
    url: summary.url,
    deployment: summary.deployment,
    authType: summary.authType,
    state: state.state,
    since: state.since,
    lastOutcome: lastProbe ? outcomeView(lastProbe.outcome, lastProbe.class, lastProbe.detail, summary.deployment) : null,
    lastProbeAt: state.lastProbeAt ?? lastProbe?.startedAt ?? null,
    lastSuccessAt: state.lastSuccessAt,
    consecutiveFailures: state.consecutiveFailures,
    tls: tlsSummaryView(lastProbe?.tls),
  };
}

export function probeView(probe: StoredProbe): ProbeView {
  const { observation } = probe;
  return {
    at: probe.startedAt,
    outcome: probe.outcome,
    class: probe.class,
    detail: probe.detail,
    httpStatus: observation.http?.status ?? null,
    errorCode: observation.error?.code ?? null,
    message: observation.http?.message ?? null,
    headers: observation.http?.headers ?? {},
    timings: observation.timings,
    tls: tlsSummaryView(observation.tls),
    credentialFingerprint: observation.credential.fingerprint,
  };
}

/** Connections no longer configured are not listed, but their recorded probes stay readable by name. */
export function readModelOverStore(store: Pick<ReadStore, 'listStates' | 'recentProbes'>): ReadModel {
  return {
    listConnections: () => store.listStates().map(connectionView),
    recentProbes: (name, limit) => {
      const probes = store.recentProbes(name, limit);
      if (probes.length > 0) return probes.map(probeView);
      return store.listStates({ includeRemoved: true }).some((summary) => summary.name === name) ? [] : null;
    },
  };
}

export function statusConnectionView(summary: ConnectionSummary): StatusConnectionView {
  return { ...connectionView(summary), labels: summary.labels, removedAt: summary.removedAt };
}

export function probeDetailView(probe: StoredProbe): ProbeDetailView {
  return { ...probeView(probe), tlsDetails: probe.observation.tls };
}

function notificationView(item: OutboxItem): NotificationView {
  return {
    channel: item.channel,
    kind: item.kind,
    createdAt: item.createdAt,
    attempts: item.attempts,
    deliveredAt: item.deliveredAt,
    failedAt: item.failedAt,
    lastError: item.lastError,
  };
}

function incidentView(incident: StoredIncident, notifications: OutboxItem[]): IncidentView {
  return {
    id: incident.id,
    kind: incident.kind,
    openedAt: incident.openedAt,
    lastNotifiedAt: incident.lastNotifiedAt,
    notifications: notifications.filter((item) => item.incidentId === incident.id).map(notificationView),
  };
}

const HOUR_MS = 3_600_000;

type StatusStore = Pick<ReadStore, 'listStates' | 'connectionSummary' | 'hourlyOutcomeCounts' | 'recentProbes' | 'lastOkProbe' | 'openIncidents' | 'incidentNotifications'>;

export function statusReadModelOverStore(store: StatusStore): StatusReadModel {
  return {
    statusConnections: () => store.listStates().map(statusConnectionView),
    outcomeStrips: (names, since, hours) => {
      const strips = new Map<string, OutcomeBucketView[]>(
        names.map((name) => [
          name,
          Array.from({ length: hours }, (_, index) => ({ start: new Date(since.getTime() + index * HOUR_MS).toISOString(), ok: 0, auth: 0, other: 0 })),
        ]),
      );
      for (const count of store.hourlyOutcomeCounts(names, since)) {
        const bucket = strips.get(count.connection)?.[Math.floor((Date.parse(count.hour) - since.getTime()) / HOUR_MS)];
        if (!bucket) continue;
        if (count.class === 'ok') bucket.ok += count.probes;
        else if (count.class === 'auth') bucket.auth += count.probes;
        else bucket.other += count.probes;
      }
      return strips;
    },
    connectionDetail: (name, probeLimit) => {
      const summary = store.connectionSummary(name);
      if (!summary) return null;
      const probes = store.recentProbes(name, probeLimit);
      const lastOk = store.lastOkProbe(name);
      const incidents = store.openIncidents(name);
      const notifications = store.incidentNotifications(incidents.map((incident) => incident.id));
      return {
        connection: statusConnectionView(summary),
        probes: probes.map(probeDetailView),
        lastOk: lastOk ? probeDetailView(lastOk) : null,
        changes: lastOk && probes[0] ? compareWithLastSuccess(snapshotOf(lastOk.observation), snapshotOf(probes[0].observation)) : null,
        openIncidents: incidents.map((incident) => incidentView(incident, notifications)),
      };
    },
  };
}
