-- The outbox no longer lists the channels in a CHECK: a channel is defined once, in the code (src/notify/registry.ts),
-- and adding one needs no migration. SQLite cannot drop a CHECK in place, so the table is rebuilt with its rows,
-- ids and indexes; nothing references outbox rows.
CREATE TABLE outbox_new (
  id               INTEGER PRIMARY KEY,
  channel          TEXT NOT NULL CHECK (channel <> ''),
  incident_id      INTEGER REFERENCES incidents (id),
  event_id         INTEGER REFERENCES events (id),
  kind             TEXT NOT NULL CHECK (kind IN ('open', 'resolve', 'reminder', 'event', 'test')),
  dedupe_key       TEXT NOT NULL,
  payload          TEXT NOT NULL CHECK (json_valid(payload)),
  created_at       TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  TEXT NOT NULL,
  delivered_at     TEXT,
  failed_at        TEXT,
  last_error       TEXT,
  target           TEXT NOT NULL DEFAULT '',
  UNIQUE (channel, dedupe_key)
) STRICT;
INSERT INTO outbox_new (id, channel, incident_id, event_id, kind, dedupe_key, payload, created_at, attempts, next_attempt_at,
    delivered_at, failed_at, last_error, target)
  SELECT id, channel, incident_id, event_id, kind, dedupe_key, payload, created_at, attempts, next_attempt_at,
    delivered_at, failed_at, last_error, target FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_lanes ON outbox (channel, target, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_incident ON outbox (incident_id, channel) WHERE incident_id IS NOT NULL;
