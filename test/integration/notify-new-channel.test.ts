// A notification channel is its registration and nothing more: a JSON webhook channel from outside src/
// (test/support/webhook-channel.ts) added to the registry's table gets its notifier from the configuration, and
// authwatch test-alert's delivery (the same Dispatcher and retry rules as the daemon) delivers to it — a real HTTP
// server — next to a built-in channel, with no other list in src/ naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendTestNotification } from '../../src/cli/test-alert.js';
import { buildNotifiers, CHANNEL_REGISTRY } from '../../src/notify/registry.js';
import { startAlertmanagerMock } from '../support/alertmanager-mock.js';
import { startRecordingServer } from '../support/slack-mock.js';
import { webhookChannel, type WebhookAlerting } from '../support/webhook-channel.js';

const CHANNELS_WITH_WEBHOOK = { ...CHANNEL_REGISTRY, webhook: webhookChannel };

function alerting(webhookUrl: string | null, alertmanagerUrl: string): WebhookAlerting {
  return {
    slack: null,
    alertmanager: { urls: [alertmanagerUrl] },
    webhook: webhookUrl === null ? null : { url: `${webhookUrl}/hooks/authwatch` },
    reminderIntervalMs: 0,
    certExpiryWarningMs: 0,
    tokenExpiryWarningMs: 0,
    dashboardUrl: null,
  };
}

test('a channel added only to the registry table is built from its section and receives the test notification, retried like any other', async () => {
  const webhook = await startRecordingServer({ status: 204 });
  const alertmanager = await startAlertmanagerMock();
  try {
    webhook.script({ status: 503, body: 'warming up' });
    const notifiers = buildNotifiers(alerting(webhook.origin, alertmanager.url), { timeoutMs: 5000 }, CHANNELS_WITH_WEBHOOK);
    assert.deepEqual(notifiers.map((notifier) => [notifier.channel, notifier.target]), [
      ['alertmanager', alertmanager.url],
      ['webhook', `${webhook.origin}/hooks/authwatch`],
    ]);

    const results = await sendTestNotification(notifiers);
    assert.deepEqual(
      results.map((result) => [result.channel, result.delivered, result.attempts]),
      [['alertmanager', true, 1], ['webhook', true, 2]],
      'the webhook is delivered after the 503, under the same retry rules as Alertmanager',
    );
    assert.deepEqual(webhook.requests.map((request) => [request.method, request.path, request.status]), [
      ['POST', '/hooks/authwatch', 503],
      ['POST', '/hooks/authwatch', 204],
    ]);
    const delivered = webhook.requests[1];
    assert.match(String(delivered.headers['content-type']), /^application\/json/);
    const body = delivered.body as { authwatch: { kind: string; connection: unknown } };
    assert.equal(body.authwatch.kind, 'test');
    assert.equal(body.authwatch.connection, null);
    assert.equal(alertmanager.requests.length, 1, 'the built-in channel got its one test alert too');
  } finally {
    await webhook.close();
    await alertmanager.close();
  }
});

test('without its section the added channel builds no notifier', () => {
  assert.deepEqual(buildNotifiers(alerting(null, 'http://127.0.0.1:9'), {}, CHANNELS_WITH_WEBHOOK).map((notifier) => notifier.channel), ['alertmanager']);
});
