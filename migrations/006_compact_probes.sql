-- Compact probe history (docs/storage.md). A probe row keeps only what changes from probe to probe: when it
-- started, how long each phase took, and which detail it saw. The detail — outcome, diagnosis, HTTP status and
-- headers, message, identity, TLS certificate, credential fingerprint, OAuth result, error — repeats identically
-- probe after probe, so it is stored once in probe_details and referenced until it changes. Times are integers
-- (milliseconds since 1970 for instants, microseconds for durations); connections are referenced by a small id.
-- Hourly roll-ups (probe_hours, state_hours) keep the long history after raw probes are pruned.

-- The connection's small integer id, stable for the life of the database.
CREATE TABLE connection_ids (
  id    INTEGER PRIMARY KEY,
  name  TEXT NOT NULL UNIQUE REFERENCES connections (name)
) STRICT;
INSERT INTO connection_ids (name) SELECT name FROM connections ORDER BY first_seen, name;

-- What a run of a connection's probes saw alike. observation: the probe's observation without its connection,
-- start and timings (src/store/probe-detail.ts). first_ms/last_ms: the first and last probe that used it;
-- last_ms is NULL while it is the connection's current detail (the next probe that differs closes it).
CREATE TABLE probe_details (
  id             INTEGER PRIMARY KEY,
  connection_id  INTEGER NOT NULL REFERENCES connection_ids (id),
  outcome        TEXT NOT NULL,
  class          TEXT NOT NULL CHECK (class IN ('ok', 'auth', 'network', 'tls', 'server')),
  detail         TEXT NOT NULL,
  http_status    INTEGER,
  observation    TEXT NOT NULL CHECK (json_valid(observation)),
  first_ms       INTEGER NOT NULL,
  last_ms        INTEGER
) STRICT;

-- One row per probe. connection_id → connection_ids.id, detail_id → probe_details.id (not declared: checking them
-- on every insert costs more than it protects; only the daemon writes). volatile: what differs on every answer and
-- matters when it failed — request ids and rate-limit counters (JSON, NULL on a successful probe) — and a proxy's
-- own timings.
CREATE TABLE probes_compact (
  id             INTEGER PRIMARY KEY,
  connection_id  INTEGER NOT NULL,
  started_ms     INTEGER NOT NULL,
  detail_id      INTEGER NOT NULL,
  dns_us         INTEGER,
  connect_us     INTEGER,
  tls_us         INTEGER,
  request_us     INTEGER,
  first_byte_us  INTEGER,
  download_us    INTEGER,
  total_us       INTEGER,
  volatile       TEXT CHECK (volatile IS NULL OR json_valid(volatile))
) STRICT;

-- Existing probes keep their ids; each gets a detail of its own (closed), pruned with it by retention.
INSERT INTO probe_details (id, connection_id, outcome, class, detail, http_status, observation, first_ms, last_ms)
  SELECT p.id, c.id, p.outcome, p.class, p.detail, p.http_status,
    json_object(
      'url', p.url,
      'credential', json_object('status', p.credential_status, 'problem', p.credential_problem,
        'fingerprint', p.credential_fingerprint, 'findings', json(p.credential_findings)),
      'oauth', CASE WHEN p.oauth_ok IS NULL THEN NULL ELSE json_object(
        'ok', json(CASE p.oauth_ok WHEN 1 THEN 'true' ELSE 'false' END),
        'fromCache', json(CASE p.oauth_from_cache WHEN 1 THEN 'true' ELSE 'false' END),
        'httpStatus', p.oauth_http_status, 'error', p.oauth_error, 'expiresAt', p.oauth_expires_at) END,
      'error', CASE WHEN p.error_code IS NULL THEN NULL ELSE json_object(
        'code', p.error_code, 'phase', p.error_phase, 'message', coalesce(p.error_message, '')) END,
      'http', CASE WHEN p.http_status IS NULL THEN NULL ELSE json_object(
        'status', p.http_status, 'contentType', p.content_type, 'headers', json(coalesce(p.headers, '{}')),
        'message', coalesce(p.message, ''), 'bodyBytes', coalesce(p.body_bytes, 0),
        'bodyTruncated', json(CASE p.body_truncated WHEN 1 THEN 'true' ELSE 'false' END)) END,
      'identity', CASE WHEN p.has_identity = 0 THEN NULL ELSE json_object(
        'accountId', p.identity_account_id, 'name', p.identity_name, 'key', p.identity_key,
        'emailAddress', p.identity_email, 'displayName', p.identity_display_name,
        'active', json(CASE p.identity_active WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE 'null' END)) END,
      'tls', CASE WHEN p.tls_authorized IS NULL THEN NULL ELSE json_object(
        'protocol', p.tls_protocol, 'cipher', p.tls_cipher, 'subject', p.tls_subject, 'issuer', p.tls_issuer,
        'sans', json(coalesce(p.tls_sans, '[]')), 'serial', p.tls_serial, 'fingerprint256', p.tls_fingerprint256,
        'notBefore', p.tls_not_before, 'notAfter', p.tls_not_after, 'chainEarliestNotAfter', p.tls_chain_earliest_not_after,
        'authorized', json(CASE p.tls_authorized WHEN 1 THEN 'true' ELSE 'false' END),
        'authorizationError', p.tls_authorization_error) END
    ),
    CAST(round((julianday(p.started_at) - 2440587.5) * 86400000) AS INTEGER),
    CAST(round((julianday(p.started_at) - 2440587.5) * 86400000) AS INTEGER)
  FROM probes p JOIN connection_ids c ON c.name = p.connection;

INSERT INTO probes_compact (id, connection_id, started_ms, detail_id, dns_us, connect_us, tls_us, request_us, first_byte_us,
    download_us, total_us, volatile)
  SELECT p.id, c.id, d.first_ms, p.id,
    CAST(round(p.dns_seconds * 1e6) AS INTEGER), CAST(round(p.connect_seconds * 1e6) AS INTEGER),
    CAST(round(p.tls_seconds * 1e6) AS INTEGER), CAST(round(p.request_seconds * 1e6) AS INTEGER),
    CAST(round(p.first_byte_seconds * 1e6) AS INTEGER), CAST(round(p.download_seconds * 1e6) AS INTEGER),
    CAST(round(p.total_seconds * 1e6) AS INTEGER), NULL
  FROM probes p JOIN connection_ids c ON c.name = p.connection JOIN probe_details d ON d.id = p.id;

DROP TABLE probes;
ALTER TABLE probes_compact RENAME TO probes;
-- History, recent probes, the status page's last hours, pruning: all per connection, by time.
CREATE INDEX probes_connection_started ON probes (connection_id, started_ms);
-- Each connection's current detail, and the closed ones pruning looks at.
CREATE INDEX probe_details_current ON probe_details (connection_id) WHERE last_ms IS NULL;
CREATE INDEX probe_details_closed ON probe_details (last_ms) WHERE last_ms IS NOT NULL;

-- Per connection per UTC hour (hours since 1970-01-01T00:00Z): probes per outcome and their total duration.
-- Written once the hour is over (meta 'rolled_up_through_hour'), kept for storage.rollupRetention.
CREATE TABLE probe_hours (
  connection_id  INTEGER NOT NULL,
  hour           INTEGER NOT NULL,
  outcome        TEXT NOT NULL,
  class          TEXT NOT NULL CHECK (class IN ('ok', 'auth', 'network', 'tls', 'server')),
  probes         INTEGER NOT NULL CHECK (probes > 0),
  timed          INTEGER NOT NULL,            -- probes with a total duration (a credential problem has none)
  total_us_sum   INTEGER NOT NULL,
  total_us_min   INTEGER,
  total_us_max   INTEGER,
  PRIMARY KEY (connection_id, hour, outcome)
) STRICT, WITHOUT ROWID;

-- Per connection per UTC hour: seconds spent in each state (from the state_changed events).
CREATE TABLE state_hours (
  connection_id  INTEGER NOT NULL,
  hour           INTEGER NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('unknown', 'ok', 'failing', 'regressed', 'unreachable')),
  seconds        INTEGER NOT NULL CHECK (seconds >= 0),
  PRIMARY KEY (connection_id, hour, state)
) STRICT, WITHOUT ROWID;

-- For ad-hoc SQL (docs/storage.md): probes as one readable row each, with ISO times and seconds.
CREATE VIEW probe_history AS
  SELECT p.id, c.name AS connection, strftime('%Y-%m-%dT%H:%M:%fZ', p.started_ms / 1000.0, 'unixepoch') AS started_at,
    d.outcome, d.class, d.detail, d.http_status, p.total_us / 1e6 AS total_seconds,
    json_extract(d.observation, '$.url') AS url,
    json_extract(d.observation, '$.tls.protocol') AS tls_protocol,
    json_extract(d.observation, '$.tls.cipher') AS tls_cipher,
    json_extract(d.observation, '$.tls.fingerprint256') AS tls_fingerprint256,
    json_extract(d.observation, '$.tls.notAfter') AS tls_not_after,
    json_extract(d.observation, '$.credential.fingerprint') AS credential_fingerprint,
    json_extract(d.observation, '$.error.code') AS error_code,
    p.detail_id, d.observation, p.volatile
  FROM probes p JOIN connection_ids c ON c.id = p.connection_id JOIN probe_details d ON d.id = p.detail_id;
