import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Dispatcher, type DeliveryAttempt } from '../../src/notify/dispatcher.js';
import { MemoryOutbox, type MemoryOutboxRow } from '../../src/notify/memory-outbox.js';
import { buildNotifiers, outboxEntriesFor } from '../../src/notify/registry.js';
import { postToSlack } from '../../src/notify/slack/client.js';
import { validateSlackPayload, type SlackPayload } from '../../src/notify/slack/render.js';
import type { AlertingConfig } from '../../src/config/load.js';
import { startSlackMock, SLACK_WEBHOOK_PATH, type SlackMock } from '../support/slack-mock.js';
import { regression } from '../support/slack-notifications.js';

const WEBHOOK_TOKEN = SLACK_WEBHOOK_PATH.split('/').pop()!;

function alerting(): AlertingConfig {
  return {
    slack: { webhookUrl: { env: 'AUTHWATCH_SLACK_WEBHOOK' } },
    alertmanager: null,
    reminderIntervalMs: 0,
    certExpiryWarningMs: 0,
    tokenExpiryWarningMs: 0,
    dashboardUrl: 'https://grafana.example.com/d/authwatch',
  };
}

/** A dispatcher on the real clock with short back-off, the Slack notifier built from config, and one rendered regression enqueued. */
function pipeline(webhookUrl: string | undefined) {
  const notifiers = buildNotifiers(alerting(), { env: webhookUrl ? { AUTHWATCH_SLACK_WEBHOOK: webhookUrl } : {}, timeoutMs: 2000 });
  const outbox = new MemoryOutbox();
  const attempts: DeliveryAttempt[] = [];
  const dispatcher = new Dispatcher({ outbox, notifiers: () => notifiers, retry: { initialDelayMs: 100 }, pollIntervalMs: 20, onAttempt: (attempt) => attempts.push(attempt) });
  const now = new Date();
  const [entry] = outboxEntriesFor(notifiers, regression(), { dedupeKey: 'sf|regressed|opened', channels: ['slack'] }, { now });
  const row = outbox.enqueue(entry, now)!;
  return { dispatcher, outbox, row, attempts, payload: entry.payload as SlackPayload };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function assertNoWebhook(text: string, webhookUrl: string): void {
  assert.ok(!text.includes(webhookUrl), `webhook URL leaked: ${text}`);
  assert.ok(!text.includes(WEBHOOK_TOKEN), `webhook token leaked: ${text}`);
  assert.ok(!text.includes(SLACK_WEBHOOK_PATH), `webhook path leaked: ${text}`);
}

async function withSlack(run: (slack: SlackMock) => Promise<void>): Promise<void> {
  const slack = await startSlackMock();
  try {
    await run(slack);
  } finally {
    await slack.close();
  }
}

test('500, then 429 Retry-After: 2, then 200: the message arrives exactly once, after the Retry-After delay', async () => {
  await withSlack(async (slack) => {
    slack.script({ status: 500, body: 'internal_error' }, { status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } });
    const { dispatcher, row, attempts, payload } = pipeline(slack.webhookUrl);
    dispatcher.start();
    try {
      await until(() => row.status !== 'pending');
      // A pass at an instant when any further retry would long be due: nothing is sent again.
      assert.deepEqual(await dispatcher.runOnce(new Date(Date.now() + 60_000)), { delivered: 0, retried: 0, failed: 0 });
    } finally {
      await dispatcher.stop();
    }
    assert.equal(row.status, 'delivered');
    assert.deepEqual(slack.requests.map((request) => request.status), [500, 429, 200], 'three attempts, one accepted');
    for (const request of slack.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.path, SLACK_WEBHOOK_PATH);
      assert.match(String(request.headers['content-type']), /^application\/json/);
      assert.deepEqual(request.body, payload);
      assert.deepEqual(validateSlackPayload(request.body), []);
    }
    const [, rateLimited, accepted] = slack.requests;
    assert.ok(accepted.receivedAt - rateLimited.receivedAt >= 2000, `Retry-After: 2 honoured (${accepted.receivedAt - rateLimited.receivedAt} ms)`);
    assert.deepEqual(attempts.map((attempt) => attempt.outcome), ['retried', 'retried', 'delivered']);
    assert.deepEqual(attempts.map((attempt) => attempt.reason), ['Slack answered HTTP 500 internal_error', 'Slack answered HTTP 429 rate_limited', null]);
    attempts.forEach((attempt) => assertNoWebhook(JSON.stringify(attempt), slack.webhookUrl));
  });
});

test('404 no_service is not retried: the row fails and the reason holds no webhook URL', async () => {
  await withSlack(async (slack) => {
    slack.script({ status: 404, body: 'no_service' });
    const { dispatcher, row } = pipeline(slack.webhookUrl);
    dispatcher.start();
    try {
      await until(() => row.status !== 'pending');
      // A pass at an instant when a retry (100 ms back-off) would long be due: the failed row is not sent again.
      assert.deepEqual(await dispatcher.runOnce(new Date(Date.now() + 60_000)), { delivered: 0, retried: 0, failed: 0 });
    } finally {
      await dispatcher.stop();
    }
    assert.equal(row.status, 'failed');
    assert.equal(slack.requests.length, 1);
    assert.equal(row.lastError, 'Slack answered HTTP 404 no_service');
    assertNoWebhook(JSON.stringify(row satisfies MemoryOutboxRow), slack.webhookUrl);
  });
});

test('403 invalid_token and 400 invalid_payload are rejected; a body echoing the URL is masked', async () => {
  await withSlack(async (slack) => {
    const payload = { text: 'x', blocks: [] };
    slack.script({ status: 403, body: 'invalid_token' }, { status: 400, body: `invalid_payload for ${slack.webhookUrl}` });
    assert.deepEqual(await postToSlack(slack.webhookUrl, payload, { timeoutMs: 2000 }), { kind: 'rejected', reason: 'Slack answered HTTP 403 invalid_token' });
    const second = await postToSlack(slack.webhookUrl, payload, { timeoutMs: 2000 });
    assert.equal(second.kind, 'rejected');
    assertNoWebhook(JSON.stringify(second), slack.webhookUrl);
  });
});

test('a redirect is not followed and not retried', async () => {
  await withSlack(async (slack) => {
    slack.script({ status: 302, headers: { location: `${slack.origin}/elsewhere` } });
    const result = await postToSlack(slack.webhookUrl, { text: 'x', blocks: [] }, { timeoutMs: 2000 });
    assert.equal(result.kind, 'rejected');
    assert.equal(slack.requests.length, 1);
  });
});

test('a refused connection and a timeout are retried, with reasons that hold no webhook URL', async () => {
  const closed = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const refusedUrl = `http://127.0.0.1:${closed}${SLACK_WEBHOOK_PATH}`;
  const refused = await postToSlack(refusedUrl, { text: 'x', blocks: [] }, { timeoutMs: 2000 });
  assert.equal(refused.kind, 'retry');
  assert.match(refused.kind === 'retry' ? refused.reason : '', /ECONNREFUSED/);
  assertNoWebhook(JSON.stringify(refused), refusedUrl);

  await withSlack(async (slack) => {
    slack.script({ status: 200, body: 'ok', delayMs: 1500 });
    const slow = await postToSlack(slack.webhookUrl, { text: 'x', blocks: [] }, { timeoutMs: 200 });
    assert.equal(slow.kind, 'retry');
    assert.match(slow.kind === 'retry' ? slow.reason : '', /did not answer in time/);
    assertNoWebhook(JSON.stringify(slow), slack.webhookUrl);
  });
});

test('an unset webhook secret is retried (the operator can fix it without a restart) and names only the variable', async () => {
  const { dispatcher, row, attempts } = pipeline(undefined);
  await dispatcher.runOnce();
  assert.equal(row.status, 'pending');
  assert.equal(attempts[0].reason, 'the Slack webhook URL is unavailable: environment variable AUTHWATCH_SLACK_WEBHOOK is not set');
});

test('a webhook URL over plain http to a remote host is refused without sending', async () => {
  const result = await postToSlack('http://hooks.example.com/services/T/B/secretsecret', { text: 'x', blocks: [] }, { timeoutMs: 200 });
  assert.equal(result.kind, 'retry');
  assert.ok(!JSON.stringify(result).includes('secretsecret'));
});
