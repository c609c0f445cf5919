// An in-memory CycleStore + OutboxStore + OutboxWriter, held to the same contract as the SQLite store
// (test/support/store-contract.ts): a cycle is all or nothing, at most one open incident per connection and kind,
// dedupe keys per channel, FIFO lanes. For tests of the cycle and the dispatcher that need no file.
import { initialState } from '../../src/state/machine.js';
import type { ConnectionState } from '../../src/state/types.js';
import { checkStateChangeEvent } from '../../src/store/cycle-write.js';
import { StoreError } from '../../src/store/db.js';
import { defaultDedupeKey } from '../../src/store/outbox.js';
import type { CycleStore, OutboxStore, OutboxWriter } from '../../src/store/ports.js';
import {
  CHANNELS,
  type Channel,
  type CycleIds,
  type CycleRecord,
  type NewOutboxItem,
  type OutboxCounts,
  type OutboxItem,
  type StoredEvent,
  type StoredIncident,
  type StoredProbe,
} from '../../src/store/types.js';
import { iso, type Instant } from '../../src/time/instant.js';

const MAX_ERROR_LENGTH = 500;

interface Tables {
  states: Map<string, { state: ConnectionState; lastProbeId: number; lastOkProbeId: number | null }>;
  probes: StoredProbe[];
  events: StoredEvent[];
  incidents: StoredIncident[];
  outbox: OutboxItem[];
  nextId: { probe: number; event: number; incident: number; outbox: number };
}

type Resolver = { incident: (index: number) => number; event: (index: number) => number };

export class MemoryStore implements CycleStore, OutboxStore, OutboxWriter {
  private tables: Tables = { states: new Map(), probes: [], events: [], incidents: [], outbox: [], nextId: { probe: 1, event: 1, incident: 1, outbox: 1 } };

  loadState(name: string): ConnectionState {
    const stored = this.tables.states.get(name);
    return stored ? structuredClone(stored.state) : initialState();
  }

  loadStates(): Map<string, ConnectionState> {
    return new Map([...this.tables.states].map(([name, stored]) => [name, structuredClone(stored.state)]));
  }

  lastOkProbe(name: string): StoredProbe | null {
    const id = this.tables.states.get(name)?.lastOkProbeId;
    const probe = id == null ? undefined : this.tables.probes.find((p) => p.id === id);
    return probe ? structuredClone(probe) : null;
  }

  openIncidents(name?: string): StoredIncident[] {
    return structuredClone(this.tables.incidents.filter((i) => i.resolvedAt === null && (name === undefined || i.connection === name)));
  }

  recordCycle(record: CycleRecord): CycleIds {
    return this.atomically((t) => writeCycle(t, record));
  }

  /** Every write replaces the tables with a changed copy, so a batch that throws restores the ones it started from. */
  batch<T>(work: () => T): T {
    const before = this.tables;
    try {
      return work();
    } catch (error) {
      this.tables = before;
      throw error;
    }
  }

  lastOkProbes(): Map<string, StoredProbe> {
    const probes = new Map<string, StoredProbe>();
    for (const name of this.tables.states.keys()) {
      const probe = this.lastOkProbe(name);
      if (probe) probes.set(name, probe);
    }
    return probes;
  }

  enqueueOutbox(items: readonly NewOutboxItem[], now: Instant): (number | null)[] {
    const at = iso(now);
    const noIndex = (index: number): number => {
      throw new StoreError(`outbox item refers to index ${index}; outside recordCycle use { id }`);
    };
    return this.atomically((t) => insertOutbox(t, items, at, { incident: noIndex, event: noIndex }));
  }

  outboxLaneHeads(now: Instant, limit = 100): OutboxItem[] {
    const at = iso(now);
    const heads = new Map<string, OutboxItem>();
    for (const row of this.tables.outbox) {
      const lane = `${row.channel}\n${row.target}`;
      if (isPending(row) && !heads.has(lane)) heads.set(lane, row);
    }
    return structuredClone([...heads.values()].filter((row) => row.nextAttemptAt <= at).sort((a, b) => a.id - b.id).slice(0, limit));
  }

  pendingOutbox(now: Instant, channel?: Channel, limit = 100): OutboxItem[] {
    const at = iso(now);
    const due = this.tables.outbox.filter((row) => isPending(row) && row.nextAttemptAt <= at && (channel === undefined || row.channel === channel));
    return structuredClone(due.sort((a, b) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id - b.id)).slice(0, limit));
  }

  markDelivered(id: number, now: Instant): boolean {
    const row = this.pendingRow(id);
    if (!row) return false;
    Object.assign(row, { deliveredAt: iso(now), attempts: row.attempts + 1, lastError: null });
    return true;
  }

  markAttemptFailed(id: number, error: string, nextAttemptAt: Instant): void {
    const row = this.pendingRow(id);
    if (row) Object.assign(row, { attempts: row.attempts + 1, lastError: error.slice(0, MAX_ERROR_LENGTH), nextAttemptAt: iso(nextAttemptAt) });
  }

  markFailed(id: number, error: string, now: Instant): void {
    const row = this.pendingRow(id);
    if (row) Object.assign(row, { attempts: row.attempts + 1, lastError: error.slice(0, MAX_ERROR_LENGTH), failedAt: iso(now) });
  }

  outboxOldestPending(): Partial<Record<Channel, string>> {
    const oldest: Partial<Record<Channel, string>> = {};
    for (const row of this.tables.outbox) {
      if (row.deliveredAt !== null || row.failedAt !== null) continue;
      if (!oldest[row.channel] || row.createdAt < oldest[row.channel]!) oldest[row.channel] = row.createdAt;
    }
    return oldest;
  }

  outboxCounts(): OutboxCounts {
    const counts = Object.fromEntries(CHANNELS.map((c) => [c, { pending: 0, delivered: 0, failed: 0 }])) as OutboxCounts;
    for (const row of this.tables.outbox) {
      const count = counts[row.channel];
      if (row.deliveredAt !== null) count.delivered++;
      else if (row.failedAt !== null) count.failed++;
      else count.pending++;
    }
    return counts;
  }

  private pendingRow(id: number): OutboxItem | undefined {
    return this.tables.outbox.find((row) => row.id === id && isPending(row));
  }

  /** Runs `work` on a copy of the tables and keeps it only when `work` returns: a failed write leaves nothing behind. */
  private atomically<T>(work: (tables: Tables) => T): T {
    const copy = structuredClone(this.tables);
    const result = work(copy);
    this.tables = copy;
    return result;
  }
}

const isPending = (row: OutboxItem): boolean => row.deliveredAt === null && row.failedAt === null;

function writeCycle(t: Tables, { observation, diagnosis, next, events = [], incidents = [], outbox = [] }: CycleRecord): CycleIds {
  const name = observation.connection;
  const startedAt = iso(observation.startedAt);
  checkStateChangeEvent(name, t.states.get(name)?.state.state ?? 'unknown', next.state, events);

  const probeId = t.nextId.probe++;
  const { http } = observation;
  t.probes.push({
    id: probeId,
    connection: name,
    startedAt,
    outcome: diagnosis.outcome,
    class: diagnosis.class,
    detail: diagnosis.detail,
    observation: structuredClone({ ...observation, startedAt, http: http && { ...http, json: null } }),
  });
  const lastOkProbeId = diagnosis.outcome === 'ok' ? probeId : (t.states.get(name)?.lastOkProbeId ?? null);
  t.states.set(name, { state: structuredClone(next), lastProbeId: probeId, lastOkProbeId });

  const eventIds = events.map((e) => {
    const id = t.nextId.event++;
    t.events.push({ id, connection: name, kind: e.kind, from: e.from ?? null, to: e.to ?? null, at: iso(e.at ?? startedAt), probeId, details: structuredClone(e.details ?? {}) });
    return id;
  });
  const eventAt = (index: number): { id: number; at: string } => {
    if (!Number.isInteger(index) || index < 0 || index >= events.length) throw new StoreError(`connection ${name}: event index ${index} is not in this cycle`);
    return { id: eventIds[index], at: iso(events[index].at ?? startedAt) };
  };

  const incidentIds = incidents.map((change) => {
    const event = eventAt(change.event);
    if (change.action === 'open') {
      if (t.incidents.some((i) => i.connection === name && i.kind === change.kind && i.resolvedAt === null)) {
        throw new StoreError(`connection ${name}: an incident of kind ${change.kind} is open already`);
      }
      const id = t.nextId.incident++;
      t.incidents.push({ id, connection: name, kind: change.kind, openedAt: event.at, resolvedAt: null, openEventId: event.id, resolveEventId: null, lastNotifiedAt: null });
      return id;
    }
    const incident = t.incidents.find((i) => i.id === change.incidentId && i.connection === name && i.resolvedAt === null);
    if (!incident) throw new StoreError(`connection ${name}: incident ${change.incidentId} is not open`);
    Object.assign(incident, { resolvedAt: event.at, resolveEventId: event.id });
    return change.incidentId;
  });

  const outboxIds = insertOutbox(t, outbox, startedAt, {
    incident: (index) => {
      if (index < 0 || index >= incidentIds.length) throw new StoreError(`connection ${name}: incident change ${index} is not in this cycle`);
      return incidentIds[index];
    },
    event: (index) => eventAt(index).id,
  });
  return { probeId, eventIds, incidentIds, outboxIds };
}

function insertOutbox(t: Tables, items: readonly NewOutboxItem[], createdAt: string, resolve: Resolver): (number | null)[] {
  return items.map((item) => {
    const incidentId = item.incident === undefined ? null : 'id' in item.incident ? item.incident.id : resolve.incident(item.incident.index);
    const eventId = item.event === undefined ? null : 'id' in item.event ? item.event.id : resolve.event(item.event.index);
    if (incidentId !== null && !t.incidents.some((i) => i.id === incidentId)) throw new StoreError(`outbox item refers to incident ${incidentId}, which does not exist`);
    if (eventId !== null && !t.events.some((e) => e.id === eventId)) throw new StoreError(`outbox item refers to event ${eventId}, which does not exist`);
    const dedupeKey = item.dedupeKey ?? defaultDedupeKey(item.kind, incidentId, eventId, createdAt);
    if (t.outbox.some((row) => row.channel === item.channel && row.dedupeKey === dedupeKey)) return null;
    const id = t.nextId.outbox++;
    t.outbox.push({
      id,
      channel: item.channel,
      target: item.target ?? '',
      incidentId,
      eventId,
      kind: item.kind,
      dedupeKey,
      payload: JSON.parse(JSON.stringify(item.payload ?? null)) as unknown,
      createdAt,
      attempts: 0,
      nextAttemptAt: iso(item.nextAttemptAt ?? createdAt),
      deliveredAt: null,
      failedAt: null,
      lastError: null,
    });
    const incident = t.incidents.find((i) => i.id === incidentId);
    if (incident && (item.kind === 'open' || item.kind === 'reminder')) incident.lastNotifiedAt = createdAt;
    return id;
  });
}
