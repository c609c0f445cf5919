// The API's read model over the SQLite store: pure mappings from stored rows to the API's views.
// The daemon creates it with the open store; the views add each outcome's explanation and remediation.
import { describeOutcome } from '../diagnosis/outcomes.js';
import type { Outcome } from '../diagnosis/outcome-names.js';
import type { Deployment } from '../config/load.js';
import type { TlsDetails } from '../probe/observation.js';
import type { ConnectionSummary, StoredProbe, Store, TlsSummary } from '../store/store.js';
import type { ConnectionView, OutcomeView, ProbeView, ReadModel, TlsSummaryView } from './read-model.js';

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
export function readModelOverStore(store: Pick<Store, 'listStates' | 'recentProbes'>): ReadModel {
  return {
    listConnections: () => store.listStates().map(connectionView),
    recentProbes: (name, limit) => {
      const probes = store.recentProbes(name, limit);
      if (probes.length > 0) return probes.map(probeView);
      return store.listStates({ includeRemoved: true }).some((summary) => summary.name === name) ? [] : null;
    },
  };
}
