import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertingConfig } from '../../src/config/load.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { MemoryOutbox } from '../../src/notify/memory-outbox.js';
import { buildNotifiers, outboxEntriesFor, type Notifier } from '../../src/notify/registry.js';
import { memoryThreads } from '../../src/notify/slack/threads.js';
import type { Notification } from '../../src/notify/types.js';
import { startSlackWebApiMock, type SlackWebApiMock } from '../support/slack-web-api-mock.js';
import { regression, resolved } from '../support/slack-notifications.js';

const TOKEN = 'xoxb-1234567890-authwatch-test-token';
const CHANNEL = 'C0CRMALERTS';

function alerting(mock: SlackWebApiMock, channel = CHANNEL): AlertingConfig {
  return {
    slack: { channel, token: { env: 'SLACK_BOT_TOKEN' }, apiUrl: mock.apiUrl },
    alertmanager: null,
    reminderIntervalMs: 0,
    certExpiryWarningMs: 0,
    tokenExpiryWarningMs: 0,
    dashboardUrl: null,
  };
}

async function withMock(run: (mock: SlackWebApiMock) => Promise<void>): Promise<void> {
  const mock = await startSlackWebApiMock({ token: TOKEN, channels: [CHANNEL] });
  try {
    await run(mock);
  } finally {
    await mock.close();
  }
}

function notifierFor(mock: SlackWebApiMock, token = TOKEN, channel = CHANNEL): Notifier {
  const [notifier] = buildNotifiers(alerting(mock, channel), { env: { SLACK_BOT_TOKEN: token }, timeoutMs: 2000, threads: memoryThreads() });
  return notifier;
}

function payloadOf(notifier: Notifier, notification: Notification): unknown {
  return outboxEntriesFor([notifier], notification, { dedupeKey: 'k', channels: ['slack'] }, { now: new Date() })[0].payload;
}

function reminder(): Notification {
  return { ...regression(), kind: 'incident_reminder', transition: null, at: '2025-03-04T11:15:00.000Z' };
}

test('Web API: the regression is posted, the reminder and the resolution are replies in its thread, and the original is updated to say resolved', () =>
  withMock(async (mock) => {
    const notifier = notifierFor(mock);
    assert.deepEqual(await notifier.deliver(payloadOf(notifier, regression())), { kind: 'delivered' });
    assert.deepEqual(await notifier.deliver(payloadOf(notifier, reminder())), { kind: 'delivered' });
    assert.deepEqual(await notifier.deliver(payloadOf(notifier, resolved())), { kind: 'delivered' });

    const [original, ...others] = mock.topLevel(CHANNEL);
    assert.equal(others.length, 0, 'one top-level message');
    assert.equal(mock.calls[0].authorization, `Bearer ${TOKEN}`);
    const replies = mock.replies(CHANNEL, original.ts);
    assert.equal(replies.length, 2);
    assert.match(replies[0].text, /still failing/);
    assert.match(replies[1].text, /auth works again/);
    assert.equal(original.edits.length, 1, 'updated once');
    assert.match(original.edits[0].text, /salesforce-to-jira: auth regressed/);
    assert.match(original.text, /^Resolved: salesforce-to-jira: auth regressed/);
    assert.match(JSON.stringify(original.blocks), /:white_check_mark: Resolved: salesforce-to-jira: auth regressed/);
    assert.match(JSON.stringify(original.blocks), /\*Resolved\* after 2h 5m/);
    assert.match(JSON.stringify(original.blocks), /basic_auth_rejected/, 'the diagnosis stays in the updated original');
    assert.deepEqual(mock.calls.map((call) => call.method), ['chat.postMessage', 'chat.postMessage', 'chat.update', 'chat.postMessage']);
  }));

test('Web API: a first message delivered again (after a crash before it was marked) is not posted twice', () =>
  withMock(async (mock) => {
    const notifier = notifierFor(mock);
    const payload = payloadOf(notifier, regression());
    await notifier.deliver(payload);
    assert.deepEqual(await notifier.deliver(payload), { kind: 'delivered' });
    assert.equal(mock.topLevel(CHANNEL).length, 1);
    assert.equal(mock.calls.length, 1);
  }));

test('Web API: permanent errors are rejected at once with a hint and without the token; ratelimited waits for Retry-After', () =>
  withMock(async (mock) => {
    const wrongToken = notifierFor(mock, 'xoxb-revoked-token-0000000000');
    const invalid = await wrongToken.deliver(payloadOf(wrongToken, regression()));
    assert.equal(invalid.kind, 'rejected');
    assert.match((invalid as { reason: string }).reason, /invalid_auth \(check alerting\.slack\.token\)/);
    assert.ok(!JSON.stringify(invalid).includes('xoxb-'), 'no token in the reason');

    const noChannel = notifierFor(mock, TOKEN, 'C0DOESNOTEXIST');
    const missing = await noChannel.deliver(payloadOf(noChannel, regression()));
    assert.equal(missing.kind, 'rejected');
    assert.match((missing as { reason: string }).reason, /channel_not_found/);

    // Through the dispatcher at fixed instants, with a second destination (a route) whose channel does not exist:
    // its rejection is one attempt; 429 is retried no earlier than Retry-After.
    const config = alerting(mock);
    config.slack!.routes = [{ name: 'billing', match: { team: 'billing' }, channel: 'C0DOESNOTEXIST' }];
    const notifiers = buildNotifiers(config, { env: { SLACK_BOT_TOKEN: TOKEN }, timeoutMs: 2000, threads: memoryThreads() });
    const [notifier, billing] = notifiers;
    assert.deepEqual(notifiers.map((n) => n.target), ['default', 'route:billing']);
    const outbox = new MemoryOutbox();
    const dispatcher = new Dispatcher({ outbox, notifiers: () => notifiers, retry: { initialDelayMs: 100 } });
    const t0 = new Date('2025-03-04T10:00:00.000Z');
    const billingRegression = regression();
    billingRegression.connection!.labels = { team: 'billing' };
    for (const notification of [regression(), billingRegression]) {
      const entries = outboxEntriesFor(notifiers, notification, { dedupeKey: notification.connection!.labels.team, channels: ['slack'] }, { now: t0 });
      assert.equal(entries.length, 1, 'one destination per connection');
      outbox.enqueue(entries[0], t0);
    }
    assert.deepEqual(outbox.list().map((row) => row.target), [notifier.target, billing.target]);
    mock.script('chat.postMessage', { ratelimitedSeconds: 7 });
    const before = mock.calls.length;
    const first = await dispatcher.runOnce(t0);
    assert.deepEqual(first, { delivered: 0, retried: 1, failed: 1 });
    const waiting = outbox.list().find((row) => row.target === notifier.target)!;
    assert.equal(waiting.nextAttemptAt.getTime(), t0.getTime() + 7000, 'Retry-After: 7 s, longer than the back-off');
    assert.deepEqual(await dispatcher.runOnce(new Date(t0.getTime() + 6999)), { delivered: 0, retried: 0, failed: 0 });
    assert.deepEqual(await dispatcher.runOnce(new Date(t0.getTime() + 7000)), { delivered: 1, retried: 0, failed: 0 });
    assert.equal(mock.calls.length - before, 3, 'ratelimited, channel_not_found (not retried), then delivered');
  }));
