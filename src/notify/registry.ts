// The one place that knows which notification channels exist: builds the configured notifiers from
// Config['alerting'] and turns a notification into outbox rows. A new channel = its folder + an entry here.
//
// Outbox rows: one per (channel, target). Alertmanager gets one row per configured URL (every instance of
// an Alertmanager cluster must receive every alert), each delivered and retried on its own, so one
// instance being down delays nothing for the others. Slack's target is the constant 'webhook': the
// webhook URL is a credential, read at send time and never stored.
import type { AlertingConfig } from '../config/load.js';
import { readSecret, type Environment } from '../config/secrets.js';
import { postToAlertmanager } from './alertmanager/client.js';
import { ALERTMANAGER_TIMING, isFiring, renderAlertmanagerAlerts, withFiringWindow, type AlertmanagerAlert } from './alertmanager/render.js';
import { postToSlack } from './slack/client.js';
import { renderSlackMessage, type SlackPayload } from './slack/render.js';
import type { Channel, DeliveryResult, Notification } from './types.js';

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
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function buildNotifiers(alerting: AlertingConfig, options: NotifierOptions = {}): Notifier[] {
  const notifiers: Notifier[] = [];
  if (alerting.slack) notifiers.push(slackNotifier(alerting.slack.webhookUrl, alerting.dashboardUrl, options));
  for (const url of alerting.alertmanager?.urls ?? []) notifiers.push(alertmanagerNotifier(url, alerting.dashboardUrl, options));
  return notifiers;
}

export function findNotifier(notifiers: readonly Notifier[], channel: Channel, target: string): Notifier | undefined {
  return notifiers.find((notifier) => notifier.channel === channel && notifier.target === target);
}

function slackNotifier(webhookUrl: NonNullable<AlertingConfig['slack']>['webhookUrl'], dashboardUrl: string | null, options: NotifierOptions): Notifier {
  return {
    channel: 'slack',
    target: SLACK_TARGET,
    render: (notification) => renderSlackMessage(notification, { dashboardUrl }),
    async deliver(payload) {
      if (!isSlackPayload(payload)) return { kind: 'rejected', reason: 'the stored Slack payload is not a Slack message' };
      const secret = readSecret(webhookUrl, options.env);
      if (!secret.ok) return { kind: 'retry', afterMs: null, reason: `the Slack webhook URL is unavailable: ${secret.problem}` };
      return postToSlack(secret.value, payload, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
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
export function outboxEntriesFor(
  notifiers: readonly Notifier[],
  notification: Notification,
  plan: { dedupeKey: string; channels: readonly Channel[] },
  context: RenderContext,
): NewOutboxEntry[] {
  return notifiers
    .filter((notifier) => plan.channels.includes(notifier.channel))
    .map((notifier) => ({
      channel: notifier.channel,
      target: notifier.target,
      dedupeKey: `${plan.dedupeKey}|${notifier.channel}|${notifier.target}`,
      payload: notifier.render(notification, context),
    }));
}
