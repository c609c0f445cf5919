// A foreign process holds the database's write lock across the moment between Slack's 200 and "marked
// delivered" (longer than the 5 s busy timeout): the delivery is kept in memory and recorded once the lock is
// released, and Slack gets exactly one message. Meanwhile /readyz and the metrics say storage is failing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertNoWebhook, cloudTenant, metricValue, outboxAfterMoreProbes, outboxCounts, scrape, slackText, tempDir, writeConfig } from '../support/notify-e2e.js';

const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';
/** Longer than the daemon's busy timeout (5 s). */
const LOCK_HOLD_MS = 7000;

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

test('a write lock held across Slack 200 → "delivered": exactly one message, recorded after the lock goes', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = tempDir(t);
  const database = join(dir, 'authwatch.db');
  const { tenant, connection, env } = cloudTenant(fixture, 'salesforce-to-jira');
  const config = writeConfig({ dir, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV, reminderInterval: '1h' });
  const daemon = new DaemonProcess(config, { env: { ...env, [WEBHOOK_ENV]: slack.webhookUrl } });
  t.after(() => daemon.kill());
  const url = await daemon.url();
  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');

  // The foreign writer: this test process, on its own connection to the daemon's database file.
  const foreign = new Database(database);
  t.after(() => foreign.close());
  foreign.pragma('busy_timeout = 10000');
  let released: Promise<void> | null = null;
  slack.beforeReply((reply) => {
    if (reply.status !== 200 || released) return;
    foreign.exec('BEGIN IMMEDIATE');
    released = sleep(LOCK_HOLD_MS).then(() => void foreign.exec('COMMIT'));
  });

  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  await slack.waitForRequests(1, 20_000);
  assert.ok(released, 'the lock was taken before Slack answered 200');

  // While the lock is held: storage is reported failing, and the metrics follow the probes, not the database.
  const degraded = await eventually(async () => {
    const response = await fetch(`${url}/readyz`);
    return response.status === 503 ? ((await response.json()) as { status: string; reason: string; storage: { kind: string } }) : null;
  }, LOCK_HOLD_MS);
  assert.equal(degraded.status, 'degraded');
  assert.equal(degraded.storage.kind, 'busy');
  assert.match(degraded.reason, /storage failing \(busy\)/);
  const during = await scrape(url);
  assert.equal(metricValue(during, 'authwatch_storage_up'), 0);
  assert.equal(metricValue(during, 'authwatch_auth_state', { connection: 'salesforce-to-jira', state: 'regressed' }), 1);

  await released;
  await eventually(() => outboxCounts(database).slack.delivered === 1, 30_000);
  await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
  // The delivery is recorded, so a second send of that row would already have reached Slack (it was pending until
  // then). Probe cycles later, still one message: whatever they planned is in the outbox once they are stored.
  const outbox = await outboxAfterMoreProbes(database, [connection.name], 2);
  assert.equal(slack.requests.length, 1, `Slack got ${slack.requests.length} messages`);
  assert.match(slackText(slack.requests[0].body), /salesforce-to-jira: auth regressed/);
  assert.deepEqual(outbox.slack, { pending: 0, delivered: 1, failed: 0 });

  const after = await scrape(url);
  assert.equal(metricValue(after, 'authwatch_storage_up'), 1);
  assert.ok((metricValue(after, 'authwatch_storage_errors_total', { kind: 'busy' }) ?? 0) >= 1, 'busy errors counted');
  assert.equal(metricValue(after, 'authwatch_storage_pending_writes', { what: 'notification' }), 0);
  assert.equal(metricValue(after, 'authwatch_storage_pending_writes', { what: 'probe' }), 0);
  const logs = daemon.logs();
  assert.equal(logs.filter((line) => line.msg.startsWith('storage failing')).length, 1, 'one log line when the episode starts');
  assert.equal(logs.filter((line) => line.msg === 'storage recovered').length, 1, 'one when it ends');
  assert.equal(logs.filter((line) => line.msg === 'outbox pass failed').length, 0);
  assert.equal(logs.filter((line) => line.msg === 'state changed' && line.to === 'regressed').length, 1, 'the regression, recorded once');
  assert.equal(logs.filter((line) => line.msg === 'notification delivered').length, 1);
  assertNoWebhook(daemon.stdout + daemon.stderr, slack.webhookUrl);
  await daemon.stop();
});
