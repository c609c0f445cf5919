// The API's reads while probes wait for storage (RecordQueue): a connection with waiting probes shows its
// in-memory state and its newest probe, and its probe list starts with the waiting ones, so the API tells the
// truth about the probes even while the database refuses writes. Waiting probes have no id yet (-1).
import type { ReadStore } from '../store/ports.js';
import type { ReadModel, StatusReadModel } from '../server/read-model.js';
import { readModelOverStore, statusReadModelOverStore } from '../server/store-read-model.js';
import type { ConnectionSummary, StoredProbe } from '../store/types.js';
import { iso } from '../time/instant.js';
import type { PendingProbe } from './record-queue.js';

export interface PendingProbes {
  pendingOf(name: string): PendingProbe[];
}

export function withPendingProbes(store: Pick<ReadStore, 'listStates' | 'recentProbes'>, pending: PendingProbes): Pick<ReadStore, 'listStates' | 'recentProbes'> {
  return {
    listStates: (options) => store.listStates(options).map((summary) => overlay(summary, pending.pendingOf(summary.name))),
    recentProbes: (name, limit) => {
      const waiting = pending.pendingOf(name).reverse().slice(0, limit).map(storedProbe);
      return waiting.length >= limit ? waiting : [...waiting, ...store.recentProbes(name, limit - waiting.length)];
    },
  };
}

function overlay(summary: ConnectionSummary, waiting: PendingProbe[]): ConnectionSummary {
  const newest = waiting.at(-1);
  if (!newest) return summary;
  const { observation, diagnosis } = newest;
  const tls = observation.tls;
  return {
    ...summary,
    state: newest.next,
    lastProbe: {
      id: -1,
      startedAt: iso(observation.startedAt),
      outcome: diagnosis.outcome,
      class: diagnosis.class,
      detail: diagnosis.detail,
      httpStatus: observation.http?.status ?? null,
      totalSeconds: observation.timings.total,
      tls: tls && {
        protocol: tls.protocol,
        cipher: tls.cipher,
        notAfter: tls.notAfter,
        chainEarliestNotAfter: tls.chainEarliestNotAfter,
        authorized: tls.authorized,
        authorizationError: tls.authorizationError,
      },
    },
  };
}

function storedProbe({ observation, diagnosis }: PendingProbe): StoredProbe {
  return {
    id: -1,
    connection: observation.connection,
    startedAt: iso(observation.startedAt),
    outcome: diagnosis.outcome,
    class: diagnosis.class,
    detail: diagnosis.detail,
    observation: { ...observation, startedAt: iso(observation.startedAt), http: observation.http && { ...observation.http, json: null } },
  };
}

/** The API's and the status page's read models over the store, with the probes waiting for storage shown. */
export function readModelsWithPendingProbes(store: ReadStore, pending: PendingProbes): { readModel: ReadModel; statusPage: StatusReadModel } {
  const reads = withPendingProbes(store, pending);
  return {
    readModel: readModelOverStore(reads),
    statusPage: statusReadModelOverStore({
      ...reads,
      connectionSummary: (name) => store.connectionSummary(name),
      hourlyOutcomeCounts: (names, since) => store.hourlyOutcomeCounts(names, since),
      lastOkProbe: (name) => store.lastOkProbe(name),
      openIncidents: (name) => store.openIncidents(name),
      incidentNotifications: (ids) => store.incidentNotifications(ids),
    }),
  };
}
