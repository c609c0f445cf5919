// Notification → Slack Block Kit message. Pure: the same notification always gives the same JSON.
import { formatDuration } from '../../config/duration.js';
import {
  clampMrkdwn,
  clampPlain,
  codeBlock,
  enforceSlackLimits,
  escapeMrkdwn,
  formatUtc,
  inlineCode,
  link,
  slackDate,
  SLACK_LIMITS,
  stripControl,
  type SlackBlock,
  type SlackPayload,
} from './blocks.js';
import { describeChanges, describeTlsChanges } from '../describe-changes.js';
import { incidentDurationMs, type Comparison, type IncidentState, type Notification } from '../types.js';

export type { SlackPayload } from './blocks.js';
export { validateSlackPayload } from './blocks.js';

export interface SlackRenderOptions {
  dashboardUrl: string | null;
}

/** The server's message is at most 500 characters (docs/storage.md); anything longer is cut here too. */
const SERVER_MESSAGE_MAX = 500;
const HEADER_VALUE_MAX = 200;

const STATE_WORDS: Record<IncidentState, { opened: string; still: string; resolved: string; emoji: string }> = {
  regressed: { opened: 'auth regressed', still: 'auth still failing', resolved: 'auth works again', emoji: ':rotating_light:' },
  failing: { opened: 'has never authenticated', still: 'still cannot authenticate', resolved: 'authenticates now', emoji: ':x:' },
  unreachable: { opened: 'unreachable', still: 'still unreachable', resolved: 'reachable again', emoji: ':warning:' },
};

const STATE_SENTENCE: Record<IncidentState, string> = {
  regressed: 'Auth that used to work now fails.',
  failing: 'This connection has never authenticated successfully: a misconfiguration rather than a regression.',
  unreachable: 'authwatch gets no usable answer from Jira, so it cannot tell whether auth still works.',
};

export function renderSlackMessage(n: Notification, options: SlackRenderOptions): SlackPayload {
  const name = n.connection?.name ?? 'authwatch';
  const { emoji, title } = headline(n);
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: clampPlain(`${emoji} ${name}: ${title}`, SLACK_LIMITS.headerText), emoji: true } }];
  const body = bodyBlocks(n);
  const footer = footerBlock(n, options);
  const budget = SLACK_LIMITS.blocks - blocks.length - body.length - 1;
  blocks.push(...body.slice(0, 1), ...remediationBlocks(n, Math.max(1, budget)), ...body.slice(1), footer);
  const fallback = [`${name}: ${title}`, n.diagnosis && n.kind !== 'incident_resolved' ? `${n.diagnosis.outcome} (${n.diagnosis.title})` : null]
    .filter(Boolean)
    .join(' — ');
  return enforceSlackLimits({ text: escapeMrkdwn(stripControl(fallback)), blocks });
}

function headline(n: Notification): { emoji: string; title: string } {
  const state = n.incident?.state ?? 'regressed';
  const words = STATE_WORDS[state];
  switch (n.kind) {
    case 'incident_opened':
      return { emoji: words.emoji, title: words.opened };
    case 'incident_reminder':
      return { emoji: words.emoji, title: `${words.still} after ${formatDuration(Math.max(0, Date.parse(n.at) - Date.parse(n.incident?.openedAt ?? n.at)))}` };
    case 'incident_resolved':
      return { emoji: ':white_check_mark:', title: words.resolved };
    case 'tls_changed':
      return { emoji: ':lock:', title: n.changes?.tlsProtocol.status === 'changed' ? `TLS downgraded to ${n.changes.tlsProtocol.after}` : 'TLS changed' };
    case 'cert_expiring':
      return { emoji: ':hourglass_flowing_sand:', title: `TLS certificate expires in ${days(n.certificate?.daysLeft ?? 0)}` };
    case 'token_expiring':
      return { emoji: ':hourglass_flowing_sand:', title: `token expires in ${days(n.token?.daysLeft ?? 0)}` };
    case 'identity_changed':
      return { emoji: ':bust_in_silhouette:', title: 'authenticates as someone else' };
    case 'test':
      return { emoji: ':test_tube:', title: 'test notification' };
  }
}

function days(count: number): string {
  if (count <= 0) return 'less than a day';
  return count === 1 ? '1 day' : `${count} days`;
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clampMrkdwn(text, SLACK_LIMITS.sectionText) } };
}

function connectionLine(n: Notification): string | null {
  const c = n.connection;
  if (!c) return null;
  return `*${escapeMrkdwn(c.name)}* · ${link(c.url, c.url)} · ${c.deployment}, ${c.authType} auth`;
}

/** The blocks after the header; the first one is the summary, remediation goes right after it. */
function bodyBlocks(n: Notification): SlackBlock[] {
  switch (n.kind) {
    case 'incident_opened':
    case 'incident_reminder':
      return [section(lines(connectionLine(n), incidentSentence(n), diagnosisLines(n))), ...serverBlocks(n), ...changeBlocks(n), timelineBlock(n)];
    case 'incident_resolved':
      return [section(lines(connectionLine(n), resolvedSentence(n))), timelineBlock(n)];
    case 'tls_changed':
      return [
        section(lines(connectionLine(n), 'The TLS connection to Jira got weaker since the last successful probe.', n.changes ? describeTlsChanges(n.changes).map((line) => `• ${escapeMrkdwn(line)}`).join('\n') : null)),
        timelineBlock(n),
      ];
    case 'cert_expiring':
      return [section(lines(connectionLine(n), certificateSentence(n)))];
    case 'token_expiring':
      return [section(lines(connectionLine(n), tokenSentence(n)))];
    case 'identity_changed':
      return [section(lines(connectionLine(n), identitySentence(n.changes?.identity ?? { status: 'unknown' }))), timelineBlock(n)];
    case 'test':
      return [section(lines(connectionLine(n), 'This is a test notification sent by `authwatch test-alert`. If you can read it, authwatch can reach this Slack channel.'))];
  }
}

function lines(...parts: (string | null | undefined)[]): string {
  return parts.filter((part): part is string => Boolean(part)).join('\n');
}

function incidentSentence(n: Notification): string | null {
  const state = n.incident?.state;
  if (!state) return null;
  if (n.kind === 'incident_reminder' && n.incident) return `${STATE_SENTENCE[state]} Open since ${slackDate(n.incident.openedAt)}.`;
  return STATE_SENTENCE[state];
}

function diagnosisLines(n: Notification): string | null {
  const d = n.diagnosis;
  if (!d) return null;
  return lines(
    `*Outcome:* ${inlineCode(d.outcome)} (${d.class}) — ${escapeMrkdwn(stripControl(d.title))}`,
    escapeMrkdwn(stripControl(d.explanation)),
    d.detail ? `*Seen:* ${inlineCode(d.detail)}` : null,
  );
}

function resolvedSentence(n: Notification): string {
  const duration = incidentDurationMs(n.incident);
  const state = n.incident?.state ?? 'regressed';
  const lasted = duration === null ? '*Resolved.*' : `*Resolved after ${formatDuration(duration)}.*`;
  const was = { regressed: 'Auth had regressed', failing: 'The connection had never authenticated', unreachable: 'Jira had been unreachable' }[state];
  const since = n.incident ? ` ${was} since ${slackDate(n.incident.openedAt)}.` : '';
  const now = n.diagnosis ? ` The latest probe: ${inlineCode(n.diagnosis.outcome)}.` : '';
  return lasted + since + now;
}

function remediationBlocks(n: Notification, maxBlocks: number): SlackBlock[] {
  const steps = n.kind === 'incident_opened' || n.kind === 'incident_reminder' ? (n.diagnosis?.remediation ?? []) : [];
  if (steps.length === 0) return [];
  const heading = '*What to do*';
  const stepLines = steps.map((step, index) => clampMrkdwn(`${index + 1}. ${escapeMrkdwn(stripControl(step))}`, SLACK_LIMITS.sectionText - heading.length - 1));
  const blocks: string[] = [];
  let current = heading;
  let shown = 0;
  for (const line of stepLines) {
    if (current.length + 1 + line.length > SLACK_LIMITS.sectionText) {
      if (blocks.length + 1 === maxBlocks) break;
      blocks.push(current);
      current = line;
    } else current = current ? `${current}\n${line}` : line;
    shown++;
  }
  const hidden = steps.length - shown;
  if (hidden > 0) {
    const note = `_…and ${hidden} more step${hidden === 1 ? '' : 's'} not shown_`;
    current = clampMrkdwn(current, SLACK_LIMITS.sectionText - note.length - 1) + '\n' + note;
  }
  blocks.push(current);
  return blocks.map(section);
}

function serverBlocks(n: Notification): SlackBlock[] {
  const heading = '*What the server answered*';
  const http = n.http;
  if (!http) return [section(`${heading}\nNo HTTP response.`)];
  const status = `HTTP ${http.status}${http.contentType ? ` · ${inlineCode(http.contentType)}` : ''}`;
  const headers = Object.entries(http.headers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `• ${inlineCode(`${name}: ${clampPlain(value, HEADER_VALUE_MAX)}`)}`);
  const message = http.message.trim() ? codeBlock(clampPlain(http.message, SERVER_MESSAGE_MAX)) : '_(empty body)_';
  return [section(lines(heading, status, ...headers)), section(lines('*Server message*', message))];
}

function changeBlocks(n: Notification): SlackBlock[] {
  if (!n.changes || !n.lastSuccessAt) return [];
  return [section(lines(`*Since the last success* (${slackDate(n.lastSuccessAt)})`, ...describeChanges(n.changes).map((line) => `• ${escapeMrkdwn(line)}`)))];
}

function timelineBlock(n: Notification): SlackBlock {
  const fields: string[] = [];
  if (n.transition) fields.push(`*State*\n${n.transition.from} → ${n.transition.to}`);
  if (n.http) fields.push(`*HTTP status*\n${n.http.status}`);
  if (n.incident) fields.push(`*Opened*\n${slackDate(n.incident.openedAt)}`);
  if (n.incident?.resolvedAt) fields.push(`*Resolved*\n${slackDate(n.incident.resolvedAt)}`);
  if (n.kind !== 'incident_resolved') {
    fields.push(`*Last success*\n${n.lastSuccessAt ? slackDate(n.lastSuccessAt) : 'never'}`);
    if (n.firstFailureAt) fields.push(`*First failure*\n${slackDate(n.firstFailureAt)}`);
  }
  return { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) };
}

function certificateSentence(n: Notification): string {
  const cert = n.certificate;
  if (!cert) return 'The TLS certificate expires soon.';
  const subject = cert.subject ? ` (${inlineCode(cert.subject)})` : '';
  return lines(
    `The TLS certificate${subject} expires on ${slackDate(cert.notAfter)}, in ${days(cert.daysLeft)}.`,
    'Once it expires, every integration fails with `tls_cert_invalid`: ask whoever runs the site (or the proxy in front of it) to renew it.',
  );
}

function tokenSentence(n: Notification): string {
  const token = n.token;
  if (!token) return 'The configured token expires soon.';
  return lines(
    `The token this connection uses expires on ${escapeMrkdwn(token.expiresAt)}, in ${days(token.daysLeft)} (\`auth.expiresAt\`).`,
    'Create a new token now, update the integration and authwatch\'s secret with it, and set `auth.expiresAt` to the new expiry date.',
  );
}

function identitySentence(identity: Comparison): string {
  if (identity.status !== 'changed') return 'The credentials authenticate as a different user than at the last success.';
  return lines(
    `The credentials now authenticate as ${inlineCode(identity.after)} instead of ${inlineCode(identity.before)}.`,
    'If that is not intended, the secret was replaced with another account\'s token; set `expect` in the config to catch it as `identity_mismatch`.',
  );
}

function footerBlock(n: Notification, options: SlackRenderOptions): SlackBlock {
  const parts = [`authwatch · ${formatUtc(Date.parse(n.at))}`];
  if (options.dashboardUrl) parts.push(link(options.dashboardUrl, 'Open the dashboard'));
  return { type: 'context', elements: [{ type: 'mrkdwn', text: parts.join(' · ') }] };
}
