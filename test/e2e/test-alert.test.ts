import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { startSlackMock, startRecordingServer } from '../support/slack-mock.js';
import { startAlertmanager } from '../support/alertmanager-real.js';
import { startSlackWebApiMock } from '../support/slack-web-api-mock.js';
import { assertNoWebhook, assertValidSlackPayloads, slackText, tempDir, writeConfig } from '../support/notify-e2e.js';

// `authwatch test-alert` as a user runs it after setting up alerting: it reaches each configured channel or says why not.
const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';
const NO_JIRA = { name: 'unused', url: 'https://127.0.0.1:9/jira', username: 'integration@example.com', secret: { env: 'AUTHWATCH_E2E_UNUSED' } };

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

async function alertmanagerAlerts(url: string): Promise<AmAlert[]> {
  const response = await fetch(`${url}/api/v2/alerts`);
  assert.equal(response.status, 200);
  return (await response.json()) as AmAlert[];
}

test('Slack: one clearly marked test message, "delivered", exit 0, the webhook URL never printed', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const config = writeConfig({ dir: tempDir(t), connections: [NO_JIRA], slackEnv: WEBHOOK_ENV });

  const run = await runCli(['--config', config, 'test-alert'], { env: { [WEBHOOK_ENV]: slack.webhookUrl } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^CHANNEL\s+TARGET\s+RESULT$/m);
  assert.match(run.stdout, /^slack\s+webhook\s+delivered$/m);
  assert.equal(slack.requests.length, 1);
  const [request] = slack.requests;
  assert.equal(request.path, '/services/T0AUTHWATCH/B0NOTIFIER/xoxbSecretWebhookToken12345', 'posted to the configured webhook');
  const text = slackText(request.body);
  assert.match(text, /test notification/);
  assert.match(text, /authwatch test-alert/);
  assertValidSlackPayloads(slack.requests);
  assertNoWebhook(run.stdout + run.stderr, slack.webhookUrl);
});

test('Slack answering 404 no_service: not retried, "failed" with Slack\'s reason, exit 1', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  slack.script({ status: 404, body: 'no_service' });
  const config = writeConfig({ dir: tempDir(t), connections: [NO_JIRA], slackEnv: WEBHOOK_ENV });

  const run = await runCli(['--config', config, 'test-alert'], { env: { [WEBHOOK_ENV]: slack.webhookUrl } });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^slack\s+webhook\s+failed: Slack answered HTTP 404 no_service$/m);
  assert.equal(slack.requests.length, 1, 'a 404 is not retried');
  assertNoWebhook(run.stdout + run.stderr, slack.webhookUrl);
});

test('Slack answering 500 once: retried after a back-off, then delivered, exit 0', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  slack.script({ status: 500, body: 'internal_error' });
  const config = writeConfig({ dir: tempDir(t), connections: [NO_JIRA], slackEnv: WEBHOOK_ENV });

  const run = await runCli(['--config', config, 'test-alert', '--channel', 'slack'], { env: { [WEBHOOK_ENV]: slack.webhookUrl } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^slack\s+webhook\s+delivered$/m);
  assert.deepEqual(slack.requests.map((request) => request.status), [500, 200]);
  assert.match(run.stderr, /slack webhook: Slack answered HTTP 500 internal_error; trying again in \d/);
  assertNoWebhook(run.stdout + run.stderr, slack.webhookUrl);
});

test('the webhook variable unset: "not sent" with the variable named, nothing posted, exit 1', async (t) => {
  const config = writeConfig({ dir: tempDir(t), connections: [NO_JIRA], slackEnv: WEBHOOK_ENV });
  const run = await runCli(['--config', config, 'test-alert'], { env: { [WEBHOOK_ENV]: undefined } });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`^slack\\s+webhook\\s+not sent: the Slack webhook URL is unavailable: environment variable ${WEBHOOK_ENV} is not set$`, 'm'));
});

test('configuration problems exit 2 with one clear line: no channel, a channel not configured, an unknown channel, an invalid config', async (t) => {
  const dir = tempDir(t);
  const none = writeConfig({ dir, connections: [NO_JIRA], configName: 'none.yaml' });
  const noChannel = await runCli(['--config', none, 'test-alert']);
  assert.equal(noChannel.code, 2);
  assert.match(noChannel.stderr, /no notification channel configured in .*none\.yaml: add alerting\.slack\.webhookUrl or alerting\.alertmanager\.urls/);

  const slackOnly = writeConfig({ dir, connections: [NO_JIRA], slackEnv: WEBHOOK_ENV, configName: 'slack.yaml' });
  const notConfigured = await runCli(['--config', slackOnly, 'test-alert', '--channel', 'alertmanager'], { env: { [WEBHOOK_ENV]: 'http://127.0.0.1:9/x' } });
  assert.equal(notConfigured.code, 2);
  assert.match(notConfigured.stderr, /no Alertmanager configured in .*slack\.yaml: add alerting\.alertmanager\.urls/);

  const unknown = await runCli(['--config', slackOnly, 'test-alert', '--channel', 'teams']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /argument 'teams' is invalid\. Allowed choices are slack, alertmanager/);

  const invalid = join(dir, 'invalid.yaml');
  writeFileSync(invalid, 'alerting:\n  slack:\n    webhookUrl: { env: X }\n  pagerduty: {}\n');
  const broken = await runCli(['--config', invalid, 'test-alert']);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /invalid config/);
  assert.match(broken.stderr, /pagerduty/);
});

test(
  'the real Alertmanager and Slack together: each target reported on its own; a second Alertmanager answering 404 makes it exit 1',
  async (t) => {
    const [slack, am, broken] = await Promise.all([startSlackMock(), startAlertmanager(), startRecordingServer({ status: 404, body: 'page not found' })]);
    t.after(() => Promise.all([slack.close(), am.stop(), broken.close()]));
    const dir = tempDir(t);
    const env = { [WEBHOOK_ENV]: slack.webhookUrl };

    const both = writeConfig({ dir, connections: [NO_JIRA], slackEnv: WEBHOOK_ENV, alertmanagerUrls: [am.url], configName: 'both.yaml' });
    const run = await runCli(['--config', both, 'test-alert'], { env });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^slack\s+webhook\s+delivered$/m);
    assert.match(run.stdout, new RegExp(`^alertmanager\\s+${am.url.replace(/[.]/g, '\\.')}\\s+delivered$`, 'm'));
    const alerts = await alertmanagerAlerts(am.url);
    assert.equal(alerts.length, 1, am.output());
    assert.deepEqual(alerts[0].labels, { alertname: 'AuthwatchTest', source: 'authwatch', severity: 'info' });
    assert.equal(alerts[0].status.state, 'active');
    assert.match(alerts[0].annotations.summary, /authwatch test notification/);
    assert.equal(slack.requests.length, 1);

    const onlyAlertmanager = await runCli(['--config', both, 'test-alert', '--channel', 'alertmanager'], { env });
    assert.equal(onlyAlertmanager.code, 0, onlyAlertmanager.stdout + onlyAlertmanager.stderr);
    assert.doesNotMatch(onlyAlertmanager.stdout, /^slack/m);
    assert.equal(slack.requests.length, 1, '--channel alertmanager sends nothing to Slack');

    const withBroken = writeConfig({ dir, connections: [NO_JIRA], alertmanagerUrls: [am.url, broken.origin], configName: 'broken.yaml' });
    const partly = await runCli(['--config', withBroken, 'test-alert'], { env });
    assert.equal(partly.code, 1, partly.stdout + partly.stderr);
    assert.match(partly.stdout, new RegExp(`^alertmanager\\s+${am.url.replace(/[.]/g, '\\.')}\\s+delivered$`, 'm'));
    assert.match(partly.stdout, new RegExp(`^alertmanager\\s+${broken.origin.replace(/[.]/g, '\\.')}\\s+failed: Alertmanager answered HTTP 404 page not found$`, 'm'));
    assert.equal(broken.requests.length, 1);
    assert.equal(broken.requests[0].path, '/api/v2/alerts');
  },
);

test('Slack routes: one test message per destination (a webhook and a Web API channel), a wrong channel said plainly, the token never printed', async (t) => {
  const token = 'xoxb-4444444444-testAlertBotToken';
  const webhook = await startSlackMock();
  const api = await startSlackWebApiMock({ token, channels: ['C0CRM'] });
  t.after(() => Promise.all([webhook.close(), api.close()]));
  const config = writeConfig({
    dir: tempDir(t),
    connections: [NO_JIRA],
    slack: {
      webhookUrl: { env: WEBHOOK_ENV },
      token: { env: 'AUTHWATCH_E2E_SLACK_TOKEN' },
      apiUrl: api.apiUrl,
      routes: [
        { name: 'crm', match: { team: 'crm' }, channel: 'C0CRM' },
        { name: 'billing', match: { team: 'billing' }, channel: 'C0GONE' },
      ],
    },
  });

  const run = await runCli(['--config', config, 'test-alert'], { env: { [WEBHOOK_ENV]: webhook.webhookUrl, AUTHWATCH_E2E_SLACK_TOKEN: token } });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^slack\s+webhook\s+delivered$/m);
  assert.match(run.stdout, /^slack\s+route:crm\s+delivered$/m);
  assert.match(run.stdout, /^slack\s+route:billing\s+failed: Slack chat\.postMessage answered channel_not_found \(check the channel ID, and that the app is in that channel\)$/m);
  assert.equal(webhook.requests.length, 1);
  assert.equal(api.topLevel('C0CRM').length, 1);
  assert.match(api.topLevel('C0CRM')[0].text, /test notification/);
  assert.ok(!(run.stdout + run.stderr).includes(token) && !(run.stdout + run.stderr).includes('testAlertBotToken'), 'the token is never printed');
  assertNoWebhook(run.stdout + run.stderr, webhook.webhookUrl);
});
