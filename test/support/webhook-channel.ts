// A third notification channel, written as a channel's folder would write it (src/notify/<channel>/channel.ts):
// a generic JSON webhook, alerting.webhook.url, that POSTs each notification as it is. It is what a new channel
// costs: this registration, its entry in CHANNEL_REGISTRY and its section in src/config/schema.ts (which types
// `alerting.webhook` through ChannelSections). Here the registry entry is the test's own table
// ({ ...CHANNEL_REGISTRY, webhook: webhookChannel }) and the section is typed by hand: the real schema has none.
import type { AlertingConfig } from '../../src/config/load.js';
import { postJson } from '../../src/notify/http-delivery.js';
import { DEFAULT_NOTIFIER_TIMEOUT_MS, type ChannelRegistration } from '../../src/notify/notifier.js';

export type WebhookAlerting = AlertingConfig & { webhook?: { url: string } | null };

export const webhookChannel: ChannelRegistration = {
  title: 'webhook',
  setting: 'alerting.webhook.url',
  notifiers(alerting, options) {
    const webhook = (alerting as WebhookAlerting).webhook;
    if (!webhook) return [];
    return [
      {
        target: webhook.url,
        render: (notification) => ({ authwatch: notification }),
        deliver: (payload) => postJson(webhook.url, payload, { timeoutMs: options.timeoutMs ?? DEFAULT_NOTIFIER_TIMEOUT_MS, service: 'the webhook' }),
      },
    ];
  },
};
