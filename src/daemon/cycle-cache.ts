// What a probe cycle reads, kept in memory: each connection's state, its last ok probe and its open incidents,
// loaded once at start and then updated from what each cycle writes, so a cycle reads nothing from SQLite. The
// cache follows the store's transactions (a batch or cycle that throws leaves it as it was), and the daemon is the
// database's only writer of these rows, so it equals what is stored — except that of the last ok probe it keeps
// only what a cycle compares with (lastOkFacts), and keeps the same object while that does not change: 10,000 full
// observations replaced every minute were most of the old-generation garbage at 10,000 connections.
import type { ProbeObservation } from '../probe/observation.js';
import type { ConnectionState } from '../state/types.js';
import type { CycleStore, MaintenanceStore } from '../store/ports.js';
import { Staged } from '../store/staged.js';
import type { CycleIds, CycleRecord, StoredIncident, StoredProbe } from '../store/types.js';
import { iso } from '../time/instant.js';

interface Facts {
  state: ConnectionState;
  lastOk: StoredProbe | null;
  open: StoredIncident[];
}

export class CycleCache implements CycleStore {
  private readonly facts = new Staged<string, Facts | null>();

  constructor(private readonly store: CycleStore & Pick<MaintenanceStore, 'loadStates'>) {}

  /** Reads every connection's facts in three queries (the daemon's start); connections not loaded are read on first use. */
  preload(): void {
    const states = this.store.loadStates();
    const lastOk = this.store.lastOkProbes();
    const open = new Map<string, StoredIncident[]>();
    for (const incident of this.store.openIncidents()) open.set(incident.connection, [...(open.get(incident.connection) ?? []), incident]);
    for (const [name, state] of states) this.facts.set(name, { state, lastOk: slim(lastOk.get(name) ?? null), open: open.get(name) ?? [] });
  }

  loadState(name: string): ConnectionState {
    return this.of(name).state;
  }

  lastOkProbe(name: string): StoredProbe | null {
    return this.of(name).lastOk;
  }

  lastOkProbes(): Map<string, StoredProbe> {
    return this.store.lastOkProbes();
  }

  openIncidents(name?: string): StoredIncident[] {
    return name === undefined ? this.store.openIncidents() : this.of(name).open;
  }

  recordCycle(record: CycleRecord): CycleIds {
    return this.facts.within(() => {
      const ids = this.store.recordCycle(record);
      this.remember(record, ids);
      return ids;
    });
  }

  batch<T>(work: () => T): T {
    return this.facts.within(() => this.store.batch(work));
  }

  /** Forgets a connection (a reload removed it); it is read again if it comes back. */
  forget(name: string): void {
    this.facts.set(name, null);
  }

  private of(name: string): Facts {
    let facts = this.facts.get(name);
    if (!facts) {
      facts = { state: this.store.loadState(name), lastOk: slim(this.store.lastOkProbe(name)), open: this.store.openIncidents(name) };
      this.facts.set(name, facts);
    }
    return facts;
  }

  private remember(record: CycleRecord, ids: CycleIds): void {
    const { observation, diagnosis, next, events = [], incidents = [] } = record;
    const name = observation.connection;
    const before = this.of(name);
    const startedAt = iso(observation.startedAt);
    const lastOk: StoredProbe | null =
      diagnosis.outcome === 'ok'
        ? {
            id: ids.probeId,
            connection: name,
            startedAt,
            outcome: diagnosis.outcome,
            class: diagnosis.class,
            detail: diagnosis.detail,
            observation: lastOkFacts(observation, startedAt, before.lastOk?.observation ?? null),
          }
        : before.lastOk;
    let open = before.open;
    incidents.forEach((change, index) => {
      if (change.action === 'resolve') {
        open = open.filter((incident) => incident.id !== change.incidentId);
        return;
      }
      const event = events[change.event];
      open = [
        ...open,
        {
          id: ids.incidentIds[index],
          connection: name,
          kind: change.kind,
          openedAt: iso(event?.at ?? startedAt),
          resolvedAt: null,
          openEventId: ids.eventIds[change.event],
          resolveEventId: null,
          lastNotifiedAt: null,
        },
      ];
    });
    // As the outbox does: an open or reminder notification written marks its incident notified.
    (record.outbox ?? []).forEach((item, index) => {
      if (ids.outboxIds[index] === null || (item.kind !== 'open' && item.kind !== 'reminder') || !item.incident) return;
      const id = 'id' in item.incident ? item.incident.id : ids.incidentIds[item.incident.index];
      open = open.map((incident) => (incident.id === id ? { ...incident, lastNotifiedAt: startedAt } : incident));
    });
    this.facts.set(name, { state: next, lastOk, open });
  }
}

const NO_TIMINGS: ProbeObservation['timings'] = Object.freeze({ dns: null, connect: null, tls: null, request: null, first_byte: null, download: null, total: null });

/**
 * What a cycle compares a probe with in the last ok one (src/state/events.ts, src/notify/types.ts snapshotOf): the
 * credential's fingerprint, the TLS details and the identity; no HTTP answer, timings or error. While those stay
 * the same, the previous facts are kept (only startedAt is new).
 */
export function lastOkFacts(observation: ProbeObservation, startedAt: string, previous: ProbeObservation | null): ProbeObservation {
  if (previous && sameComparisonFacts(previous, observation)) return previous.startedAt === startedAt ? previous : { ...previous, startedAt };
  return {
    connection: observation.connection,
    startedAt,
    url: observation.url,
    credential: observation.credential,
    oauth: null,
    error: null,
    http: null,
    identity: observation.identity,
    tls: observation.tls,
    timings: NO_TIMINGS,
  };
}

function sameComparisonFacts(a: ProbeObservation, b: ProbeObservation): boolean {
  return (
    a.url === b.url &&
    a.credential.fingerprint === b.credential.fingerprint &&
    a.credential.status === b.credential.status &&
    sameFlatValues(a.tls, b.tls) &&
    sameFlatValues(a.identity, b.identity)
  );
}

/** Equal objects of strings, numbers, booleans, nulls and arrays of those (TlsDetails, Identity). */
function sameFlatValues<T extends object>(a: T | null, b: T | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const keys = Object.keys(a) as (keyof T)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const x = a[key];
    const y = b[key];
    if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((item, index) => item === y[index]);
    return x === y;
  });
}

function slim(probe: StoredProbe | null): StoredProbe | null {
  return probe && { ...probe, observation: lastOkFacts(probe.observation, probe.startedAt, null) };
}
