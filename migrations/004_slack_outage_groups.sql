-- Outage-aware Slack (alerting.slack.groupWindow): incidents of one cause share one Slack message.
-- A group belongs to one Slack destination (its outbox target); an incident is a member of at most one group.
-- host_key / credential_key: "<state>|host:<host>|<outcome>" and "<state>|credential:<fingerprint>|<outcome>"
-- (src/notify/grouping.ts); an incident joins the open group that shares either.
CREATE TABLE slack_groups (
  id              INTEGER PRIMARY KEY,
  destination     TEXT NOT NULL,
  host_key        TEXT NOT NULL,
  credential_key  TEXT,
  opened_at       TEXT NOT NULL,            -- its first member's incident opening
  announced_at    TEXT,                     -- when its first message was written to the outbox
  closed_at       TEXT                      -- when its resolved message was written: no one joins any more
) STRICT;
CREATE INDEX slack_groups_open ON slack_groups (destination) WHERE closed_at IS NULL;

CREATE TABLE slack_group_members (
  group_id                 INTEGER NOT NULL REFERENCES slack_groups (id),
  incident_id              INTEGER NOT NULL UNIQUE REFERENCES incidents (id),
  connection               TEXT NOT NULL,
  joined_at                TEXT NOT NULL,   -- the incident's opening
  announced_at             TEXT,            -- told in the announcement or a join message
  resolution_announced_at  TEXT,            -- its recovery told
  PRIMARY KEY (group_id, incident_id)
) STRICT;

-- Slack Web API threads: the channel and ts of a thread's first message once Slack accepted it, so replies and
-- the resolved update go to it, also after a restart. thread: 'group:<id>' or 'incident|<connection>|<state>|<opened>'.
CREATE TABLE slack_threads (
  target     TEXT NOT NULL,                 -- the destination's outbox target
  thread     TEXT NOT NULL,
  channel    TEXT NOT NULL,
  ts         TEXT NOT NULL,
  message    TEXT NOT NULL CHECK (json_valid(message)),
  posted_at  TEXT NOT NULL,
  PRIMARY KEY (target, thread)
) STRICT;

-- The grouping pass (every second) looks for open or recent incidents that got no Slack row of their own.
CREATE INDEX outbox_incident ON outbox (incident_id, channel) WHERE incident_id IS NOT NULL;
CREATE INDEX incidents_unresolved ON incidents (opened_at) WHERE resolved_at IS NULL;
CREATE INDEX incidents_opened ON incidents (opened_at);
