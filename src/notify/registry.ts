// Which notification channels exist: CHANNEL_REGISTRY, one entry per channel, whose key is the channel's name (in
// the outbox, the metrics' `channel` label, the logs and `authwatch test-alert --channel`). Each entry is the
// channel's registration from its own folder (src/notify/<channel>/channel.ts: how it is built from the
// configuration, what test-alert says when it is missing); `Channel` and `CHANNELS` are derived from the table,
// and the CLI, plan.ts and the store read them. Here too: building the configured notifiers and turning a
// notification into outbox rows, one per (channel, target).
import type { AlertingConfig } from '../config/load.js';
import type { SecretRef } from '../config/schema.js';
import { alertmanagerChannel } from './alertmanager/channel.js';
import type { ChannelNotifier, ChannelRegistration, NotifierOptions, RenderContext } from './notifier.js';
import { slackChannel } from './slack/channel.js';
import type { Notification } from './types.js';

/** Every notification channel, in the order the CLI lists them. A new channel is one entry here (DEVELOPING.md). */
export const CHANNEL_REGISTRY = {
  slack: slackChannel,
  alertmanager: alertmanagerChannel,
} as const satisfies Readonly<Record<string, ChannelRegistration>>;

export type Channel = keyof typeof CHANNEL_REGISTRY;
export const CHANNELS: readonly Channel[] = Object.keys(CHANNEL_REGISTRY) as Channel[];

export interface Notifier extends ChannelNotifier {
  readonly channel: Channel;
}

/**
 * The notifiers of every configured channel, each named by its channel. `channels` is the table to build from:
 * tests pass CHANNEL_REGISTRY with a channel of their own to show that a channel needs nothing else.
 */
export function buildNotifiers(alerting: AlertingConfig, options: NotifierOptions = {}, channels: Readonly<Record<string, ChannelRegistration>> = CHANNEL_REGISTRY): Notifier[] {
  return Object.entries(channels).flatMap(([channel, registration]) =>
    registration.notifiers(alerting, options).map((notifier): Notifier => ({ ...notifier, channel: channel as Channel })),
  );
}

/** The secrets every channel's section holds, to read and mask. */
export function channelSecretRefs(alerting: AlertingConfig, channels: Readonly<Record<string, ChannelRegistration>> = CHANNEL_REGISTRY): SecretRef[] {
  return Object.values(channels).flatMap((registration) => registration.secrets?.(alerting) ?? []);
}

export function findNotifier(notifiers: readonly Notifier[], channel: Channel, target: string): Notifier | undefined {
  return notifiers.find((notifier) => notifier.channel === channel && notifier.target === target);
}

/** A row for the outbox; the store inserts it unless a row with the same dedupeKey exists. */
export interface NewOutboxEntry {
  channel: Channel;
  target: string;
  /** The planned notification's key + channel + target: unique per row. */
  dedupeKey: string;
  payload: unknown;
}

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
