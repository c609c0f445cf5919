import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually, type LogLine } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertValidSlackPayloads, cloudTenant, outboxAfterMoreProbes, outboxCounts, slackText, tempDir, writeConfig } from '../support/notify-e2e.js';

// "Exactly once, across restarts and crashes": the notification is written to the outbox in the same transaction
// as the state change, so a SIGKILL before delivery loses nothing, and one after delivery sends nothing twice.
const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

const probesSeen = (daemon: DaemonProcess, outcome: string): LogLine[] => daemon.logs().filter((line) => line.msg === 'probe' && line.outcome === outcome);

test('SIGKILL before delivery: delivered once after the restart; SIGKILL after delivery: nothing sent again', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  // Slack down for the first two attempts (2 s apart); the third would come 4 s after the second.
  slack.script({ status: 500, body: 'internal_error' }, { status: 500, body: 'internal_error' });
  const dir = tempDir(t);
  const database = join(dir, 'authwatch.db');
  const { tenant, connection, env } = cloudTenant(fixture, 'salesforce-to-jira');
  const config = writeConfig({ dir, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV, reminderInterval: '1h' });
  const daemonEnv = { ...env, [WEBHOOK_ENV]: slack.webhookUrl };
  const start = () => {
    const daemon = new DaemonProcess(config, { env: daemonEnv, args: ['--sweep-interval', '1s'] });
    t.after(() => daemon.kill());
    return daemon;
  };

  const first = start();
  await first.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');
  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  await eventually(() => first.logs().filter((line) => line.msg === 'notification will be retried').length === 2, 15_000);
  await first.kill(); // well before the next attempt, 4 s later
  assert.equal(slack.requests.length, 2, 'killed before the third attempt');
  assert.deepEqual(outboxCounts(database).slack, { pending: 1, delivered: 0, failed: 0 }, 'the regression survived the crash in the outbox');

  const second = start();
  await second.waitForLog((line) => line.msg === 'notification delivered', 15_000, 'delivery after the restart');
  assert.deepEqual(
    slack.requests.map((request) => request.status),
    [500, 500, 200],
  );
  assert.deepEqual(slack.requests[2].body, slack.requests[0].body, 'the message written before the crash');
  assert.match(slackText(slack.requests[2].body), /salesforce-to-jira: auth regressed/);
  // The restarted daemon found the connection already regressed: no new state change, no new incident.
  await eventually(() => probesSeen(second, 'basic_auth_rejected').length >= 1, 10_000);
  assert.equal(second.logs().filter((line) => line.msg === 'state changed').length, 0);
  await second.kill();

  const third = start();
  await eventually(() => probesSeen(third, 'basic_auth_rejected').length >= 3, 15_000);
  // Once one more cycle is stored, whatever any of them planned is in the outbox: a second message would be a row there.
  const outbox = await outboxAfterMoreProbes(database, [connection.name], 1);
  assert.equal(slack.requests.length, 3, 'no second message after a crash that followed the delivery');
  assert.equal(third.logs().filter((line) => line.msg.startsWith('notification')).length, 0);
  assert.deepEqual(outbox.slack, { pending: 0, delivered: 1, failed: 0 });
  assertValidSlackPayloads(slack.requests);
});
