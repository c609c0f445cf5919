import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../../src/config/duration.js';
import { generateApiToken } from '../support/jira-mock.js';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';
import { escapeMrkdwn } from '../../src/notify/slack/blocks.js';
import { DaemonProcess, eventually, type LogLine } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertNoWebhook, assertValidSlackPayloads, cloudTenant, outboxAfterMoreProbes, outboxCounts, slackText, tempDir, writeConfig } from '../support/notify-e2e.js';

// The headline promise, end to end: the built daemon probes a (simulated, HTTPS) Jira Cloud every second, and the
// owner of the integration gets exactly one Slack message when auth that used to work starts failing — saying why,
// what to do and whether the credential changed — and exactly one when it works again.
const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

const probes = (daemon: DaemonProcess, outcome: string): LogLine[] => daemon.logs().filter((line) => line.msg === 'probe' && line.outcome === outcome);

test('200 → 401 → 200: one regression message (outcome, remediation, credential unchanged), one resolved message with its duration, then silence', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = tempDir(t);
  const { tenant, connection, env, token } = cloudTenant(fixture, 'salesforce-to-jira');
  // A reminder interval makes every sweep evaluate the open incident; none may re-send what was sent.
  const config = writeConfig({ dir, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV, reminderInterval: '1h' });
  const daemon = new DaemonProcess(config, { env: { ...env, [WEBHOOK_ENV]: slack.webhookUrl }, args: ['--sweep-interval', '1s'] });
  t.after(() => daemon.stop());

  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');
  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() }); // the integration's token was revoked in Atlassian
  const [opened] = await slack.waitForRequests(1, 15_000);
  const regression = slackText(opened.body);
  assert.match(regression, /salesforce-to-jira: auth regressed/);
  assert.match(regression, /`basic_auth_rejected`/);
  assert.match(regression, /\*What to do\*/);
  for (const step of describeOutcome('basic_auth_rejected', 'cloud').remediation) assert.ok(regression.includes(escapeMrkdwn(step)), `remediation step missing: ${step}`);
  assert.match(regression, /credential unchanged/);
  assert.match(regression, /HTTP 401/);
  assert.match(regression, /Basic authentication with passwords is deprecated/);
  const stateChange = await daemon.waitForLog((line) => line.msg === 'state changed' && line.to === 'regressed');
  assert.equal(stateChange.from, 'ok');
  assert.equal(stateChange.outcome, 'basic_auth_rejected');

  fixture.jira.setCredentials(tenant, { apiToken: token }); // a new token in Atlassian matching the configured one: works again
  const [, resolvedRequest] = await slack.waitForRequests(2, 15_000);
  const resolved = slackText(resolvedRequest.body);
  assert.match(resolved, /salesforce-to-jira: auth works again/);
  const lasted = /\*Resolved after ([0-9a-z ]+)\.\*/.exec(resolved);
  assert.ok(lasted, `no duration in: ${resolved}`);
  const lastedMs = parseDuration(lasted[1].replace(/ /g, ''));
  // From the first 401 probe to the first ok probe: at least one schedule period, at most the time between the two messages plus one.
  assert.ok(lastedMs >= 500 && lastedMs <= resolvedRequest.receivedAt - opened.receivedAt + 1500, `implausible incident duration ${lasted[1]}`);

  // More probe cycles (and sweeps, every second) must not send anything again.
  const okBefore = probes(daemon, 'ok').length;
  await eventually(() => probes(daemon, 'ok').length >= okBefore + 4, 15_000);
  // Once one more cycle is stored, whatever any of them planned is in the outbox: a third message would be a row there.
  const outbox = await outboxAfterMoreProbes(join(dir, 'authwatch.db'), [connection.name], 1);
  assert.equal(slack.requests.length, 2, 'exactly one message per incident change');
  assert.deepEqual(outbox.slack, { pending: 0, delivered: 2, failed: 0 });
  const changes = daemon.logs().filter((line) => line.msg === 'state changed').map((line) => `${String(line.from)}→${String(line.to)}`);
  assert.deepEqual(changes, ['unknown→ok', 'ok→regressed', 'regressed→ok']);
  assertValidSlackPayloads(slack.requests);
  assertNoWebhook(daemon.stdout + daemon.stderr, slack.webhookUrl);
  assert.ok(!daemon.stdout.includes(token), 'the API token is not logged');
});

test('the secret file was rewritten with another token that Jira rejects: the regression message says the credential changed', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = tempDir(t);
  const { connection, token } = cloudTenant(fixture, 'scriptrunner-to-jira');
  const secretFile = join(dir, 'scriptrunner.token');
  writeFileSync(secretFile, `${token}\n`);
  const config = writeConfig({ dir, caFile: fixture.pki.caFile, connections: [{ ...connection, secret: { file: secretFile } }], slackEnv: WEBHOOK_ENV });
  const daemon = new DaemonProcess(config, { env: { [WEBHOOK_ENV]: slack.webhookUrl }, args: ['--sweep-interval', '1s'] });
  t.after(() => daemon.stop());

  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');
  const otherToken = generateApiToken(); // someone pasted a token of another account into the credential file
  writeFileSync(secretFile, `${otherToken}\n`);
  const [opened] = await slack.waitForRequests(1, 15_000);
  const regression = slackText(opened.body);
  assert.match(regression, /scriptrunner-to-jira: auth regressed/);
  assert.match(regression, /`basic_auth_rejected`/);
  assert.match(regression, /credential changed since the last success/);
  assert.doesNotMatch(regression, /credential unchanged/);

  const failedBefore = probes(daemon, 'basic_auth_rejected').length;
  await eventually(() => probes(daemon, 'basic_auth_rejected').length >= failedBefore + 3, 15_000);
  assert.equal(slack.requests.length, 1, 'one message for the open incident');
  assertValidSlackPayloads(slack.requests);
  const everything = daemon.stdout + daemon.stderr + JSON.stringify(slack.requests.map((request) => request.body));
  for (const secret of [token, otherToken]) assert.ok(!everything.includes(secret), 'no token in logs or messages');
  assertNoWebhook(daemon.stdout + daemon.stderr, slack.webhookUrl);
});
