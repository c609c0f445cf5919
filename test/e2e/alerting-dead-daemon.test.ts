// Issue #11, end to end: a dead authwatch is not an all-clear. The built daemon, a real Prometheus with the shipped
// scrape config and alert rules, a real Alertmanager with the shipped config and Slack template, and a Slack mock.
// Two connections are broken (one regressed, one never authenticated) and their alerts reach Slack; then the daemon
// is SIGKILLed: no [RESOLVED] may reach Slack, AuthwatchDown fires; it is restarted: the alerts stay open, and
// resolve only once the connections work again.
//
// What the test changes, and nothing else:
//   - prometheus.yml: scrape and evaluation every 1 s, the daemon's and Alertmanager's actual addresses;
//   - the rules: the same expressions, with every `for:` and `keep_firing_for:` divided by TIME_SCALE (30), so
//     that the scenario takes two minutes instead of an hour; their relations (keep_firing_for longer than
//     AuthwatchDown's `for:`, AuthwatchDown's hold longer than every `for:`) are what is under test, unchanged;
//   - alertmanager.yml: the webhook URL file, and group_wait / group_interval of 1 s so that a [RESOLVED] would be
//     sent within a second instead of after five minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';
import { generateApiToken, generatePat } from '../support/jira-mock.js';
import { parseDuration } from '../../src/config/duration.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture } from '../support/jira-fixture.js';
import { startRecordingServer } from '../support/slack-mock.js';
import { freePort, startAlertmanager, startPrometheus } from '../support/deploy-servers.js';
import { repoPath, requireTool } from '../support/deploy-tools.js';

const TIME_SCALE = 30;
const SHIPPED_PROMETHEUS = readFileSync(repoPath('deploy/prometheus/prometheus.yml'), 'utf8');
const SHIPPED_RULES = readFileSync(repoPath('deploy/prometheus/rules/authwatch.rules.yml'), 'utf8');
const SHIPPED_ALERTMANAGER = readFileSync(repoPath('deploy/alertmanager/alertmanager.yml'), 'utf8');
const TEMPLATE = readFileSync(repoPath('deploy/alertmanager/authwatch.tmpl'), 'utf8');
const WEBHOOK_PATH = '/services/T000/B000/DEADDAEMON';

interface Rule {
  alert?: string;
  for?: string;
  keep_firing_for?: string;
}

const scaled = (duration: string) => `${Math.round(parseDuration(duration) / TIME_SCALE)}ms`;

/** The shipped rules with the same expressions, every hold and wait divided by TIME_SCALE. */
function scaledRules(): { text: string; rules: Rule[] } {
  const document = parse(SHIPPED_RULES) as { groups: { rules: Rule[] }[] };
  const rules = document.groups.flatMap((group) => group.rules);
  for (const rule of rules) {
    if (rule.for) rule.for = scaled(rule.for);
    if (rule.keep_firing_for) rule.keep_firing_for = scaled(rule.keep_firing_for);
  }
  return { text: stringify(document), rules };
}

function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`expected ${String(from)} once in a shipped file, found ${count}`);
  return text.replace(from, to);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Alertmanager's group_interval in the test (5 min shipped): how soon a group's [RESOLVED] would be sent. */
const GROUP_INTERVAL_MS = 1000;

interface SlackAttachment {
  title: string;
  text: string;
}

test('killing authwatch sends no false all-clear; AuthwatchDown fires; after a restart the alerts resolve only when fixed', { timeout: 300_000 }, async (t) => {
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  for (const tool of ['openssl', 'prometheus', 'prometheus-alertmanager']) requireTool(tool);

  const fixture = await startJiraFixture();
  cleanups.push(() => fixture.close());
  const cloudTenant = fixture.tenant({ deployment: 'cloud', user: { emailAddress: 'sf-integration@acme.example' } });
  const dcTenant = fixture.tenant({ deployment: 'datacenter', user: { name: 'svc-new-bot' } });
  const workingToken = fixture.jira.tenant(cloudTenant).credentials.apiToken;
  const neverValidPat = generatePat();

  const slack = await startRecordingServer({ status: 200, body: 'ok' });
  cleanups.push(() => slack.close());
  const slackMessages = () =>
    slack.requests.filter((request) => request.path === WEBHOOK_PATH).flatMap((request) => (request.body as { attachments: SlackAttachment[] }).attachments);
  const titles = () => slackMessages().map((attachment) => attachment.title);

  let alertmanagerConfig = replaceOnce(SHIPPED_ALERTMANAGER, /api_url_file: \S+/, 'api_url_file: slack-webhook-url');
  alertmanagerConfig = replaceOnce(alertmanagerConfig, /group_wait: \S+/, 'group_wait: 1s');
  alertmanagerConfig = replaceOnce(alertmanagerConfig, /group_interval: \S+/, `group_interval: ${GROUP_INTERVAL_MS / 1000}s`);
  const alertmanager = await startAlertmanager({
    configYaml: alertmanagerConfig,
    files: { 'authwatch.tmpl': TEMPLATE, 'slack-webhook-url': `${slack.origin}${WEBHOOK_PATH}\n` },
  });
  cleanups.push(() => alertmanager.stop());

  // The daemon on a fixed port, so that Prometheus finds the restarted daemon where the killed one was.
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-e2e-dead-daemon-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'authwatch.yaml');
  writeFileSync(
    configPath,
    stringify({
      server: { listen: `127.0.0.1:${port}` },
      storage: { path: join(dir, 'authwatch.db') },
      defaults: { schedule: '*/1 * * * * *', timeout: '5s', failureThreshold: 2, recoveryThreshold: 1, tls: { caFile: fixture.pki.caFile } },
      connections: [
        {
          name: 'sf-to-jira',
          url: fixture.jira.tenantUrl(cloudTenant),
          deployment: 'cloud',
          auth: { type: 'basic', username: 'sf-integration@acme.example', secret: { env: 'AUTHWATCH_E2E_CLOUD_TOKEN' } },
        },
        { name: 'new-bot', url: fixture.jira.tenantUrl(dcTenant), deployment: 'datacenter', auth: { type: 'bearer', secret: { env: 'AUTHWATCH_E2E_NEW_PAT' } } },
      ],
    }),
  );
  const env = { AUTHWATCH_E2E_CLOUD_TOKEN: workingToken, AUTHWATCH_E2E_NEW_PAT: neverValidPat };
  let daemon = new DaemonProcess(configPath, { env, logLevel: 'info' });
  cleanups.push(() => daemon.kill());
  await daemon.url();

  let prometheusConfig = replaceOnce(SHIPPED_PROMETHEUS, 'scrape_interval: 30s', 'scrape_interval: 1s');
  prometheusConfig = replaceOnce(prometheusConfig, 'evaluation_interval: 30s', 'evaluation_interval: 1s');
  prometheusConfig = replaceOnce(prometheusConfig, "targets: ['127.0.0.1:9477']", `targets: ['127.0.0.1:${port}']`);
  prometheusConfig = replaceOnce(prometheusConfig, "targets: ['127.0.0.1:9093']", `targets: ['${new URL(alertmanager.url).host}']`);
  const rules = scaledRules();
  const prometheus = await startPrometheus({ configYaml: prometheusConfig, files: { 'rules/authwatch.rules.yml': rules.text } });
  cleanups.push(() => prometheus.stop());
  const context = () => `\nSlack titles: ${JSON.stringify(titles())}\n--- prometheus ---\n${prometheus.output().slice(-2000)}\n--- alertmanager ---\n${alertmanager.output().slice(-2000)}`;
  const firingInPrometheus = async () =>
    ((await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } }).data.alerts
      .filter((alert) => alert.state === 'firing')
      .map((alert) => `${alert.labels.alertname}${alert.labels.connection ? ` - ${alert.labels.connection}` : ''}${alert.labels.alertname === 'AuthwatchDown' ? `@${alert.labels.instance ?? ''}` : ''}`)
      .sort();

  const DOWN = `AuthwatchDown@127.0.0.1:${port}`;
  const REGRESSED = '[FIRING:1] AuthwatchAuthRegressed - sf-to-jira';
  const NEVER = '[FIRING:1] AuthwatchNeverAuthenticated - new-bot';
  /** The alert names Alertmanager holds as not resolved (inhibited ones included). */
  const alertsInAlertmanager = async () =>
    ((await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as { labels: Record<string, string> }[]).map((alert) => alert.labels.alertname);
  const resolvedTitles = () => titles().filter((title) => title.startsWith('[RESOLVED'));
  let downMessagesBefore = 0;

  await t.test('the broken connections alert in Slack', async () => {
    await daemon.waitForLog((line) => line.msg === 'probe' && line.connection === 'sf-to-jira' && line.outcome === 'ok', 15_000, 'sf-to-jira authenticated');
    fixture.jira.setCredentials(cloudTenant, { apiToken: generateApiToken() });
    await eventually(() => titles().includes(REGRESSED) && titles().includes(NEVER), 60_000).catch(() => assert.fail(`no FIRING messages${context()}`));
    // Before the first scrape Prometheus may briefly have seen no target at all (absent(up)); that hold ends first.
    await eventually(async () => !(await firingInPrometheus()).some((alert) => alert.startsWith('AuthwatchDown')), 60_000);
    assert.deepEqual(resolvedTitles().filter((title) => !title.includes('AuthwatchDown')), []);
    downMessagesBefore = titles().filter((title) => title === '[FIRING:1] AuthwatchDown').length;
  });

  await t.test('SIGKILL: AuthwatchDown fires within 2 (scaled) minutes and no [RESOLVED] reaches Slack while the holds end', async () => {
    const down = rules.rules.find((rule) => rule.alert === 'AuthwatchDown')!;
    assert.equal(parseDuration(down.for!), parseDuration('1m') / TIME_SCALE, 'the shipped AuthwatchDown waits one minute');
    const killedAt = Date.now();
    await daemon.kill();
    await eventually(async () => (await firingInPrometheus()).includes(DOWN), 60_000).catch(() => assert.fail(`AuthwatchDown did not fire${context()}`));
    const firedAfterMs = Date.now() - killedAt;
    t.diagnostic(`AuthwatchDown fired ${firedAfterMs} ms after SIGKILL (scaled ×${TIME_SCALE}: ${Math.round((firedAfterMs * TIME_SCALE) / 1000)} s)`);
    assert.ok(firedAfterMs <= (2 * 60_000) / TIME_SCALE + 3_000, `AuthwatchDown within 2 scaled minutes (+3 s of scrape and evaluation)`);
    await eventually(() => titles().filter((title) => title === '[FIRING:1] AuthwatchDown').length > downMessagesBefore, 15_000).catch(() =>
      assert.fail(`no AuthwatchDown message${context()}`),
    );
    // Past the end of every keep_firing_for: the rule alerts resolve in Prometheus, inhibited in Alertmanager.
    const longestHold = Math.max(...rules.rules.map((rule) => (rule.keep_firing_for ? parseDuration(rule.keep_firing_for) : 0)));
    const holdsOverBy = killedAt + longestHold + 5_000;
    await eventually(async () => isDeepStrictEqual(await firingInPrometheus(), [DOWN]), Math.max(1_000, holdsOverBy - Date.now()), 250).catch(() => undefined);
    assert.deepEqual(await firingInPrometheus(), [DOWN], 'the held alerts did end in Prometheus (the test saw the dangerous moment)');
    // Alertmanager has their resolution once they leave its alerts; a [RESOLVED] would go out at the group's next
    // flush (group_interval 1 s). A flush that sends nothing shows nowhere, so two of them are waited for.
    await eventually(async () => (await alertsInAlertmanager()).every((name) => name === 'AuthwatchDown'), 15_000).catch(() =>
      assert.fail(`Alertmanager still has the held alerts${context()}`),
    );
    await sleep(2 * GROUP_INTERVAL_MS);
    assert.deepEqual(resolvedTitles().filter((title) => !title.includes('AuthwatchDown')), [], `no false all-clear${context()}`);
  });

  await t.test('restart: the alerts come back without a [RESOLVED]; they resolve only once the connections work again', async () => {
    daemon = new DaemonProcess(configPath, { env, logLevel: 'info' });
    await daemon.url();
    await eventually(async () => {
      const firing = await firingInPrometheus();
      return firing.includes('AuthwatchAuthRegressed - sf-to-jira') && firing.includes('AuthwatchNeverAuthenticated - new-bot') && !firing.includes(DOWN);
    }, 60_000).catch(() => assert.fail(`the alerts did not come back, or AuthwatchDown did not end${context()}`));
    // A group_interval or two for anything Alertmanager would still send: a flush that sends nothing shows nowhere.
    await sleep(3 * GROUP_INTERVAL_MS);
    assert.deepEqual(
      resolvedTitles().filter((title) => !title.includes('AuthwatchDown')),
      [],
      `the connections' alerts were never announced resolved${context()}`,
    );

    const fixedAt = Date.now();
    fixture.jira.setCredentials(cloudTenant, { apiToken: workingToken });
    fixture.jira.setCredentials(dcTenant, { pat: neverValidPat });
    await eventually(() => resolvedTitles().some((title) => title.includes('AuthwatchAuthRegressed')) && resolvedTitles().some((title) => title.includes('AuthwatchNeverAuthenticated')), 90_000).catch(() =>
      assert.fail(`the alerts did not resolve after the fix${context()}`),
    );
    t.diagnostic(`resolved ${Date.now() - fixedAt} ms after the fix`);
    const resolved = slackMessages().filter((attachment) => attachment.title.startsWith('[RESOLVED') && !attachment.title.includes('AuthwatchDown'));
    for (const attachment of resolved) assert.match(attachment.text, /^\*Resolved:\* /);
  });
});
