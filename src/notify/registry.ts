// The one place that knows which notification channels exist: builds the configured notifiers from
// Config['alerting'] and turns a notification into outbox rows. A new channel = its folder + an entry here.
//
// Outbox rows: one per (channel, target). Alertmanager gets one row per configured URL (every instance of
// an Alertmanager cluster must receive every alert), each delivered and retried on its own, so one
// instance being down delays nothing for the others. Slack has one notifier per destination (the default
// and each label route, src/notify/slack/destinations.ts); a connection's rows go only to its destination.
// Slack targets name the destination, never its webhook URL: that is a credential, read at send time.
import type { AlertingConfig } from '../config/load.js';
import { readSecret, type Environment } from '../config/secrets.js';
import type { SecretRef } from '../config/schema.js';
import { postToAlertmanager } from './alertmanager/client.js';
import { ALERTMANAGER_TIMING, isFiring, renderAlertmanagerAlerts, withFiringWindow, type AlertmanagerAlert } from './alertmanager/render.js';
import { postToSlack } from './slack/client.js';
import { DEFAULT_SLACK_API_URL, routeFor, slackDestinations, type SlackDestination } from './slack/destinations.js';
import { renderSlackMessage, type SlackPayload } from './slack/render.js';
import { isSlackWebPayload, markResolved, memoryThreads, type SlackThreads, type SlackWebAction, type SlackWebPayload } from './slack/threads.js';
import { callSlackWebApi } from './slack/web-api.js';
import { formatDuration } from '../config/duration.js';
import { incidentDurationMs, type Channel, type DeliveryResult, type Notification } from './types.js';

/** The lane of the default Slack destination when it is an incoming webhook. */
export const SLACK_TARGET = 'webhook';

export interface RenderContext {
  /** When the row is written; Alertmanager's firing window starts here until re-stamped at send time. */
  now: Date;
}

export interface Notifier {
  readonly channel: Channel;
  /** Where it delivers: an Alertmanager base URL, or 'webhook' for Slack. (channel, target) is a FIFO lane. */
  readonly target: string;
  /** The JSON stored in the outbox row. */
  render(notification: Notification, context: RenderContext): unknown;
  /** Sends one stored payload. Never throws; the result's reason never contains a secret. */
  deliver(payload: unknown): Promise<DeliveryResult>;
  /** Whether this notifier takes this notification (a Slack destination: only its routed connections). Default: all. */
  accepts?(notification: Notification): boolean;
  /** Slack: the destination it delivers to. */
  readonly destination?: SlackDestination;
}

/** What the Alertmanager notifier stores: firing alerts get endsAt = send time + firingValidityMs when sent. */
export interface AlertmanagerOutboxPayload {
  alerts: AlertmanagerAlert[];
  firingValidityMs: number | null;
}

export interface NotifierOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Where { env: NAME } secrets are read from (tests pass their own). */
  env?: Environment;
  now?: () => Date;
  firingValidityMs?: number;
  /** Where the Slack Web API notifier remembers threads; default: memory. */
  threads?: SlackThreads;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function buildNotifiers(alerting: AlertingConfig, options: NotifierOptions = {}): Notifier[] {
  const notifiers: Notifier[] = [];
  if (alerting.slack) {
    const slack = alerting.slack;
    const destinations = slackDestinations(slack);
    const threads = options.threads ?? memoryThreads();
    for (const destination of destinations) {
      const accepts = (notification: Notification) => notification.connection === null || routeFor(destinations, notification.connection.labels) === destination;
      notifiers.push(
        destination.delivery.kind === 'webhook'
          ? slackNotifier(destination, destination.delivery.webhookUrl, alerting.dashboardUrl, options, accepts)
          : slackWebNotifier(destination, destination.delivery.channel, { token: slack.token, apiUrl: slack.apiUrl ?? DEFAULT_SLACK_API_URL, dashboardUrl: alerting.dashboardUrl, threads }, options, accepts),
      );
    }
  }
  for (const url of alerting.alertmanager?.urls ?? []) notifiers.push(alertmanagerNotifier(url, alerting.dashboardUrl, options));
  return notifiers;
}

export function findNotifier(notifiers: readonly Notifier[], channel: Channel, target: string): Notifier | undefined {
  return notifiers.find((notifier) => notifier.channel === channel && notifier.target === target);
}

function slackNotifier(destination: SlackDestination, webhookUrl: SecretRef, dashboardUrl: string | null, options: NotifierOptions, accepts: (n: Notification) => boolean): Notifier {
  return {
    channel: 'slack',
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
      return postToSlack(secret.value, message, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
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

function slackWebNotifier(destination: SlackDestination, channel: string, settings: WebSettings, options: NotifierOptions, accepts: (n: Notification) => boolean): Notifier {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    channel: 'slack',
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

function alertmanagerNotifier(url: string, dashboardUrl: string | null, options: NotifierOptions): Notifier {
  const now = options.now ?? (() => new Date());
  const firingValidityMs = options.firingValidityMs ?? ALERTMANAGER_TIMING.firingValidityMs;
  return {
    channel: 'alertmanager',
    target: url,
    render(notification, context): AlertmanagerOutboxPayload {
      return {
        alerts: renderAlertmanagerAlerts(notification, { dashboardUrl, now: context.now, firingValidityMs }),
        firingValidityMs: isFiring(notification) ? firingValidityMs : null,
      };
    },
    async deliver(payload) {
      if (!isAlertmanagerPayload(payload)) return { kind: 'rejected', reason: 'the stored Alertmanager payload is not a list of alerts' };
      const alerts = payload.firingValidityMs === null ? payload.alerts : withFiringWindow(payload.alerts, now(), payload.firingValidityMs);
      return postToAlertmanager(url, alerts, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    },
  };
}

function isSlackPayload(payload: unknown): payload is SlackPayload {
  return Boolean(payload) && typeof (payload as SlackPayload).text === 'string' && Array.isArray((payload as SlackPayload).blocks);
}

function isAlertmanagerPayload(payload: unknown): payload is AlertmanagerOutboxPayload {
  const candidate = payload as AlertmanagerOutboxPayload | null;
  return Boolean(candidate) && Array.isArray(candidate!.alerts) && (candidate!.firingValidityMs === null || typeof candidate!.firingValidityMs === 'number');
}

/** A row for the outbox; the store inserts it unless a row with the same dedupeKey exists. */
export interface NewOutboxEntry {
  channel: Channel;
  target: string;
  /** The planned notification's key + channel + target: unique per row. */
  dedupeKey: string;
  payload: unknown;
}

/** One row per configured notifier of the given channels. */
/** A notifier whose render threw: its row is not written; the caller logs and counts it as a failed notification. */
export interface RenderFailure {
  channel: Channel;
  target: string;
  error: unknown;
}

/**
 * The rows of one notification, one per accepting notifier. A renderer that throws costs only its own row
 * (returned as a failure): the other channels' rows, the probe and the state change are still written.
 */
export function renderOutboxEntries(
  notifiers: readonly Notifier[],
  notification: Notification,
  plan: { dedupeKey: string; channels: readonly Channel[] },
  context: RenderContext,
): { entries: NewOutboxEntry[]; failures: RenderFailure[] } {
  const entries: NewOutboxEntry[] = [];
  const failures: RenderFailure[] = [];
  for (const notifier of notifiers) {
    if (!plan.channels.includes(notifier.channel) || !(notifier.accepts?.(notification) ?? true)) continue;
    try {
      const payload = notifier.render(notification, context);
      entries.push({ channel: notifier.channel, target: notifier.target, dedupeKey: `${plan.dedupeKey}|${notifier.channel}|${notifier.target}`, payload });
    } catch (error) {
      failures.push({ channel: notifier.channel, target: notifier.target, error });
    }
  }
  return { entries, failures };
}

/** As renderOutboxEntries, for a caller that reports a renderer's throw as its own (authwatch test-alert). */
export function outboxEntriesFor(
  notifiers: readonly Notifier[],
  notification: Notification,
  plan: { dedupeKey: string; channels: readonly Channel[] },
  context: RenderContext,
): NewOutboxEntry[] {
  const { entries, failures } = renderOutboxEntries(notifiers, notification, plan, context);
  if (failures.length > 0) throw failures[0].error;
  return entries;
}
