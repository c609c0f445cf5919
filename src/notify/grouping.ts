// Outage-aware Slack: which incidents share one message, and which group messages are due. Pure: data in,
// data out, no clock, no I/O; the daemon (src/daemon/slack-groups.ts) reads the groups from the database,
// applies these decisions and writes the messages through the outbox in one transaction.
//
// A cause is "the same Jira host and the same outcome" or "the same credential and the same outcome" (a shared
// service account's token expiring on several sites), for incidents of the same state on the same Slack
// destination. An incident joins the open group of its cause, else starts one. A group is announced once its
// window (groupWindow) has passed since it opened, listing every member so far; members that join after that
// are announced together a window after the first of them joined (a thread reply, or a follow-up naming the
// group); recoveries likewise a window after the first of them, at once when the last member recovered, which
// closes the group. Reminders are per group, on the incidents' reminder slots counted from the group's opening.
import { newSlot } from './plan.js';

export interface CauseFacts {
  /** The incident state: regressed, failing or unreachable. */
  state: string;
  outcome: string;
  /** host[:port] of the connection's Jira URL. */
  host: string;
  /** The credential fingerprint of the probe that opened the incident (an HMAC, never the secret). */
  fingerprint: string | null;
}

export interface CauseKeys {
  hostKey: string;
  credentialKey: string | null;
}

export function causeKeys(facts: CauseFacts): CauseKeys {
  return {
    hostKey: `${facts.state}|host:${facts.host}|${facts.outcome}`,
    credentialKey: facts.fingerprint ? `${facts.state}|credential:${facts.fingerprint}|${facts.outcome}` : null,
  };
}

export interface GroupMember {
  incidentId: number;
  connection: string;
  /** The incident's opening (ISO 8601). */
  joinedAt: string;
  /** When the member was included in the announcement or a join message; null: not yet told. */
  announcedAt: string | null;
  /** The incident's resolution, null while open. */
  resolvedAt: string | null;
  resolutionAnnouncedAt: string | null;
}

export interface OpenGroup extends CauseKeys {
  id: number;
  /** The Slack destination's outbox target. */
  destination: string;
  openedAt: string;
  announcedAt: string | null;
  members: GroupMember[];
}

export interface GroupCandidate extends CauseKeys {
  incidentId: number;
  connection: string;
  destination: string;
  openedAt: string;
}

export interface NewGroup extends CauseKeys {
  destination: string;
  openedAt: string;
}

export interface Assignment {
  incidentId: number;
  /** An existing group, or the index of a group in `newGroups`. */
  group: { id: number } | { index: number };
}

function sameCause(a: CauseKeys & { destination: string }, b: CauseKeys & { destination: string }): boolean {
  if (a.destination !== b.destination) return false;
  return a.hostKey === b.hostKey || (a.credentialKey !== null && a.credentialKey === b.credentialKey);
}

const byTime = <T extends { openedAt: string; incidentId: number }>(a: T, b: T) => a.openedAt.localeCompare(b.openedAt) || a.incidentId - b.incidentId;

/** Puts every candidate into the open group of its cause (the oldest, when two match), or a new one. */
export function assignToGroups(groups: readonly OpenGroup[], candidates: readonly GroupCandidate[]): { newGroups: NewGroup[]; assignments: Assignment[] } {
  const newGroups: NewGroup[] = [];
  const assignments: Assignment[] = [];
  const existing = [...groups].sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.id - b.id);
  for (const candidate of [...candidates].sort(byTime)) {
    const group = existing.find((open) => sameCause(open, candidate));
    if (group) {
      assignments.push({ incidentId: candidate.incidentId, group: { id: group.id } });
      continue;
    }
    const index = newGroups.findIndex((created) => sameCause(created, candidate));
    if (index >= 0) assignments.push({ incidentId: candidate.incidentId, group: { index } });
    else {
      newGroups.push({ destination: candidate.destination, hostKey: candidate.hostKey, credentialKey: candidate.credentialKey, openedAt: candidate.openedAt });
      assignments.push({ incidentId: candidate.incidentId, group: { index: newGroups.length - 1 } });
    }
  }
  return { newGroups, assignments };
}

export type GroupMessageKind =
  /** The first message: every member so far. */
  | 'announce'
  /** Members that joined after the announcement. */
  | 'joined'
  /** Some members recovered, others still fail. */
  | 'recovered'
  /** The last members recovered: the group closes. */
  | 'resolved'
  | 'reminder';

export interface GroupMessage {
  groupId: number;
  kind: GroupMessageKind;
  /** Unique per group message: the outbox's dedupe key is built from it. */
  key: string;
  /** The members this message is about (announce/joined: those told now; recovered/resolved: those recovered now; reminder: those still failing). */
  incidentIds: number[];
}

export interface GroupTiming {
  windowMs: number;
  /** 0: no reminders. */
  reminderIntervalMs: number;
}

const plus = (iso: string, ms: number) => Date.parse(iso) + ms;
const earliest = (times: string[]) => times.reduce((a, b) => (a <= b ? a : b));

/** The messages due at `now` for each group; `previousEvaluationAt` keeps reminder slots from being planned twice (their keys make it safe anyway). */
export function decideGroupMessages(groups: readonly OpenGroup[], now: string, timing: GroupTiming, previousEvaluationAt: string | null): GroupMessage[] {
  const at = Date.parse(now);
  const messages: GroupMessage[] = [];
  for (const group of groups) {
    if (group.members.length === 0) continue;
    const key = (suffix: string) => `slack-group:${group.id}|${suffix}`;
    if (group.announcedAt === null) {
      if (at >= plus(group.openedAt, timing.windowMs)) {
        messages.push({ groupId: group.id, kind: 'announce', key: key('announce'), incidentIds: group.members.map((member) => member.incidentId) });
      }
      continue; // nothing else before the announcement: it lists everyone so far
    }
    const untold = group.members.filter((member) => member.announcedAt === null);
    const toldNow = new Set<number>();
    if (untold.length > 0) {
      const first = earliest(untold.map((member) => member.joinedAt));
      if (at >= plus(first, timing.windowMs)) {
        untold.forEach((member) => toldNow.add(member.incidentId));
        messages.push({ groupId: group.id, kind: 'joined', key: key(`joined|${first}`), incidentIds: untold.map((member) => member.incidentId) });
      }
    }
    const told = (member: GroupMember) => member.announcedAt !== null || toldNow.has(member.incidentId);
    const recovered = group.members.filter((member) => member.resolvedAt !== null && member.resolutionAnnouncedAt === null && told(member));
    const allResolved = group.members.every((member) => member.resolvedAt !== null) && group.members.every(told);
    if (recovered.length > 0) {
      const first = earliest(recovered.map((member) => member.resolvedAt!));
      if (allResolved) messages.push({ groupId: group.id, kind: 'resolved', key: key('resolved'), incidentIds: recovered.map((member) => member.incidentId) });
      else if (at >= plus(first, timing.windowMs)) messages.push({ groupId: group.id, kind: 'recovered', key: key(`recovered|${first}`), incidentIds: recovered.map((member) => member.incidentId) });
    }
    if (!allResolved) {
      const slot = newSlot(group.openedAt, timing.reminderIntervalMs, now, previousEvaluationAt);
      const open = group.members.filter((member) => member.resolvedAt === null);
      if (slot !== null && open.length > 0) {
        const due = new Date(plus(group.openedAt, slot * timing.reminderIntervalMs)).toISOString();
        messages.push({ groupId: group.id, kind: 'reminder', key: key(`reminder|${due}`), incidentIds: open.map((member) => member.incidentId) });
      }
    }
  }
  return messages;
}
