-- authwatch schema, version 1.
-- Times are ISO 8601 UTC strings as produced by Date#toISOString (so they sort as text).
-- Nothing here ever holds a secret: credentials appear only as their HMAC fingerprint.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,   -- 'fingerprint_key' (64 hex chars), 'schema_version'
  value TEXT NOT NULL
) STRICT;

CREATE TABLE connections (
  name                TEXT PRIMARY KEY,
  url                 TEXT NOT NULL,            -- base URL, no credentials
  path                TEXT NOT NULL,
  deployment          TEXT NOT NULL CHECK (deployment IN ('cloud', 'datacenter')),
  auth_type           TEXT NOT NULL CHECK (auth_type IN ('basic', 'bearer', 'header', 'oauth2')),
  labels              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
  first_seen          TEXT NOT NULL,
  last_seen_in_config TEXT NOT NULL,
  removed_at          TEXT                      -- no longer configured; history kept
) STRICT;

-- One row per probe: everything the probe observed (ProbeObservation, docs/storage.md) plus the diagnosis.
CREATE TABLE probes (
  id                            INTEGER PRIMARY KEY,
  connection                    TEXT NOT NULL REFERENCES connections (name),
  started_at                    TEXT NOT NULL,
  url                           TEXT NOT NULL,
  outcome                       TEXT NOT NULL,
  class                         TEXT NOT NULL CHECK (class IN ('ok', 'auth', 'network', 'tls', 'server')),
  detail                        TEXT NOT NULL,
  -- timings, seconds; NULL when the phase did not happen
  dns_seconds                   REAL,
  connect_seconds               REAL,
  tls_seconds                   REAL,
  request_seconds               REAL,
  first_byte_seconds            REAL,
  download_seconds              REAL,
  total_seconds                 REAL,
  -- HTTP; NULL when there was no response
  http_status                   INTEGER,
  content_type                  TEXT,
  headers                       TEXT CHECK (headers IS NULL OR json_valid(headers)),
  message                       TEXT,
  body_bytes                    INTEGER,
  body_truncated                INTEGER CHECK (body_truncated IN (0, 1)),
  -- identity returned by /myself
  identity_account_id           TEXT,
  identity_name                 TEXT,
  identity_key                  TEXT,
  identity_email                TEXT,
  identity_display_name         TEXT,
  identity_active               INTEGER CHECK (identity_active IN (0, 1)),
  has_identity                  INTEGER NOT NULL DEFAULT 0 CHECK (has_identity IN (0, 1)),
  -- TLS; NULL when there was no handshake
  tls_protocol                  TEXT,
  tls_cipher                    TEXT,
  tls_subject                   TEXT,
  tls_issuer                    TEXT,
  tls_sans                      TEXT CHECK (tls_sans IS NULL OR json_valid(tls_sans)),
  tls_serial                    TEXT,
  tls_fingerprint256            TEXT,
  tls_not_before                TEXT,
  tls_not_after                 TEXT,
  tls_chain_earliest_not_after  TEXT,
  tls_authorized                INTEGER CHECK (tls_authorized IN (0, 1)),
  tls_authorization_error       TEXT,
  -- the credential, never the secret
  credential_status             TEXT NOT NULL CHECK (credential_status IN ('ok', 'missing', 'malformed')),
  credential_problem            TEXT,
  credential_fingerprint        TEXT,
  credential_findings           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(credential_findings)),
  -- oauth2 token endpoint; NULL for other auth types
  oauth_ok                      INTEGER CHECK (oauth_ok IN (0, 1)),
  oauth_from_cache              INTEGER CHECK (oauth_from_cache IN (0, 1)),
  oauth_http_status             INTEGER,
  oauth_error                   TEXT,
  oauth_expires_at              TEXT,
  -- transport error
  error_code                    TEXT,
  error_phase                   TEXT,
  error_message                 TEXT
) STRICT;
CREATE INDEX probes_connection_started ON probes (connection, started_at);
CREATE INDEX probes_started ON probes (started_at);

-- The state machine's memory (src/state/types.ts ConnectionState), one row per connection.
-- last_probe_id / last_ok_probe_id point at probes that pruning keeps.
CREATE TABLE connection_state (
  name                   TEXT PRIMARY KEY REFERENCES connections (name),
  state                  TEXT NOT NULL CHECK (state IN ('unknown', 'ok', 'failing', 'regressed', 'unreachable')),
  since                  TEXT,
  consecutive_failures   INTEGER NOT NULL CHECK (consecutive_failures >= 0),
  consecutive_successes  INTEGER NOT NULL CHECK (consecutive_successes >= 0),
  last_outcome           TEXT,
  last_outcome_class     TEXT CHECK (last_outcome_class IN ('ok', 'auth', 'network', 'tls', 'server')),
  last_auth_outcome      TEXT,
  last_probe_at          TEXT,
  last_success_at        TEXT,
  ever_succeeded         INTEGER NOT NULL CHECK (ever_succeeded IN (0, 1)),
  first_failure_at       TEXT,
  backoff_until          TEXT,
  backoff_level          INTEGER NOT NULL DEFAULT 0,
  last_probe_id          INTEGER,
  last_ok_probe_id       INTEGER,
  updated_at             TEXT NOT NULL
) STRICT;

-- Written only when something changes. probe_id is a plain reference: probes are pruned, events are kept.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  connection  TEXT NOT NULL REFERENCES connections (name),
  kind        TEXT NOT NULL CHECK (kind IN ('state_changed', 'tls_changed', 'cert_expiring', 'token_expiring', 'identity_changed')),
  from_state  TEXT,
  to_state    TEXT,
  at          TEXT NOT NULL,
  probe_id    INTEGER,
  details     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
) STRICT;
CREATE INDEX events_connection_at ON events (connection, at);

CREATE TABLE incidents (
  id                INTEGER PRIMARY KEY,
  connection        TEXT NOT NULL REFERENCES connections (name),
  kind              TEXT NOT NULL CHECK (kind IN ('failing', 'regressed', 'unreachable', 'cert_expiring', 'token_expiring')),
  opened_at         TEXT NOT NULL,
  resolved_at       TEXT,
  open_event_id     INTEGER NOT NULL REFERENCES events (id),
  resolve_event_id  INTEGER REFERENCES events (id),
  last_notified_at  TEXT
) STRICT;
-- At most one open incident of a kind per connection.
CREATE UNIQUE INDEX incidents_open_unique ON incidents (connection, kind) WHERE resolved_at IS NULL;
CREATE INDEX incidents_connection ON incidents (connection, opened_at);

-- Notifications, written in the same transaction as what caused them, delivered by the dispatcher.
CREATE TABLE outbox (
  id               INTEGER PRIMARY KEY,
  channel          TEXT NOT NULL CHECK (channel IN ('slack', 'alertmanager')),
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
  UNIQUE (channel, dedupe_key)
) STRICT;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
