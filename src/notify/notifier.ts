// What a notification channel is: a registration (its name is its key in CHANNEL_REGISTRY, src/notify/registry.ts)
// that builds its notifiers from the configuration, and the notifiers that render a notification into the JSON an
// outbox row stores and later deliver that row. Each channel's registration lives in its own folder
// (src/notify/<channel>/channel.ts); nothing here knows which channels exist.
import type { AlertingConfig } from '../config/load.js';
import type { SecretRef } from '../config/schema.js';
import type { Environment } from '../config/secrets.js';
import type { SlackDestination } from './slack/destinations.js';
import type { SlackThreads } from './slack/threads.js';
import type { DeliveryResult, Notification } from './types.js';

export interface RenderContext {
  /** When the row is written; Alertmanager's firing window starts here until re-stamped at send time. */
  now: Date;
}

/** A notifier as its channel builds it; the registry adds the channel's name (Notifier in registry.ts). */
export interface ChannelNotifier {
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

export const DEFAULT_NOTIFIER_TIMEOUT_MS = 10_000;

/** One notification channel: everything the rest of authwatch asks of it, so adding one touches no other list. */
export interface ChannelRegistration {
  /**
   * What `authwatch test-alert --channel <name>` says when it has no notifier: "no <title> configured in <file>:
   * add <setting>" (and with no channel at all, every channel's setting).
   */
  readonly title: string;
  readonly setting: string;
  /** Its notifiers for this configuration, none when its alerting section is absent. */
  notifiers(alerting: AlertingConfig, options: NotifierOptions): ChannelNotifier[];
  /** The secrets its section holds: read and masked in what authwatch test-alert prints. */
  secrets?(alerting: AlertingConfig): SecretRef[];
  /** Why one of its notifiers cannot send at all (an unreadable secret, a bad URL): test-alert says so instead of sending. */
  unsendable?(notifier: ChannelNotifier, alerting: AlertingConfig, env: Environment): string | null;
}
