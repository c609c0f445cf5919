// deploy/alertmanager/: amtool accepts the config, the routing sends authwatch's alerts (from the Prometheus rules
// and pushed by authwatch itself) to Slack and nothing else, and a real Alertmanager posts a readable Slack message.
import { test } from 'node:test';
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
).groups.flatMap((group) => group.rules);

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

test('a real Alertmanager posts a Slack message with the alert summary, description and colour', async (t) => {
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  const slack = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      posts.push({ path: request.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      response.end('ok');
    });
  });
  slack.listen(0, '127.0.0.1');
  await once(slack, 'listening');
  t.after(() => slack.close());
  const slackPort = (slack.address() as { port: number }).port;

  // The shipped config, with two test-only changes: the webhook URL file points at the local fake Slack, and
  // group_wait is 0s so the first notification goes out at once instead of after 30 s.
  const webhookPath = '/services/T000/B000/XXXX';
  let testConfig = configText.replace(/api_url_file: \S+/, 'api_url_file: slack-webhook-url');
  testConfig = testConfig.replace(/group_wait: \S+/, 'group_wait: 0s');
  assert.notEqual(testConfig, configText);
  const alertmanager = await startAlertmanager({
    configYaml: testConfig,
    files: { 'authwatch.tmpl': templateText, 'slack-webhook-url': `http://127.0.0.1:${slackPort}${webhookPath}\n` },
  });
  t.after(() => alertmanager.stop());

  // What Prometheus (or authwatch itself) sends: Alertmanager API v2.
  const alert = {
    labels: { alertname: 'AuthwatchAuthRegressed', severity: 'critical', source: 'authwatch', connection: 'salesforce-to-jira', instance: '127.0.0.1:9477', job: 'authwatch' },
    annotations: {
      summary: 'Jira auth regressed for salesforce-to-jira: it used to work and now fails',
      description: 'salesforce-to-jira (https://acme.atlassian.net) authenticated to Jira before and now fails with basic_auth_rejected.',
    },
    startsAt: new Date().toISOString(),
  };
  const pushed = await fetch(`${alertmanager.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([alert]) });
  assert.equal(pushed.status, 200, await pushed.text());

  const deadline = Date.now() + 20_000;
  while (posts.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(posts.length, 1, `Slack received ${posts.length} posts; Alertmanager said:\n${alertmanager.output()}`);
  assert.equal(posts[0].path, webhookPath);
  const [attachment] = posts[0].body.attachments as { title: string; text: string; color: string }[];
  assert.equal(attachment.title, '[FIRING:1] AuthwatchAuthRegressed - salesforce-to-jira');
  assert.equal(attachment.color, 'danger');
  assert.equal(
    attachment.text,
    [
      '*Critical:* Jira auth regressed for salesforce-to-jira: it used to work and now fails',
      alert.annotations.description,
      '_connection:_ `salesforce-to-jira`  _instance:_ `127.0.0.1:9477`',
      `<${alertmanager.url}|Alertmanager>`,
    ].join('\n'),
  );
});
