// The Slack grouping pass (alerting.slack.groupWindow > 0): puts new incidents into groups, and writes the
// group messages that are due through the outbox — all in one transaction, so a crash leaves either nothing
// or the memberships, marks and outbox rows together; every row's dedupe key names its group message, so a
// message can never be written twice. Runs after every cycle that enqueued or changed an incident, and in the
// periodic sweep (reminders, windows that end between probes).
import type { Config, Connection } from '../config/load.js';
import { assignToGroups, causeKeys, decideGroupMessages, type GroupMessage, type GroupMessageKind, type OpenGroup } from '../notify/grouping.js';
import { notificationFromPlan } from '../notify/plan.js';
import type { Notifier } from '../notify/registry.js';
import { resolvedNote } from '../notify/slack/channel.js';
import { routeFor } from '../notify/slack/destinations.js';
import { groupResolvedNote, renderGroupMessage, type GroupView } from '../notify/slack/group-render.js';
import { renderSlackMessage } from '../notify/slack/render.js';
import type { SlackWebAction, SlackWebPayload } from '../notify/slack/threads.js';
import { isIncidentState, type IncidentState, type Notification } from '../notify/types.js';
import type { AuthState } from '../state/types.js';
import type { SlackGroupingStore } from '../store/ports.js';
import type { NewOutboxItem, OutboxKind } from '../store/types.js';
import type { GroupMemberIncident } from '../store/slack-groups.js';
import { notificationFacts } from './notifications.js';

/** How often the daemon runs the pass: a group is announced at most this long after its window ends. */
export const SLACK_GROUPING_PASS_MS = 1000;

export function slackGroupingEnabled(config: Pick<Config, 'alerting'>): boolean {
  return (config.alerting.slack?.groupWindowMs ?? 0) > 0;
}

const OUTBOX_KIND: Record<GroupMessageKind, OutboxKind> = { announce: 'open', joined: 'open', reminder: 'reminder', recovered: 'resolve', resolved: 'resolve' };
const WEB_ACTION: Record<GroupMessageKind, SlackWebAction> = { announce: 'post', joined: 'reply', reminder: 'reply', recovered: 'reply', resolved: 'resolve' };

/** Returns how many outbox rows were written. */
export function flushSlackGroups(store: SlackGroupingStore, config: Config, notifiers: readonly Notifier[], now: Date, previousPassAt: Date | null): number {
  const slack = config.alerting.slack;
  if (!slack || !slackGroupingEnabled(config)) return 0;
  const windowMs = slack.groupWindowMs ?? 0;
  const destinations = notifiers.filter((notifier) => notifier.channel === 'slack' && notifier.destination);
  if (destinations.length === 0) return 0;
  const connections = new Map(config.connections.map((connection) => [connection.name, connection]));
  const at = now.toISOString();
  const repo = store.slackGroups();

  return store.transaction(() => {
    // Outbox rows are pruned after storage.retention: an older open incident may have been notified on its own.
    const openSince = new Date(now.getTime() - config.storage.retentionMs).toISOString();
    const candidates = repo.ungroupedIncidents(new Date(now.getTime() - 2 * windowMs).toISOString(), openSince).flatMap((incident) => {
      const connection = connections.get(incident.connection);
      const destination = connection ? routeFor(destinations.map((notifier) => notifier.destination!), connection.labels) : null;
      if (!connection || !destination) return [];
      const keys = causeKeys({ state: incident.kind, outcome: incident.outcome, host: hostOf(incident.url), fingerprint: incident.fingerprint });
      return [{ ...keys, incidentId: incident.incidentId, connection: incident.connection, destination: destination.target, openedAt: incident.openedAt }];
    });
    const { newGroups, assignments } = assignToGroups(repo.openGroups(), candidates);
    const created = newGroups.map((group) => repo.createGroup(group));
    for (const assignment of assignments) {
      const candidate = candidates.find((c) => c.incidentId === assignment.incidentId)!;
      repo.addMember('id' in assignment.group ? assignment.group.id : created[assignment.group.index], candidate);
    }

    const groups = repo.openGroups();
    const messages = decideGroupMessages(groups, at, { windowMs, reminderIntervalMs: config.alerting.reminderIntervalMs }, previousPassAt?.toISOString() ?? null);
    const items: NewOutboxItem[] = [];
    for (const message of messages) {
      const group = groups.find((candidate) => candidate.id === message.groupId)!;
      const notifier = destinations.find((candidate) => candidate.target === group.destination);
      if (notifier) items.push(groupRow(store, group, message, notifier, connections, config, at));
      if (message.kind === 'announce' || message.kind === 'joined') repo.markAnnounced(group.id, message.incidentIds, at);
      if (message.kind === 'recovered' || message.kind === 'resolved') repo.markResolutionAnnounced(group.id, message.incidentIds, at);
      // A destination removed by a reload: its group closes, the members' later incidents start new groups.
      if (message.kind === 'resolved' || !notifier) repo.closeGroup(group.id, at);
    }
    if (items.length === 0) return 0;
    return store.enqueueOutbox(items, now).filter((id) => id !== null).length;
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function groupRow(
  store: SlackGroupingStore,
  group: OpenGroup & { members: GroupMemberIncident[] },
  message: GroupMessage,
  notifier: Notifier,
  connections: Map<string, Connection>,
  config: Config,
  at: string,
): NewOutboxItem {
  const members = group.members.filter((member) => message.incidentIds.includes(member.incidentId));
  const first = group.members[0];
  const state = (isIncidentState(first.kind as AuthState) ? first.kind : 'regressed') as IncidentState;
  const outcome = group.hostKey.split('|').at(-1) ?? 'unknown';
  const opening = store.slackGroups().openingOf(first.incidentId);
  const openProbe = opening?.probeId != null ? store.probe(opening.probeId) : null;
  const firstConnection = connections.get(first.connection);
  const diagnosis = firstConnection && openProbe ? notificationFacts(firstConnection, openProbe.observation, openProbe, store.loadState(first.connection), null, new Date(at)).diagnosis : null;
  const hosts = [...new Set(group.members.map((member) => hostOf(store.slackGroups().openingOf(member.incidentId)?.url ?? '')))].sort();
  const resolvedTimes = group.members.map((member) => member.resolvedAt).filter((time): time is string => time !== null);
  const view: GroupView = {
    kind: message.kind,
    state,
    outcome,
    hosts,
    diagnosis,
    httpStatus: openProbe?.observation.http?.status ?? null,
    connections: [...new Set(members.map((member) => member.connection))],
    // Connections, not incidents: one that recovered and broke again for the same cause is counted once.
    total: new Set(group.members.map((member) => member.connection)).size,
    stillFailing: new Set(group.members.filter((member) => member.resolvedAt === null).map((member) => member.connection)).size,
    openedAt: group.openedAt,
    announcedAt: message.kind === 'announce' ? null : group.announcedAt,
    resolvedAt: resolvedTimes.length > 0 ? resolvedTimes.reduce((a, b) => (a >= b ? a : b)) : null,
    at,
    dashboardUrl: config.alerting.dashboardUrl,
  };
  // A group of one reads like a message about one connection: the full diagnosis, server answer and what changed.
  const single = group.members.length === 1 && message.kind !== 'joined' ? singleNotification(store, first, message.kind, state, connections, at) : null;
  const rendered = single ? renderSlackMessage(single, { dashboardUrl: config.alerting.dashboardUrl }) : renderGroupMessage(view);
  const web = notifier.destination?.delivery.kind === 'web';
  const action = WEB_ACTION[message.kind];
  const payload: SlackWebPayload | typeof rendered = web
    ? { web: true, thread: `group:${group.id}`, action, message: rendered, resolvedNote: action === 'resolve' ? (single ? resolvedNote(single) : groupResolvedNote(view)) : null }
    : rendered;
  return {
    channel: 'slack',
    kind: OUTBOX_KIND[message.kind],
    target: notifier.target,
    payload,
    dedupeKey: `${message.key}|slack|${notifier.target}`,
    incident: { id: (members[0] ?? first).incidentId },
  };
}

/** The one-connection message of a group's only member, built from what the database recorded. */
function singleNotification(store: SlackGroupingStore, member: GroupMemberIncident, kind: GroupMessageKind, state: IncidentState, connections: Map<string, Connection>, at: string): Notification | null {
  const connection = connections.get(member.connection);
  const opening = store.slackGroups().openingOf(member.incidentId);
  if (!connection || !opening) return null;
  const resolved = kind === 'resolved' || kind === 'recovered';
  const probe = resolved ? store.recentProbes(connection.name, 1)[0] : opening.probeId != null ? store.probe(opening.probeId) : null;
  if (!probe) return null;
  const current = store.loadState(connection.name);
  const lastOk = resolved ? null : (store.lastOkProbe(connection.name)?.observation ?? null);
  const facts = notificationFacts(connection, probe.observation, probe, current, lastOk, new Date(at));
  const incident = { state, openedAt: member.joinedAt, resolvedAt: resolved ? member.resolvedAt : null };
  const notificationKind = resolved ? 'incident_resolved' : kind === 'reminder' ? 'incident_reminder' : 'incident_opened';
  const transition = resolved ? { from: state, to: current.state } : kind === 'announce' ? { from: (opening.from ?? 'unknown') as AuthState, to: state } : null;
  return notificationFromPlan({ kind: notificationKind, dedupeKey: '', channels: ['slack'], transition, incident, changes: null, certificate: null, token: null }, { ...facts, at });
}
