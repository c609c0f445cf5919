// deploy/alertmanager/: amtool accepts the config, the routing sends authwatch's alerts (from the Prometheus rules
// and pushed by authwatch itself) to Slack and nothing else, and a real Alertmanager posts a readable Slack message.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeRun, repoPath, requireTool, runTool } from '../support/deploy-tools.js';
import { startAlertmanager } from '../support/deploy-servers.js';

const DIR = repoPath('deploy/alertmanager');
const configText = readFileSync(join(DIR, 'alertmanager.yml'), 'utf8');
const templateText = readFileSync(join(DIR, 'authwatch.tmpl'), 'utf8');
const ruleAlertNames = (
  parse(readFileSync(repoPath('deploy/prometheus/rules/authwatch.rules.yml'), 'utf8')) as { groups: { rules: { alert: string; labels: Record<string, string> }[] }[] }
)
  .groups.flatMap((group) => group.rules)
  .filter((rule) => rule.alert !== undefined);

async function receiverFor(labels: Record<string, string>): Promise<string> {
  const amtool = requireTool('amtool');
  const args = ['config', 'routes', 'test', '--config.file=alertmanager.yml', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  const result = await runTool(amtool, args, { cwd: DIR });
  assert.equal(result.code, 0, describeRun(result));
  return result.stdout.trim();
}

test('amtool check-config accepts the config and its template', async () => {
  const amtool = requireTool('amtool');
  const result = await runTool(amtool, ['check-config', 'alertmanager.yml'], { cwd: DIR });
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /- 1 templates/);
});

test('every Prometheus rule alert, labelled as the rules label it, is routed to Slack', async () => {
  for (const rule of ruleAlertNames) {
    assert.equal(await receiverFor({ alertname: rule.alert, ...rule.labels, connection: 'salesforce-to-jira' }), 'authwatch-slack', rule.alert);
  }
});

test('alerts authwatch pushes itself (source="authwatch") go to Slack; Authwatch* without the label too; others do not', async () => {
  assert.equal(await receiverFor({ alertname: 'AuthRegressed', source: 'authwatch', connection: 'salesforce-to-jira' }), 'authwatch-slack');
  assert.equal(await receiverFor({ alertname: 'AuthwatchAuthRegressed', connection: 'salesforce-to-jira' }), 'authwatch-slack');
  assert.equal(await receiverFor({ alertname: 'NodeFilesystemFull', severity: 'critical' }), 'default');
});

interface SlackPost {
  path: string;
  body: { attachments: { title: string; text: string; color: string }[] };
}

/** A local stand-in for Slack's incoming webhook, and an Alertmanager running the shipped config against it. */
async function startSlackAndAlertmanager(t: TestContext) {
  const posts: SlackPost[] = [];
  const slack = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      posts.push({ path: request.url ?? '', body: JSON.parse(body) as SlackPost['body'] });
      response.end('ok');
    });
  });
  slack.listen(0, '127.0.0.1');
  await once(slack, 'listening');
  t.after(() => slack.close());
  const slackPort = (slack.address() as { port: number }).port;

  // The shipped config, with two test-only changes: the webhook URL file points at the local fake Slack, and
  // group_wait is 0s so the first notification goes out at once instead of after 30 s.
  let testConfig = configText.replace(/api_url_file: \S+/, 'api_url_file: slack-webhook-url');
  testConfig = testConfig.replace(/group_wait: \S+/, 'group_wait: 0s');
  assert.notEqual(testConfig, configText);
  const alertmanager = await startAlertmanager({
    configYaml: testConfig,
    files: { 'authwatch.tmpl': templateText, 'slack-webhook-url': `http://127.0.0.1:${slackPort}${WEBHOOK_PATH}\n` },
  });
  t.after(() => alertmanager.stop());

  /** What Prometheus and authwatch both do: POST /api/v2/alerts. */
  const push = async (alert: Record<string, unknown>) => {
    const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ startsAt: new Date().toISOString(), ...alert }]),
    });
    assert.equal(response.status, 200, await response.text());
  };
  const waitFor = async (what: string, done: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await done())) {
      if (Date.now() > deadline) assert.fail(`${what} did not happen within 20 s; Alertmanager said:\n${alertmanager.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { alertmanager, posts, push, waitFor };
}

const WEBHOOK_PATH = '/services/T000/B000/XXXX';
const RULE_ALERT = {
  labels: { alertname: 'AuthwatchAuthRegressed', severity: 'critical', source: 'authwatch', connection: 'salesforce-to-jira', instance: '127.0.0.1:9477', job: 'authwatch' },
  annotations: {
    summary: 'Jira auth regressed for salesforce-to-jira: it used to work and now fails',
    description: 'salesforce-to-jira (https://acme.atlassian.net) authenticated to Jira before and now fails with basic_auth_rejected.',
  },
};
// Shaped as src/notify/alertmanager/render.ts builds authwatch's own alerts.
const PUSHED_ALERT = {
  labels: { alertname: 'AuthwatchAuthRegressed', severity: 'critical', source: 'authwatch', connection: 'salesforce-to-jira', deployment: 'cloud', team: 'crm' },
  annotations: {
    summary: 'salesforce-to-jira: auth regressed (basic_auth_rejected)',
    description: 'https://acme.atlassian.net (cloud, basic auth)\nSince the last success: credential unchanged; TLS unchanged',
    remediation: '1. Check the token has not expired.\n2. Check the username is the account email.',
    outcome: 'basic_auth_rejected',
    dashboard: 'https://grafana.example.com/d/authwatch',
  },
};

test('a real Alertmanager posts a Slack message with the rule alert summary, description and colour', async (t) => {
  const { alertmanager, posts, push, waitFor } = await startSlackAndAlertmanager(t);
  await push(RULE_ALERT);
  await waitFor('a Slack post', () => posts.length > 0);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].path, WEBHOOK_PATH);
  const [attachment] = posts[0].body.attachments;
  assert.equal(attachment.title, '[FIRING:1] AuthwatchAuthRegressed - salesforce-to-jira');
  assert.equal(attachment.color, 'danger');
  assert.equal(
    attachment.text,
    [
      '*Critical:* Jira auth regressed for salesforce-to-jira: it used to work and now fails',
      RULE_ALERT.annotations.description,
      '_connection:_ `salesforce-to-jira`  _instance:_ `127.0.0.1:9477`',
      `<${alertmanager.url}|Alertmanager>`,
    ].join('\n'),
  );
});

test("authwatch's own alert shows its remediation and dashboard, and silences the rule alert for the same incident", async (t) => {
  const { alertmanager, posts, push, waitFor } = await startSlackAndAlertmanager(t);
  await push(PUSHED_ALERT);
  await waitFor('a Slack post', () => posts.length > 0);
  const [attachment] = posts[0].body.attachments;
  assert.equal(attachment.title, '[FIRING:1] AuthwatchAuthRegressed - salesforce-to-jira');
  assert.equal(
    attachment.text,
    [
      '*Critical:* salesforce-to-jira: auth regressed (basic_auth_rejected)',
      PUSHED_ALERT.annotations.description,
      '*What to do:*',
      PUSHED_ALERT.annotations.remediation,
      '_connection:_ `salesforce-to-jira`  <https://grafana.example.com/d/authwatch|Dashboard>',
      `<${alertmanager.url}|Alertmanager>`,
    ].join('\n'),
  );

  await push(RULE_ALERT);
  const ruleAlertState = async () => {
    const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
    return alerts.find((alert) => alert.labels.job === 'authwatch')?.status;
  };
  await waitFor('the rule alert to be inhibited', async () => ((await ruleAlertState())?.inhibitedBy.length ?? 0) > 0);
  assert.equal((await ruleAlertState())?.state, 'suppressed');
  assert.equal(posts.length, 1, 'no second Slack message for the same incident');
});

test("the template uses no `title` (unsafe on Alertmanager 0.25), and many groups rendered at once all read right", async (t) => {
  assert.doesNotMatch(templateText.replace(/\{\{\/\*[\s\S]*?\*\/\}\}/g, ''), /\|\s*title\b|\{\{-?\s*title\s/, 'no title function outside comments');
  const { posts, push, waitFor } = await startSlackAndAlertmanager(t);
  const connections = Array.from({ length: 30 }, (_, i) => `integration-${i}`);
  await Promise.all(
    connections.map((connection, i) =>
      push({
        labels: { alertname: 'AuthwatchUnreachable', severity: i % 2 ? 'warning' : 'critical', source: 'authwatch', connection, instance: '127.0.0.1:9477', job: 'authwatch' },
        annotations: { summary: `Jira is unreachable for ${connection}`, description: 'd' },
      }),
    ),
  );
  await waitFor('a Slack post per group', () => posts.length >= connections.length);
  for (const post of posts) {
    const [attachment] = post.body.attachments;
    const connection = /unreachable for (\S+)/.exec(attachment.text)?.[1] ?? '';
    const index = connections.indexOf(connection);
    assert.ok(index >= 0, attachment.text);
    assert.ok(attachment.text.startsWith(`*${index % 2 ? 'Warning' : 'Critical'}:* Jira is unreachable for ${connection}\n`), attachment.text);
  }
});

test('AuthwatchDown of one instance silences only that instance\'s alerts, never another replica\'s', async (t) => {
  const { alertmanager, push, waitFor } = await startSlackAndAlertmanager(t);
  const regressed = (instance: string) => ({
    labels: { ...RULE_ALERT.labels, instance },
    annotations: RULE_ALERT.annotations,
  });
  await push(regressed('replica-a:9477'));
  await push(regressed('replica-b:9477'));
  await push({ labels: { alertname: 'AuthwatchDown', severity: 'critical', source: 'authwatch', instance: 'replica-a:9477', job: 'authwatch' }, annotations: { summary: 'down', description: 'd' } });
  const states = async () => {
    const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
    return Object.fromEntries(alerts.filter((alert) => alert.labels.alertname === 'AuthwatchAuthRegressed').map((alert) => [alert.labels.instance, alert.status.state]));
  };
  await waitFor('replica a to be inhibited', async () => (await states())['replica-a:9477'] === 'suppressed');
  assert.deepEqual(await states(), { 'replica-a:9477': 'suppressed', 'replica-b:9477': 'active' });
});
