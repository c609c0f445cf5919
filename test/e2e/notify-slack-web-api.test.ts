import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackWebApiMock } from '../support/slack-web-api-mock.js';
import { assertValidSlackPayloads, cloudTenant, tempDir, writeConfig } from '../support/notify-e2e.js';
import type { RecordedRequest } from '../support/slack-mock.js';

// Slack with an app token: the regression is one message in the team's channel; reminders and the resolution are
// replies in its thread, and the message itself is updated to say it is resolved — also when the daemon was
// killed in between (the thread's ts is in the database, so nothing is posted twice).
const TOKEN = 'xoxb-2222222222-3333333333-authwatchE2eBotToken';
const CHANNEL = 'C0CRMALERTS';

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

test('Web API: regression posted, reminder in its thread; SIGKILL; after the restart the resolution is a reply and the original is updated, nothing posted twice', async (t) => {
  const slack = await startSlackWebApiMock({ token: TOKEN, channels: [CHANNEL] });
  t.after(() => slack.close());
  slack.script('chat.postMessage', { ratelimitedSeconds: 1 }); // the first post is rate limited once
  const dir = tempDir(t);
  const { tenant, connection, env, token } = cloudTenant(fixture, 'salesforce-to-jira');
  const config = writeConfig({
    dir,
    caFile: fixture.pki.caFile,
    connections: [connection],
    reminderInterval: '3s',
    slack: { channel: CHANNEL, token: { env: 'SLACK_BOT_TOKEN' }, apiUrl: slack.apiUrl, groupWindow: '1s' },
  });
  const start = () => {
    const daemon = new DaemonProcess(config, { env: { ...env, SLACK_BOT_TOKEN: TOKEN }, args: ['--sweep-interval', '1s'] });
    t.after(() => daemon.kill());
    return daemon;
  };

  const first = start();
  await first.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');
  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  await slack.waitFor(() => slack.topLevel(CHANNEL).length === 1, 20_000, 'the regression message');
  const [original] = slack.topLevel(CHANNEL);
  assert.match(original.text, /salesforce-to-jira: auth regressed/);
  assert.deepEqual(slack.calls.slice(0, 2).map((call) => `${call.method} ${call.status}`), ['chat.postMessage 429', 'chat.postMessage 200'], 'retried after the rate limit');
  await slack.waitFor(() => slack.replies(CHANNEL, original.ts).length >= 1, 20_000, 'a reminder in the thread');
  assert.match(slack.replies(CHANNEL, original.ts)[0].text, /salesforce-to-jira: auth still failing after/);
  await first.kill(); // between the post and the update

  const second = start();
  await second.waitForLog((line) => line.msg === 'authwatch started', 20_000, 'the restart');
  const repliesBefore = slack.replies(CHANNEL, original.ts).length;
  fixture.jira.setCredentials(tenant, { apiToken: token });
  await slack.waitFor(() => original.edits.length === 1, 20_000, 'the original updated');
  await slack.waitFor(() => slack.replies(CHANNEL, original.ts).some((reply) => /auth works again/.test(reply.text)), 20_000, 'the resolution in the thread');
  assert.match(original.text, /^Resolved: salesforce-to-jira: auth regressed/);
  assert.match(JSON.stringify(original.blocks), /:white_check_mark: Resolved: salesforce-to-jira: auth regressed/);
  assert.match(JSON.stringify(original.blocks), /basic_auth_rejected/, 'the diagnosis stays readable in the updated message');
  assert.ok(slack.replies(CHANNEL, original.ts).length > repliesBefore);
  assert.equal(slack.topLevel(CHANNEL).length, 1, 'one top-level message across the crash');
  assert.equal(slack.messages.filter((message) => message.threadTs === null).length, 1);
  const update = slack.calls.find((call) => call.method === 'chat.update')!;
  assert.equal(update.body.ts, original.ts);
  assert.equal(update.body.channel, CHANNEL);

  const bodies = slack.calls.filter((call) => call.status === 200).map((call) => ({ body: call.body }) as unknown as RecordedRequest);
  assertValidSlackPayloads(bodies);
  const output = first.stdout + first.stderr + second.stdout + second.stderr;
  assert.ok(!output.includes(TOKEN) && !output.includes('authwatchE2eBotToken'), 'the app token is never logged');
  assert.ok(!output.includes(token), 'the API token is never logged');
});
