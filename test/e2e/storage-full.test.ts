// The database's file system fills up (a small tmpfs filled with a file): probes continue, /readyz and the
// metrics say storage is full while the metrics and the API keep following the probes, no notification leaves
// before its state change is stored, and the regression that happened meanwhile is notified once after space returns.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { fillUp, mountSkipReason, mountTmpfs } from '../support/mounts.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertValidSlackPayloads, cloudTenant, metricValue, outboxAfterMoreProbes, outboxCounts, scrape, slackText, writeConfig } from '../support/notify-e2e.js';

const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';
const skip = mountSkipReason();
if (skip) console.log(`# storage-full: skipped: ${skip}`);

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

const readyz = async (url: string) => {
  const response = await fetch(`${url}/readyz`);
  const text = await response.text();
  return { status: response.status, body: response.status === 503 && text.startsWith('{') ? (JSON.parse(text) as { storage: { kind: string } }) : text };
};

test('a full disk: probes go on, /readyz and the metrics say so, the regression meanwhile is notified once space returns', { skip: skip ?? false }, async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-storage-full-'));
  const data = join(dir, 'data');
  const unmount = mountTmpfs(data, 4 * 1024 * 1024);
  const database = join(data, 'authwatch.db');
  const { tenant, connection, env } = cloudTenant(fixture, 'salesforce-to-jira');
  const config = writeConfig({ dir, databasePath: database, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV, reminderInterval: '1h' });
  const daemon = new DaemonProcess(config, { env: { ...env, [WEBHOOK_ENV]: slack.webhookUrl } });
  // The daemon lets go of the file system before it is unmounted, and the directory goes after that.
  t.after(async () => {
    await daemon.kill();
    unmount();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await daemon.url();
  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');

  const filler = join(data, 'filler');
  fillUp(filler);
  await eventually(async () => metricValue(await scrape(url), 'authwatch_storage_up') === 0, 30_000);
  const full = await readyz(url);
  assert.equal(full.status, 503);
  assert.equal((full.body as { storage: { kind: string } }).storage.kind, 'full');

  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  const rejected = () => daemon.logs().filter((line) => line.msg === 'probe' && line.outcome === 'basic_auth_rejected').length;
  await eventually(() => rejected() >= 3, 30_000);
  // The metrics and the API follow the probes, though nothing of it is stored yet.
  const metrics = await scrape(url);
  assert.equal(metricValue(metrics, 'authwatch_auth_state', { connection: 'salesforce-to-jira', state: 'regressed' }), 1);
  assert.equal(metricValue(metrics, 'authwatch_probe_success', { connection: 'salesforce-to-jira' }), 0);
  assert.ok((metricValue(metrics, 'authwatch_storage_pending_writes', { what: 'probe' }) ?? 0) >= 3);
  assert.ok((metricValue(metrics, 'authwatch_storage_errors_total', { kind: 'full' }) ?? 0) >= 1);
  const [view] = (await (await fetch(`${url}/api/v1/connections`)).json()) as { state: string; lastOutcome: { outcome: string } }[];
  assert.equal(view.state, 'regressed');
  assert.equal(view.lastOutcome.outcome, 'basic_auth_rejected');
  const probes = (await (await fetch(`${url}/api/v1/connections/salesforce-to-jira/probes?limit=2`)).json()) as { outcome: string }[];
  assert.deepEqual(probes.map((probe) => probe.outcome), ['basic_auth_rejected', 'basic_auth_rejected']);
  // Durability first: no message about a state change that is not stored.
  assert.equal(slack.requests.length, 0);
  assert.deepEqual(outboxCounts(database).slack, { pending: 0, delivered: 0, failed: 0 });
  assert.equal(daemon.logs().filter((line) => line.msg.startsWith('storage failing')).length, 1, 'one log line for the episode, not one per probe');

  rmSync(filler);
  await slack.waitForRequests(1, 60_000);
  await eventually(async () => (await readyz(url)).status === 200, 30_000);
  // The queued probes are committed (none waits in memory), then two more cycles: whatever any of them planned is in
  // the outbox by then, a second message as a row of its own.
  await eventually(async () => metricValue(await scrape(url), 'authwatch_storage_pending_writes', { what: 'probe' }) === 0, 30_000);
  const outbox = await outboxAfterMoreProbes(database, [connection.name], 2);
  assert.equal(slack.requests.length, 1, `Slack got ${slack.requests.length} messages`);
  assert.match(slackText(slack.requests[0].body), /salesforce-to-jira: auth regressed/);
  assertValidSlackPayloads(slack.requests);
  assert.deepEqual(outbox.slack, { pending: 0, delivered: 1, failed: 0 });
  const recovered = await scrape(url);
  assert.equal(metricValue(recovered, 'authwatch_storage_up'), 1);
  assert.equal(metricValue(recovered, 'authwatch_storage_pending_writes', { what: 'probe' }), 0);
  const logs = daemon.logs();
  assert.equal(logs.filter((line) => line.msg === 'storage recovered').length, 1);
  assert.equal(logs.filter((line) => line.msg === 'state changed' && line.to === 'regressed').length, 1);
  // Every probe made while the disk was full was stored once space returned.
  await daemon.stop();
  const { openStore } = await import('../../src/store/store.js');
  const store = openStore(database, { readonly: true });
  try {
    const stored = store.recentProbes('salesforce-to-jira', 1000).filter((probe) => probe.outcome === 'basic_auth_rejected').length;
    assert.ok(stored >= rejected(), `stored ${stored} rejected probes, logged ${rejected()}`);
  } finally {
    store.close();
  }
});
