// The events table (state changes and the other events of a probe, kept forever) and the incidents table (at
// most one open incident per connection and kind, opened and resolved by the cycle that caused it).
import type { AuthState } from '../state/types.js';
import { iso } from '../time/instant.js';
import { StoreError } from './db.js';
import type { SqliteContext } from './sqlite.js';
import type { EventKind, IncidentKind, NewEvent, StoredEvent, StoredIncident } from './types.js';

export class EventTable {
  constructor(private readonly db: SqliteContext) {}

  /** Records a probe's event; `at` defaults to the probe's start. */
  insert(connection: string, event: NewEvent, probeId: number, probeStartedAt: string): number {
    return Number(
      this.db
        .sql('INSERT INTO events (connection, kind, from_state, to_state, at, probe_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(connection, event.kind, event.from ?? null, event.to ?? null, iso(event.at ?? probeStartedAt), probeId, JSON.stringify(event.details ?? {})).lastInsertRowid,
    );
  }

  /** Newest first, at or after `from` (a stored instant). */
  since(name: string, from: string, limit: number): StoredEvent[] {
    const rows = this.db.sql('SELECT * FROM events WHERE connection = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?').all(name, from, limit) as EventRow[];
    return rows.map(eventFromRow);
  }
}

export class IncidentTable {
  constructor(private readonly db: SqliteContext) {}

  open(connection: string, kind: IncidentKind, at: string, eventId: number): number {
    return Number(this.db.sql('INSERT INTO incidents (connection, kind, opened_at, open_event_id) VALUES (?, ?, ?, ?)').run(connection, kind, at, eventId).lastInsertRowid);
  }

  /** Resolves an open incident of this connection; refuses one that is not open. */
  resolve(connection: string, incidentId: number, at: string, eventId: number): void {
    const result = this.db.sql('UPDATE incidents SET resolved_at = ?, resolve_event_id = ? WHERE id = ? AND connection = ? AND resolved_at IS NULL').run(
      at,
      eventId,
      incidentId,
      connection,
    );
    if (result.changes !== 1) throw new StoreError(`connection ${connection}: incident ${incidentId} is not open`);
  }

  /** Its last notification (an open or reminder) was enqueued at `at`. */
  touchNotified(incidentId: number, at: string): void {
    this.db.sql('UPDATE incidents SET last_notified_at = ? WHERE id = ?').run(at, incidentId);
  }

  openIncidents(name?: string): StoredIncident[] {
    const rows = (
      name === undefined
        ? this.db.sql('SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY id').all()
        : this.db.sql('SELECT * FROM incidents WHERE resolved_at IS NULL AND connection = ? ORDER BY id').all(name)
    ) as IncidentRow[];
    return rows.map(incidentFromRow);
  }
}

// ---------------------------------------------------------------------------------------------
// Row mapping

interface EventRow {
  id: number;
  connection: string;
  kind: EventKind;
  from_state: AuthState | null;
  to_state: AuthState | null;
  at: string;
  probe_id: number | null;
  details: string;
}

function eventFromRow(r: EventRow): StoredEvent {
  return {
    id: r.id,
    connection: r.connection,
    kind: r.kind,
    from: r.from_state,
    to: r.to_state,
    at: r.at,
    probeId: r.probe_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

interface IncidentRow {
  id: number;
  connection: string;
  kind: IncidentKind;
  opened_at: string;
  resolved_at: string | null;
  open_event_id: number;
  resolve_event_id: number | null;
  last_notified_at: string | null;
}

function incidentFromRow(r: IncidentRow): StoredIncident {
  return {
    id: r.id,
    connection: r.connection,
    kind: r.kind,
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
    openEventId: r.open_event_id,
    resolveEventId: r.resolve_event_id,
    lastNotifiedAt: r.last_notified_at,
  };
}
