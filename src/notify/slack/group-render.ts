// One Slack message for a group of incidents with one cause (src/notify/grouping.ts). Pure. The diagnosis
// is said once; the connections are listed up to MAX_LISTED names, then "and N more".
import { formatDuration } from '../../config/duration.js';
import type { GroupMessageKind } from '../grouping.js';
import type { IncidentState, NotificationDiagnosis } from '../types.js';
import { clampMrkdwn, clampPlain, enforceSlackLimits, escapeMrkdwn, formatUtc, inlineCode, link, slackDate, SLACK_LIMITS, stripControl, type SlackBlock, type SlackPayload } from './blocks.js';

export const MAX_LISTED = 40;

export interface GroupView {
  kind: GroupMessageKind;
  state: IncidentState;
  outcome: string;
  /** The Jira hosts of the group's members (one, unless a shared credential fails on several sites). */
  hosts: string[];
  /** The first member's diagnosis (the same outcome for all). */
  diagnosis: NotificationDiagnosis | null;
  httpStatus: number | null;
  /** The connections this message is about. */
  connections: string[];
  /** Every member of the group so far. */
  total: number;
  /** Members still failing after this message. */
  stillFailing: number;
  openedAt: string;
  /** When the group was announced (follow-ups name it); null for the announcement itself. */
  announcedAt: string | null;
  /** The group's last recovery, for the resolved message. */
  resolvedAt: string | null;
  /** The message's time (ISO 8601). */
  at: string;
  dashboardUrl: string | null;
}

const WORDS: Record<IncidentState, { opened: string; still: string; emoji: string }> = {
  regressed: { opened: 'auth regressed', still: 'auth still failing', emoji: ':rotating_light:' },
  failing: { opened: 'cannot authenticate', still: 'still cannot authenticate', emoji: ':x:' },
  unreachable: { opened: 'Jira unreachable', still: 'Jira still unreachable', emoji: ':warning:' },
};

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** Where: "on acme.atlassian.net", or "on 3 sites" for a shared credential. */
function where(view: GroupView): string {
  return view.hosts.length === 1 ? `on ${view.hosts[0]}` : `on ${view.hosts.length} sites`;
}

export function listConnections(names: readonly string[], max = MAX_LISTED): string {
  const sorted = [...names].sort();
  const shown = sorted.slice(0, max).map((name) => inlineCode(name)).join(', ');
  return sorted.length > max ? `${shown} and ${sorted.length - max} more` : shown;
}

function headline(view: GroupView): string {
  const words = WORDS[view.state];
  const count = plural(view.connections.length, 'connection');
  switch (view.kind) {
    case 'announce':
      return `${words.emoji} ${count} ${where(view)}: ${words.opened}`;
    case 'joined':
      return `${words.emoji} ${view.connections.length} more ${view.connections.length === 1 ? 'connection' : 'connections'} ${where(view)}: ${words.opened}`;
    case 'reminder':
      return `${words.emoji} ${count} ${where(view)}: ${words.still} after ${formatDuration(Math.max(0, Date.parse(view.at) - Date.parse(view.openedAt)))}`;
    case 'recovered':
      return `:large_green_circle: ${view.connections.length} of ${view.total} connections ${where(view)} work again`;
    case 'resolved':
      return `:white_check_mark: ${where(view).replace(/^on /, '')}: all ${plural(view.total, 'connection')} work again`;
  }
}

function causeLine(view: GroupView): string {
  const d = view.diagnosis;
  const outcome = `${inlineCode(view.outcome)}${d ? ` (${d.class}) — ${escapeMrkdwn(stripControl(d.title))}` : ''}`;
  const shared = view.hosts.length === 1 ? `every connection to ${escapeMrkdwn(view.hosts[0])} got the same answer` : `the same credential fails on ${view.hosts.map(escapeMrkdwn).join(', ')}`;
  return `*Cause:* ${outcome}: ${shared}${view.httpStatus !== null ? ` (HTTP ${view.httpStatus})` : ''}.`;
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clampMrkdwn(text, SLACK_LIMITS.sectionText) } };
}

export function renderGroupMessage(view: GroupView): SlackPayload {
  const title = headline(view);
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: clampPlain(title, SLACK_LIMITS.headerText), emoji: true } }];
  const names = listConnections(view.connections);
  const since = view.announcedAt ? ` (announced ${slackDate(view.announcedAt)})` : '';
  switch (view.kind) {
    case 'announce':
    case 'reminder': {
      const d = view.diagnosis;
      blocks.push(section([causeLine(view), d ? escapeMrkdwn(stripControl(d.explanation)) : null, d?.detail ? `*Seen:* ${inlineCode(d.detail)}` : null].filter(Boolean).join('\n')));
      blocks.push(section(`*${plural(view.connections.length, 'connection')}:* ${names}`));
      if (d && d.remediation.length > 0) blocks.push(section(['*What to do*', ...d.remediation.map((step, index) => `${index + 1}. ${escapeMrkdwn(stripControl(step))}`)].join('\n')));
      break;
    }
    case 'joined':
      blocks.push(section(`${names} ${view.connections.length === 1 ? 'joins' : 'join'} the outage ${where(view)} that opened ${slackDate(view.openedAt)}${since}: ${causeLine(view).replace(/^\*Cause:\* /, '')} Now ${plural(view.stillFailing, 'connection')} failing.`));
      break;
    case 'recovered':
      blocks.push(section(`${names} authenticate${view.connections.length === 1 ? 's' : ''} again. Still failing: ${plural(view.stillFailing, 'connection')} of the outage ${where(view)} that opened ${slackDate(view.openedAt)}${since} (${inlineCode(view.outcome)}).`));
      break;
    case 'resolved': {
      const lasted = view.resolvedAt ? ` after ${formatDuration(Math.max(0, Date.parse(view.resolvedAt) - Date.parse(view.openedAt)))}` : '';
      blocks.push(section(`*Resolved${lasted}.* The outage ${where(view)} (${inlineCode(view.outcome)}) that opened ${slackDate(view.openedAt)}${since} is over: ${view.connections.length === view.total ? 'every connection authenticates again' : `the last ${plural(view.connections.length, 'connection')} (${names}) authenticate again`}.`));
      break;
    }
  }
  const footer = [`authwatch · ${formatUtc(Date.parse(view.at))}`];
  if (view.dashboardUrl) footer.push(link(view.dashboardUrl, 'Open the dashboard'));
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footer.join(' · ') }] });
  const fallback = `${title.replace(/^:[a-z_]+:\s*/, '')}${view.kind === 'announce' || view.kind === 'reminder' ? ` — ${view.outcome}` : ''}`;
  return enforceSlackLimits({ text: escapeMrkdwn(stripControl(fallback)), blocks });
}

/** The line a resolved group's first message gets on top (Web API). */
export function groupResolvedNote(view: GroupView): string {
  const lasted = view.resolvedAt ? ` after ${formatDuration(Math.max(0, Date.parse(view.resolvedAt) - Date.parse(view.openedAt)))}` : '';
  return `:white_check_mark: *Resolved${lasted}:* all ${plural(view.total, 'connection')} authenticate again.`;
}
