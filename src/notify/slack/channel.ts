// The Slack channel's registration: one notifier per destination (the default and each label route,
// destinations.ts), an incoming webhook or the Web API with threads; a connection's rows go only to its
// destination. Slack targets name the destination, never its webhook URL: that is a credential, read at send time.
import type { SecretRef } from '../../config/schema.js';
import { readSecret, type Environment } from '../../config/secrets.js';
import { formatDuration } from '../../config/duration.js';
import { DEFAULT_NOTIFIER_TIMEOUT_MS, type ChannelNotifier, type ChannelRegistration, type NotifierOptions } from '../notifier.js';
import { incidentDurationMs, type Notification } from '../types.js';
import { postToSlack, webhookUrlProblem } from './client.js';
import { DEFAULT_SLACK_API_URL, routeFor, slackDestinations, slackSecretRefs, type SlackDestination } from './destinations.js';
import { renderSlackMessage, type SlackPayload } from './render.js';
import { isSlackWebPayload, markResolved, memoryThreads, type SlackThreads, type SlackWebAction, type SlackWebPayload } from './threads.js';
import { callSlackWebApi } from './web-api.js';

export const slackChannel: ChannelRegistration = {
  title: 'Slack channel',
  setting: 'alerting.slack.webhookUrl',
  notifiers(alerting, options) {
    const slack = alerting.slack;
    if (!slack) return [];
    const destinations = slackDestinations(slack);
    const threads = options.threads ?? memoryThreads();
    return destinations.map((destination) => {
      const accepts = (notification: Notification) => notification.connection === null || routeFor(destinations, notification.connection.labels) === destination;
      return destination.delivery.kind === 'webhook'
        ? slackNotifier(destination, destination.delivery.webhookUrl, alerting.dashboardUrl, options, accepts)
        : slackWebNotifier(destination, destination.delivery.channel, { token: slack.token, apiUrl: slack.apiUrl ?? DEFAULT_SLACK_API_URL, dashboardUrl: alerting.dashboardUrl, threads }, options, accepts);
    });
  },
  secrets: (alerting) => (alerting.slack ? slackSecretRefs(alerting.slack).map(({ ref }) => ref) : []),
  unsendable: (notifier, alerting, env) => slackProblem(notifier, alerting.slack?.token, env),
};

function slackNotifier(destination: SlackDestination, webhookUrl: SecretRef, dashboardUrl: string | null, options: NotifierOptions, accepts: (n: Notification) => boolean): ChannelNotifier {
  return {
    target: destination.target,
    destination,
    accepts,
    render: (notification) => renderSlackMessage(notification, { dashboardUrl }),
    async deliver(payload) {
      // A row written for a Web API destination that is now a webhook (a reload): its message still goes out.
      const message = isSlackWebPayload(payload) ? payload.message : payload;
      if (!isSlackPayload(message)) return { kind: 'rejected', reason: 'the stored Slack payload is not a Slack message' };
      const secret = readSecret(webhookUrl, options.env);
      if (!secret.ok) return { kind: 'retry', afterMs: null, reason: `the Slack webhook URL is unavailable: ${secret.problem}` };
      return postToSlack(secret.value, message, { timeoutMs: options.timeoutMs ?? DEFAULT_NOTIFIER_TIMEOUT_MS });
    },
  };
}

/** The thread an incident's messages share: its connection, state and opening (the same facts as its dedupe keys). */
export function incidentThread(notification: Notification): string | null {
  if (!notification.connection || !notification.incident) return null;
  return `incident|${notification.connection.name}|${notification.incident.state}|${notification.incident.openedAt}`;
}

const WEB_ACTION: Partial<Record<Notification['kind'], SlackWebAction>> = { incident_opened: 'post', incident_reminder: 'reply', incident_resolved: 'resolve' };

/** The line a resolved thread's first message gets on top. */
export function resolvedNote(notification: Notification): string {
  const duration = incidentDurationMs(notification.incident);
  return `:white_check_mark: *Resolved*${duration === null ? '' : ` after ${formatDuration(duration)}`}.`;
}

interface WebSettings {
  token: SecretRef | undefined;
  apiUrl: string;
  dashboardUrl: string | null;
  threads: SlackThreads;
}

function slackWebNotifier(destination: SlackDestination, channel: string, settings: WebSettings, options: NotifierOptions, accepts: (n: Notification) => boolean): ChannelNotifier {
  const timeoutMs = options.timeoutMs ?? DEFAULT_NOTIFIER_TIMEOUT_MS;
  return {
    target: destination.target,
    destination,
    accepts,
    render(notification): SlackWebPayload {
      const action = WEB_ACTION[notification.kind] ?? 'post';
      const thread = WEB_ACTION[notification.kind] ? incidentThread(notification) : null;
      return { web: true, thread, action, message: renderSlackMessage(notification, { dashboardUrl: settings.dashboardUrl }), resolvedNote: action === 'resolve' ? resolvedNote(notification) : null };
    },
    async deliver(payload) {
      const web: SlackWebPayload | null = isSlackWebPayload(payload) ? payload : isSlackPayload(payload) ? { web: true, thread: null, action: 'post', message: payload, resolvedNote: null } : null;
      if (!web) return { kind: 'rejected', reason: 'the stored Slack payload is not a Slack message' };
      if (settings.token === undefined) return { kind: 'rejected', reason: 'no Slack app token configured (alerting.slack.token)' };
      const token = readSecret(settings.token, options.env);
      if (!token.ok) return { kind: 'retry', afterMs: null, reason: `the Slack app token is unavailable: ${token.problem}` };
      const call = (method: 'chat.postMessage' | 'chat.update', body: Record<string, unknown>) =>
        callSlackWebApi(method, body, { apiUrl: settings.apiUrl, token: token.value, timeoutMs, now: options.now });
      const parent = web.thread === null ? null : settings.threads.get(destination.target, web.thread);
      const { text, blocks } = web.message;
      if (web.action === 'post') {
        if (parent) return { kind: 'delivered' }; // posted before a crash or restart: never twice
        const posted = await call('chat.postMessage', { channel, text, blocks, unfurl_links: false });
        if (posted.kind !== 'ok') return posted;
        if (web.thread !== null) settings.threads.remember(destination.target, web.thread, { channel: posted.channel, ts: posted.ts, message: web.message }, (options.now ?? (() => new Date()))());
        return { kind: 'delivered' };
      }
      if (web.action === 'resolve' && parent) {
        const updated = await call('chat.update', { channel: parent.channel, ts: parent.ts, ...markResolved(parent.message, web.resolvedNote ?? ':white_check_mark: *Resolved*.') });
        if (updated.kind !== 'ok') return updated;
      }
      const reply = await call('chat.postMessage', { channel: parent?.channel ?? channel, text, blocks, unfurl_links: false, ...(parent ? { thread_ts: parent.ts } : {}) });
      return reply.kind === 'ok' ? { kind: 'delivered' } : reply;
    },
  };
}

function isSlackPayload(payload: unknown): payload is SlackPayload {
  return Boolean(payload) && typeof (payload as SlackPayload).text === 'string' && Array.isArray((payload as SlackPayload).blocks);
}

/** Why a Slack destination cannot be sent to at all (an unreadable secret, a bad webhook URL), or null. */
function slackProblem(notifier: ChannelNotifier, token: SecretRef | undefined, env: Environment): string | null {
  const delivery = notifier.destination?.delivery;
  if (!delivery) return null;
  if (delivery.kind === 'webhook') {
    const webhook = readSecret(delivery.webhookUrl, env);
    return webhook.ok ? webhookUrlProblem(webhook.value) : `the Slack webhook URL is unavailable: ${webhook.problem}`;
  }
  if (token === undefined) return 'no Slack app token configured (alerting.slack.token)';
  const secret = readSecret(token, env);
  return secret.ok ? null : `the Slack app token is unavailable: ${secret.problem}`;
}
