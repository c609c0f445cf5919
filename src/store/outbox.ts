// The outbox table: notifications enqueued in the transaction that caused them, delivered by the dispatcher
// lane by lane ((channel, target), strictly in order). Delivery errors handed to markAttemptFailed/markFailed
// must already be redacted (no webhook URL).
import { randomUUID } from 'node:crypto';
import { iso, type Instant } from '../time/instant.js';
import { StoreError } from './db.js';
import type { IncidentTable } from './events-incidents.js';
import type { SqliteContext } from './sqlite.js';
import { CHANNELS, type Channel, type NewOutboxItem, type OutboxCounts, type OutboxItem, type OutboxKind } from './types.js';

const MAX_ERROR_LENGTH = 500;

/** Resolves the `{ index }` refs of a recordCycle's items to the ids created earlier in that cycle. */
export interface RefResolver {
  incident: (index: number) => number;
  event: (index: number) => number;
}

export class OutboxTable {
  constructor(
    private readonly db: SqliteContext,
    private readonly incidents: IncidentTable,
  ) {}

  /** Durable: a notification is on disk before the dispatcher can send it. */
  enqueue(items: readonly NewOutboxItem[], now: Instant): (number | null)[] {
    const at = iso(now);
    const noIndex = (index: number): number => {
      throw new StoreError(`outbox item refers to index ${index}; outside recordCycle use { id }`);
    };
    return this.db.durably(() => this.db.write(() => this.insert(items, at, { incident: noIndex, event: noIndex })));
  }

  /** Inserts inside the caller's transaction; an item whose dedupe key was used on its channel gets null. */
  insert(items: readonly NewOutboxItem[], createdAt: string, resolve: RefResolver): (number | null)[] {
    const insert = this.db.sql(`INSERT INTO outbox (channel, target, incident_id, event_id, kind, dedupe_key, payload, created_at, next_attempt_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, dedupe_key) DO NOTHING`);
    return items.map((item) => {
      const incidentId = item.incident === undefined ? null : 'id' in item.incident ? item.incident.id : resolve.incident(item.incident.index);
      const eventId = item.event === undefined ? null : 'id' in item.event ? item.event.id : resolve.event(item.event.index);
      const dedupeKey = item.dedupeKey ?? defaultDedupeKey(item.kind, incidentId, eventId, createdAt);
      const payload = JSON.stringify(item.payload ?? null);
      const result = insert.run(item.channel, item.target ?? '', incidentId, eventId, item.kind, dedupeKey, payload, createdAt, iso(item.nextAttemptAt ?? createdAt));
      if (result.changes === 0) return null;
      if (incidentId !== null && (item.kind === 'open' || item.kind === 'reminder')) this.incidents.touchNotified(incidentId, createdAt);
      return Number(result.lastInsertRowid);
    });
  }

  laneHeads(now: Instant, limit = 100): OutboxItem[] {
    const rows = this.db.sql(`SELECT * FROM outbox WHERE id IN (
        SELECT min(id) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY channel, target
      ) AND next_attempt_at <= @now ORDER BY id LIMIT @limit`).all({ now: iso(now), limit }) as OutboxRow[];
    return rows.map(outboxFromRow);
  }

  pending(now: Instant, channel?: Channel, limit = 100): OutboxItem[] {
    const rows = this.db.sql(`SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= @now
        AND (@channel IS NULL OR channel = @channel) ORDER BY next_attempt_at, id LIMIT @limit`).all({ now: iso(now), channel: channel ?? null, limit }) as OutboxRow[];
    return rows.map(outboxFromRow);
  }

  forIncidents(incidentIds: readonly number[]): OutboxItem[] {
    if (incidentIds.length === 0) return [];
    const rows = this.db.sql('SELECT * FROM outbox WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY id').all(JSON.stringify(incidentIds)) as OutboxRow[];
    return rows.map(outboxFromRow);
  }

  markDelivered(id: number, now: Instant): boolean {
    // Durable, so that a power cut after Slack's 200 cannot bring the row back as undelivered.
    return this.db.durably(
      () => this.db.sql('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL').run(iso(now), id)
        .changes === 1,
    );
  }

  markAttemptFailed(id: number, error: string, nextAttemptAt: Instant): void {
    this.db.sql('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL').run(
      error.slice(0, MAX_ERROR_LENGTH),
      iso(nextAttemptAt),
      id,
    );
  }

  markFailed(id: number, error: string, now: Instant): void {
    this.db.durably(() => this.db.sql('UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at = ? WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL').run(
      error.slice(0, MAX_ERROR_LENGTH),
      iso(now),
      id,
    ));
  }

  /** Per channel, created_at of the oldest notification still pending; a channel with none is absent. */
  oldestPending(): Partial<Record<Channel, string>> {
    const rows = this.db.sql(`SELECT channel, min(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY channel`).all() as {
      channel: Channel;
      oldest: string;
    }[];
    return Object.fromEntries(rows.map((row) => [row.channel, row.oldest]));
  }

  counts(): OutboxCounts {
    const counts = Object.fromEntries(CHANNELS.map((c) => [c, { pending: 0, delivered: 0, failed: 0 }])) as OutboxCounts;
    const rows = this.db.sql(`SELECT channel,
        sum(delivered_at IS NULL AND failed_at IS NULL) AS pending, sum(delivered_at IS NOT NULL) AS delivered, sum(failed_at IS NOT NULL) AS failed
      FROM outbox GROUP BY channel`).all() as { channel: Channel; pending: number; delivered: number; failed: number }[];
    for (const row of rows) counts[row.channel] = { pending: row.pending, delivered: row.delivered, failed: row.failed };
    return counts;
  }

  /** Deletes delivered or failed notifications created before `olderThan`; pending ones stay. */
  prune(olderThan: Instant): number {
    return this.db.sql('DELETE FROM outbox WHERE created_at < ? AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)').run(iso(olderThan)).changes;
  }
}

/** The key that makes a notification impossible to enqueue twice on a channel, when the item brings none. */
export function defaultDedupeKey(kind: OutboxKind, incidentId: number | null, eventId: number | null, createdAt: string): string {
  switch (kind) {
    case 'open':
    case 'resolve':
      if (incidentId === null) throw new StoreError(`an outbox item of kind ${kind} needs an incident`);
      return `incident:${incidentId}:${kind}`;
    case 'reminder':
      if (incidentId === null) throw new StoreError('an outbox item of kind reminder needs an incident');
      return `incident:${incidentId}:reminder:${createdAt}`;
    case 'event':
      if (eventId === null) throw new StoreError('an outbox item of kind event needs an event');
      return `event:${eventId}`;
    case 'test':
      return `test:${createdAt}:${randomUUID()}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Row mapping

interface OutboxRow {
  id: number;
  channel: Channel;
  target: string;
  incident_id: number | null;
  event_id: number | null;
  kind: OutboxKind;
  dedupe_key: string;
  payload: string;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  failed_at: string | null;
  last_error: string | null;
}

function outboxFromRow(r: OutboxRow): OutboxItem {
  return {
    id: r.id,
    channel: r.channel,
    target: r.target,
    incidentId: r.incident_id,
    eventId: r.event_id,
    kind: r.kind,
    dedupeKey: r.dedupe_key,
    payload: JSON.parse(r.payload) as unknown,
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    deliveredAt: r.delivered_at,
    failedAt: r.failed_at,
    lastError: r.last_error,
  };
}
