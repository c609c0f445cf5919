// The Slack grouping tables (migrations/004_slack_outage_groups.sql): groups, their members, Web API threads.
// Used inside Store.transaction by the daemon's grouping pass, and by the Web API notifier for threads.
import type { GroupMember, NewGroup, OpenGroup } from '../notify/grouping.js';
import type { SlackPayload } from '../notify/slack/blocks.js';
import type { SlackThreadRecord, SlackThreads } from '../notify/slack/threads.js';
import type { Statement } from './db.js';

/** An incident that is in no group yet and got no Slack row of its own. */
export interface UngroupedIncident {
  incidentId: number;
  connection: string;
  kind: string;
  openedAt: string;
  resolvedAt: string | null;
  /** The outcome that opened it (its state_changed event). */
  outcome: string;
  /** The connection's Jira URL. */
  url: string;
  /** The opening probe's credential fingerprint; null when that probe is gone or had no credential. */
  fingerprint: string | null;
  openProbeId: number | null;
}

export interface GroupMemberIncident extends GroupMember {
  kind: string;
}

type Sql = (source: string) => Statement;

export class SlackGroupStore implements SlackThreads {
  constructor(private readonly sql: Sql) {}

  /** Groups not closed, with their members (and each member incident's resolution), oldest first. */
  openGroups(): (OpenGroup & { members: GroupMemberIncident[] })[] {
    const groups = this.sql('SELECT * FROM slack_groups WHERE closed_at IS NULL ORDER BY opened_at, id').all() as GroupRow[];
    if (groups.length === 0) return [];
    const members = this.sql(`SELECT m.*, i.resolved_at, i.kind FROM slack_group_members m JOIN incidents i ON i.id = m.incident_id
      WHERE m.group_id IN (SELECT id FROM slack_groups WHERE closed_at IS NULL) ORDER BY m.joined_at, m.incident_id`).all() as MemberRow[];
    return groups.map((group) => ({
      id: group.id,
      destination: group.destination,
      hostKey: group.host_key,
      credentialKey: group.credential_key,
      openedAt: group.opened_at,
      announcedAt: group.announced_at,
      members: members
        .filter((member) => member.group_id === group.id)
        .map((member) => ({
          incidentId: member.incident_id,
          connection: member.connection,
          joinedAt: member.joined_at,
          announcedAt: member.announced_at,
          resolvedAt: member.resolved_at,
          resolutionAnnouncedAt: member.resolution_announced_at,
          kind: member.kind,
        })),
    }));
  }

  /**
   * Incidents in no group that got no Slack row of their own: open ones opened since `openSince`, and resolved
   * ones opened since `since` (an incident shorter than one grouping pass). Incidents notified one by one before
   * grouping was switched on have their rows, so they are never announced again — as long as those rows are kept:
   * pass the outbox's retention as `openSince`.
   */
  ungroupedIncidents(since: string, openSince: string): UngroupedIncident[] {
    const rows = this.sql(`SELECT i.id, i.connection, i.kind, i.opened_at, i.resolved_at, e.details, e.probe_id, c.url, json_extract(d.observation, '$.credential.fingerprint') AS credential_fingerprint
      FROM incidents i
      JOIN events e ON e.id = i.open_event_id
      JOIN connections c ON c.name = i.connection
      LEFT JOIN probes p ON p.id = e.probe_id
      LEFT JOIN probe_details d ON d.id = p.detail_id
      WHERE i.id IN (SELECT id FROM incidents WHERE resolved_at IS NULL AND opened_at >= @openSince UNION SELECT id FROM incidents WHERE opened_at >= @since)
        AND i.kind IN ('failing', 'regressed', 'unreachable')
        AND NOT EXISTS (SELECT 1 FROM slack_group_members m WHERE m.incident_id = i.id)
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = i.id AND o.channel = 'slack')
      ORDER BY i.opened_at, i.id`).all({ since, openSince }) as UngroupedRow[];
    return rows.map((row) => {
      let outcome = 'unknown';
      try {
        const details = JSON.parse(row.details) as { outcome?: unknown };
        if (typeof details.outcome === 'string') outcome = details.outcome;
      } catch {
        // details are always JSON (a CHECK); keep 'unknown' otherwise
      }
      return {
        incidentId: row.id,
        connection: row.connection,
        kind: row.kind,
        openedAt: row.opened_at,
        resolvedAt: row.resolved_at,
        outcome,
        url: row.url,
        fingerprint: row.credential_fingerprint,
        openProbeId: row.probe_id,
      };
    });
  }

  /** The state change that opened an incident: from which state, and the probe that saw it. */
  openingOf(incidentId: number): { from: string | null; probeId: number | null; url: string } | null {
    const row = this.sql(`SELECT e.from_state, e.probe_id, c.url FROM incidents i JOIN events e ON e.id = i.open_event_id JOIN connections c ON c.name = i.connection
      WHERE i.id = ?`).get(incidentId) as { from_state: string | null; probe_id: number | null; url: string } | undefined;
    return row ? { from: row.from_state, probeId: row.probe_id, url: row.url } : null;
  }

  createGroup(group: NewGroup): number {
    return Number(
      this.sql('INSERT INTO slack_groups (destination, host_key, credential_key, opened_at) VALUES (?, ?, ?, ?)').run(group.destination, group.hostKey, group.credentialKey, group.openedAt)
        .lastInsertRowid,
    );
  }

  addMember(groupId: number, incident: { incidentId: number; connection: string; openedAt: string }): void {
    this.sql('INSERT INTO slack_group_members (group_id, incident_id, connection, joined_at) VALUES (?, ?, ?, ?)').run(groupId, incident.incidentId, incident.connection, incident.openedAt);
  }

  markAnnounced(groupId: number, incidentIds: readonly number[], at: string): void {
    this.sql('UPDATE slack_groups SET announced_at = coalesce(announced_at, ?) WHERE id = ?').run(at, groupId);
    const mark = this.sql('UPDATE slack_group_members SET announced_at = ? WHERE group_id = ? AND incident_id = ? AND announced_at IS NULL');
    for (const id of incidentIds) mark.run(at, groupId, id);
  }

  markResolutionAnnounced(groupId: number, incidentIds: readonly number[], at: string): void {
    const mark = this.sql('UPDATE slack_group_members SET resolution_announced_at = ? WHERE group_id = ? AND incident_id = ? AND resolution_announced_at IS NULL');
    for (const id of incidentIds) mark.run(at, groupId, id);
  }

  closeGroup(groupId: number, at: string): void {
    this.sql('UPDATE slack_groups SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(at, groupId);
  }

  get(target: string, thread: string): SlackThreadRecord | null {
    const row = this.sql('SELECT channel, ts, message FROM slack_threads WHERE target = ? AND thread = ?').get(target, thread) as
      | { channel: string; ts: string; message: string }
      | undefined;
    return row ? { channel: row.channel, ts: row.ts, message: JSON.parse(row.message) as SlackPayload } : null;
  }

  remember(target: string, thread: string, record: SlackThreadRecord, at: Date): void {
    this.sql('INSERT INTO slack_threads (target, thread, channel, ts, message, posted_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target, thread) DO NOTHING').run(
      target,
      thread,
      record.channel,
      record.ts,
      JSON.stringify(record.message),
      at.toISOString(),
    );
  }
}

interface GroupRow {
  id: number;
  destination: string;
  host_key: string;
  credential_key: string | null;
  opened_at: string;
  announced_at: string | null;
  closed_at: string | null;
}

interface MemberRow {
  group_id: number;
  incident_id: number;
  connection: string;
  joined_at: string;
  announced_at: string | null;
  resolution_announced_at: string | null;
  resolved_at: string | null;
  kind: string;
}

interface UngroupedRow {
  id: number;
  connection: string;
  kind: string;
  opened_at: string;
  resolved_at: string | null;
  details: string;
  probe_id: number | null;
  url: string;
  credential_fingerprint: string | null;
}
