// The API's reads while probes wait for storage (RecordQueue): a connection with waiting probes shows its
// in-memory state and its newest probe, and its probe list starts with the waiting ones, so the API tells the
// truth about the probes even while the database refuses writes. Waiting probes have no id yet (-1).
import type { ReadStore } from '../store/ports.js';
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
