import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertNoWebhook, assertValidSlackPayloads, cloudTenant, metricValue, outboxCounts, scrape, slackText, tempDir, writeConfig } from '../support/notify-e2e.js';

// Delivery as the built daemon does it against a misbehaving Slack: 5xx and 429 are retried (Retry-After honoured)
// until Slack accepts the message once; a 404 is not retried; the outbox gauge shows the backlog while Slack is down.
const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';
// Longer than the daemon's back-off before the third attempt (2 s, then 4 s), so only honouring it explains the wait.
const RETRY_AFTER_SECONDS = 6;

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

test('Slack answering 500, then 429 with Retry-After, then 200: delivered once, after the Retry-After; then 404 no_service: failed at once, never retried', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  slack.script({ status: 500, body: 'internal_error' }, { status: 429, body: 'rate_limited', headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } });
  const dir = tempDir(t);
  const { tenant, connection, env, token } = cloudTenant(fixture, 'jsm-sync');
  const config = writeConfig({ dir, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV });
  const daemon = new DaemonProcess(config, { env: { ...env, [WEBHOOK_ENV]: slack.webhookUrl } });
  t.after(() => daemon.stop());
  const url = await daemon.url();
  const metric = async (name: string, labels: Record<string, string>) => metricValue(await scrape(url), name, labels);

  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');
  assert.equal(await metric('authwatch_outbox_pending', { channel: 'slack' }), 0);
  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });

  await slack.waitForRequests(1, 15_000);
  // Slack is down: the regression waits in the outbox, and the gauge says so.
  await eventually(async () => (await metric('authwatch_outbox_pending', { channel: 'slack' })) === 1, 5000);
  assert.ok(slack.requests.length < 3, 'still undelivered while the gauge was read');

  const [first, second, third] = await slack.waitForRequests(3, 20_000);
  assert.deepEqual([first.status, second.status, third.status], [500, 429, 200]);
  assert.ok(third.receivedAt - second.receivedAt >= RETRY_AFTER_SECONDS * 1000, `retried ${third.receivedAt - second.receivedAt} ms after the 429`);
  assert.deepEqual(second.body, first.body, 'the same stored message is retried');
  assert.deepEqual(third.body, first.body);
  assert.match(slackText(third.body), /jsm-sync: auth regressed/);
  await eventually(async () => (await metric('authwatch_outbox_pending', { channel: 'slack' })) === 0, 5000);
  assert.equal(await metric('authwatch_notifications_total', { channel: 'slack', result: 'retried' }), 2);
  assert.equal(await metric('authwatch_notifications_total', { channel: 'slack', result: 'delivered' }), 1);
  const retries = daemon.logs().filter((line) => line.msg === 'notification will be retried');
  assert.deepEqual(
    retries.map((line) => line.reason),
    ['Slack answered HTTP 500 internal_error', 'Slack answered HTTP 429 rate_limited'],
  );

  // The webhook was removed from the Slack app: the resolved message is refused with 404 no_service.
  slack.script({ status: 404, body: 'no_service' });
  fixture.jira.setCredentials(tenant, { apiToken: token });
  const failed = await daemon.waitForLog((line) => line.msg === 'notification failed', 15_000, 'notification failed');
  assert.equal(failed.channel, 'slack');
  assert.equal(failed.reason, 'Slack answered HTTP 404 no_service');
  // The verdict is recorded: the row is failed, and a failed row is never due again, so no retry can follow (one
  // would have been due 2 s later). The pass that failed it has ended once the gauge shows nothing pending.
  await eventually(() => outboxCounts(join(dir, 'authwatch.db')).slack.failed === 1, 10_000);
  await eventually(async () => (await metric('authwatch_outbox_pending', { channel: 'slack' })) === 0, 5000);
  assert.equal(slack.requests.length, 4, 'the 404 was not retried');
  assert.equal(slack.requests[3].status, 404);
  assert.match(slackText(slack.requests[3].body), /jsm-sync: auth works again/);
  assert.equal(await metric('authwatch_notifications_total', { channel: 'slack', result: 'failed' }), 1);
  assert.equal(await metric('authwatch_outbox_pending', { channel: 'slack' }), 0);
  assert.deepEqual(outboxCounts(join(dir, 'authwatch.db')).slack, { pending: 0, delivered: 1, failed: 1 });

  assertValidSlackPayloads(slack.requests);
  const failureLines = daemon.stdout.split('\n').filter((line) => line.includes('no_service'));
  assert.ok(failureLines.length > 0);
  for (const line of failureLines) assertNoWebhook(line, slack.webhookUrl);
  assertNoWebhook(daemon.stdout + daemon.stderr, slack.webhookUrl);
});
