// The write of one probe cycle, in one transaction: probe row, state row, events, incident changes and outbox
// items. A state change must come with exactly one state_changed event (state/events.ts, stateChangedEvent).
import { iso } from '../time/instant.js';
import { StoreError } from './db.js';
import type { EventTable, IncidentTable } from './events-incidents.js';
import type { OutboxTable } from './outbox.js';
import type { ProbeTable } from './probes.js';
import type { SqliteContext } from './sqlite.js';
import type { StateTable } from './states.js';
import type { AuthState } from '../state/types.js';
import type { CycleIds, CycleRecord, NewEvent } from './types.js';

export interface CycleTables {
  db: SqliteContext;
  probes: ProbeTable;
  states: StateTable;
  events: EventTable;
  incidents: IncidentTable;
  outbox: OutboxTable;
}

export function recordCycle(tables: CycleTables, record: CycleRecord): CycleIds {
  const write = () => tables.db.write(() => writeCycle(tables, record));
  // A state change, event, incident or notification must be on disk before any notification about it is sent.
  const notable = (record.events?.length ?? 0) + (record.incidents?.length ?? 0) + (record.outbox?.length ?? 0) > 0;
  return notable ? tables.db.durably(write) : write();
}

function writeCycle(tables: CycleTables, { observation, diagnosis, next, events = [], incidents = [], outbox = [] }: CycleRecord): CycleIds {
  const name = observation.connection;
  const startedAt = iso(observation.startedAt);
  checkStateChangeEvent(name, tables.states.storedState(name), next.state, events);

  const probeId = tables.probes.insert(observation, diagnosis, startedAt);
  tables.states.save(name, next, probeId, diagnosis.outcome === 'ok' ? probeId : null, startedAt);

  const eventIds = events.map((e) => tables.events.insert(name, e, probeId, startedAt));
  const eventAt = (index: number): { id: number; at: string } => {
    if (!Number.isInteger(index) || index < 0 || index >= events.length) throw new StoreError(`connection ${name}: event index ${index} is not in this cycle`);
    return { id: eventIds[index], at: iso(events[index].at ?? startedAt) };
  };

  const incidentIds = incidents.map((change) => {
    const event = eventAt(change.event);
    if (change.action === 'open') return tables.incidents.open(name, change.kind, event.at, event.id);
    tables.incidents.resolve(name, change.incidentId, event.at, event.id);
    return change.incidentId;
  });

  const outboxIds = tables.outbox.insert(outbox, startedAt, {
    incident: (index) => {
      if (index < 0 || index >= incidentIds.length) throw new StoreError(`connection ${name}: incident change ${index} is not in this cycle`);
      return incidentIds[index];
    },
    event: (index) => eventAt(index).id,
  });
  return { probeId, eventIds, incidentIds, outboxIds };
}

/** Refuses a cycle whose events do not record its state change: exactly one state_changed event from→to when the state changes, none otherwise. */
export function checkStateChangeEvent(name: string, previous: AuthState, next: AuthState, events: readonly NewEvent[]): void {
  const stateEvents = events.filter((e) => e.kind === 'state_changed');
  const expected = previous === next ? 0 : 1;
  if (stateEvents.length !== expected || (expected === 1 && (stateEvents[0].from !== previous || stateEvents[0].to !== next))) {
    throw new StoreError(
      `connection ${name}: stored state ${previous}, new state ${next}, but the cycle has ${stateEvents.map((e) => `${e.from}→${e.to}`).join(', ') || 'no state_changed event'}`,
    );
  }
}
