// Issue #5, end to end: the built daemon (`authwatch run`) probes an HTTPS simulated Jira, a real Prometheus scrapes
// it with the SHIPPED deploy/prometheus/prometheus.yml and evaluates the SHIPPED alert rules. A token revoked in
// Jira must make AuthwatchAuthRegressed fire for that connection, and every query of every panel of the SHIPPED
// grafana/dashboards/authwatch.json must return data from Prometheus's HTTP API.
//
// What this test changes in the shipped prometheus.yml, and nothing else (each replacement must match exactly once,
// so an edit of the shipped file that moves these lines fails here instead of being silently ignored):
//   1. scrape_interval 30s -> 1s and evaluation_interval 30s -> 1s: the daemon probes every second, and the test
//      must not wait minutes for scrapes and rule evaluations.
//   2. the authwatch scrape target 127.0.0.1:9477 -> the daemon's actual address (it listens on port 0).
//   3. the Alertmanager target 127.0.0.1:9093 -> a loopback port nothing listens on, so that the test's alerts never
//      reach an Alertmanager that may run on this machine (delivery to Alertmanager is tested in deploy-alertmanager).
// The rule file is copied unchanged; the dashboard's variables are substituted by dashboardQueries() as Grafana does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generateApiToken, generatePat } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { freePort, instantQuery, rangeQuery, startPrometheus, type PromQueryResult } from '../support/deploy-servers.js';
import { DEFAULT_QUERY_VARIABLES, dashboardQueries, type GrafanaDashboard } from '../support/deploy-grafana.js';
import { repoPath, requireTool } from '../support/deploy-tools.js';

const SHIPPED_CONFIG = readFileSync(repoPath('deploy/prometheus/prometheus.yml'), 'utf8');
const RULES_FILE = 'rules/authwatch.rules.yml';
const SHIPPED_RULES = readFileSync(repoPath('deploy/prometheus', RULES_FILE), 'utf8');
const DASHBOARD = JSON.parse(readFileSync(repoPath('grafana/dashboards/authwatch.json'), 'utf8')) as GrafanaDashboard;

/** Replaces `from` by `to`, and fails when `from` is not in the text exactly once. */
function substituteOnce(text: string, from: string, to: string): string {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`the shipped prometheus.yml has ${count} occurrences of ${JSON.stringify(from)}; the test substitutes exactly one`);
  return text.replace(from, to);
}

/** The shipped scrape config with only the substitutions listed at the top of this file. */
function testPrometheusConfig(shipped: string, targets: { authwatch: string; alertmanager: string }): string {
  let config = substituteOnce(shipped, 'scrape_interval: 30s', 'scrape_interval: 1s');
  config = substituteOnce(config, 'evaluation_interval: 30s', 'evaluation_interval: 1s');
  config = substituteOnce(config, "targets: ['127.0.0.1:9477']", `targets: ['${targets.authwatch}']`);
  return substituteOnce(config, "targets: ['127.0.0.1:9093']", `targets: ['${targets.alertmanager}']`);
}

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}
interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

const samples = (result: PromQueryResult): Sample[] => (result.data?.result ?? []) as Sample[];

/** The connections the daemon watches. */
const CLOUD_REGRESSING = 'cloud-api-token';
const CLOUD_EXPIRING = 'cloud-expiring-token';
const DC_OK = 'dc-pat';
const DC_NEVER = 'dc-never-worked';
const TOKEN_EXPIRES_IN_DAYS = 5;

// One scenario, run in order: the subtests share the daemon and Prometheus. The setup is the parent test's own body (not
// a before hook), so that a missing tool is counted as a failed test with its message, not as cancelled subtests.
test('a real Prometheus scraping the built daemon with the shipped scrape config, rules and dashboard', async (t) => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  // A missing tool fails this test with how to install it (never a skip).
  requireTool('openssl');
  requireTool('prometheus');
  const scenarioStart = Math.floor(Date.now() / 1000);

  const fixture = await startJiraFixture();
  cleanups.push(() => fixture.close());
  const regressingTenant = fixture.tenant({ deployment: 'cloud', user: { emailAddress: 'sf-integration@acme.example' } });
  const expiringTenant = fixture.tenant({ deployment: 'cloud', user: { emailAddress: 'ci-bot@acme.example' } });
  const dcTenant = fixture.tenant({ deployment: 'datacenter', user: { name: 'svc-scriptrunner' } });
  const slack = await startSlackMock();
  cleanups.push(() => slack.close());

  const { jira } = fixture;
  const env = {
    AUTHWATCH_E2E_CLOUD_TOKEN: jira.tenant(regressingTenant).credentials.apiToken,
    AUTHWATCH_E2E_EXPIRING_TOKEN: jira.tenant(expiringTenant).credentials.apiToken,
    AUTHWATCH_E2E_DC_PAT: jira.tenant(dcTenant).credentials.pat,
    AUTHWATCH_E2E_NEVER_PAT: generatePat(), // was never a valid PAT of this Jira
    AUTHWATCH_E2E_SLACK_WEBHOOK: slack.webhookUrl,
  };
  const secrets = Object.values(env);
  const expiresAt = new Date(Date.now() + TOKEN_EXPIRES_IN_DAYS * 86_400_000).toISOString().slice(0, 10);
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-e2e-prometheus-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'authwatch.yaml');
  writeFileSync(
    configPath,
    `server:
  listen: 127.0.0.1:0
storage:
  path: ${join(dir, 'authwatch.db')}
defaults:
  schedule: "*/1 * * * * *"
  timeout: 5s
  tls: { caFile: ${fixture.pki.caFile} }
alerting:
  slack:
    webhookUrl: { env: AUTHWATCH_E2E_SLACK_WEBHOOK }
connections:
  - name: ${CLOUD_REGRESSING}
    url: ${jira.tenantUrl(regressingTenant)}
    deployment: cloud
    auth: { type: basic, username: sf-integration@acme.example, secret: { env: AUTHWATCH_E2E_CLOUD_TOKEN } }
    labels: { team: crm }
  - name: ${CLOUD_EXPIRING}
    url: ${jira.tenantUrl(expiringTenant)}
    deployment: cloud
    auth: { type: basic, username: ci-bot@acme.example, secret: { env: AUTHWATCH_E2E_EXPIRING_TOKEN }, expiresAt: ${expiresAt} }
  - name: ${DC_OK}
    url: ${jira.tenantUrl(dcTenant)}
    deployment: datacenter
    auth: { type: bearer, secret: { env: AUTHWATCH_E2E_DC_PAT } }
  - name: ${DC_NEVER}
    url: ${jira.tenantUrl(dcTenant)}
    deployment: datacenter
    auth: { type: bearer, secret: { env: AUTHWATCH_E2E_NEVER_PAT } }
`,
  );

  const daemon = new DaemonProcess(configPath, { env, logLevel: 'info' });
  cleanups.push(() => daemon.stop());
  const daemonAddress = new URL(await daemon.url()).host;

  const prometheus = await startPrometheus({
    configYaml: testPrometheusConfig(SHIPPED_CONFIG, { authwatch: daemonAddress, alertmanager: `127.0.0.1:${await freePort()}` }),
    files: { [RULES_FILE]: SHIPPED_RULES },
  });
  cleanups.push(() => prometheus.stop());

  const query = (expr: string) => instantQuery(prometheus.url, expr);
  const alerts = async (): Promise<PromAlert[]> => {
    const response = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
    return response.data.alerts;
  };
  const context = () => `\n--- prometheus ---\n${prometheus.output().slice(-3000)}\n--- daemon ---\n${daemon.stdout.slice(-3000)}`;

  await t.test('scrapes the daemon as job authwatch and sees every connection in its state, with the shipped rules loaded', async () => {
    const states = await eventually(async () => {
      const current = samples(await query('authwatch_auth_state{job="authwatch"} == 1'));
      const byConnection = Object.fromEntries(current.map((s) => [s.metric.connection, s.metric.state]));
      return byConnection[DC_NEVER] === 'failing' && Object.keys(byConnection).length === 4 ? byConnection : null;
    }, 30_000).catch((error: Error) => assert.fail(`${error.message}${context()}`));
    assert.deepEqual(states, { [CLOUD_REGRESSING]: 'ok', [CLOUD_EXPIRING]: 'ok', [DC_OK]: 'ok', [DC_NEVER]: 'failing' });

    const up = samples(await query('up{job="authwatch"}'));
    assert.equal(up.length, 1);
    assert.equal(up[0].value?.[1], '1');

    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((group) => group.rules);
    const shipped = (parse(SHIPPED_RULES) as { groups: { rules: { alert?: string; record?: string }[] }[] }).groups.flatMap((group) => group.rules.map((rule) => rule.alert ?? rule.record));
    assert.deepEqual(loaded.map((rule) => rule.name).sort(), shipped.sort());

    // The rules evaluate against the daemon's real series: the setup problem and the expiring token are pending
    // (their for: is minutes), and nothing has regressed.
    const active = await eventually(async () => {
      const current = await alerts();
      const names = current.map((alert) => `${alert.labels.alertname} ${alert.labels.connection}`).sort();
      return names.includes(`AuthwatchNeverAuthenticated ${DC_NEVER}`) && names.includes(`AuthwatchTokenExpiringSoon ${CLOUD_EXPIRING}`) ? names : null;
    }, 15_000).catch((error: Error) => assert.fail(`${error.message}${context()}`));
    assert.deepEqual(active, [`AuthwatchNeverAuthenticated ${DC_NEVER}`, `AuthwatchTokenExpiringSoon ${CLOUD_EXPIRING}`]);
    assert.ok(loaded.every((rule) => rule.health !== 'err'), JSON.stringify(loaded));
  });

  await t.test('a token revoked in Jira regresses that connection and AuthwatchAuthRegressed fires for it alone', async () => {
    // Prometheus has seen it authenticate (ok probes counting up) before the token is revoked.
    await eventually(async () => samples(await query(`authwatch_last_outcome_info{connection="${CLOUD_REGRESSING}", outcome="ok"}`)).length > 0, 15_000);
    fixture.jira.setCredentials(regressingTenant, { apiToken: generateApiToken() });
    await daemon.waitForLog((line) => line.msg === 'state changed' && line.connection === CLOUD_REGRESSING && line.to === 'regressed', 30_000, 'the regression');

    const firing = await eventually(async () => {
      const regressed = (await alerts()).filter((alert) => alert.labels.alertname === 'AuthwatchAuthRegressed');
      return regressed.some((alert) => alert.state === 'firing') ? regressed : null;
    }, 20_000).catch((error: Error) => assert.fail(`AuthwatchAuthRegressed did not fire: ${error.message}${context()}`));
    assert.equal(firing.length, 1, JSON.stringify(firing));
    const [alert] = firing;
    assert.equal(alert.state, 'firing');
    assert.deepEqual(
      { connection: alert.labels.connection, severity: alert.labels.severity, source: alert.labels.source, job: alert.labels.job },
      { connection: CLOUD_REGRESSING, severity: 'critical', source: 'authwatch', job: 'authwatch' },
    );
    assert.equal(alert.annotations.summary, `Jira auth regressed for ${CLOUD_REGRESSING}: it used to work and now fails`);
    // The description's lookups found the daemon's connection_info, last_outcome_info and last success.
    assert.match(alert.annotations.description, new RegExp(`\\(${fixture.jira.tenantUrl(regressingTenant).replace(/[.]/g, '\\.')}\\)`));
    assert.match(alert.annotations.description, /now fails with basic_auth_rejected; last success (\d+m )?[\d.]+s ago\./);

    // The daemon's own notification went out too (the Notifications panel shows it below).
    await eventually(() => slack.requests.some((message) => JSON.stringify(message.body).includes(CLOUD_REGRESSING)), 15_000).catch(() =>
      assert.fail(`no Slack message about ${CLOUD_REGRESSING}: ${JSON.stringify(slack.requests.map((message) => message.body))}${context()}`),
    );
  });

  await t.test('every query of every dashboard panel returns data, and the panels show the regression', async () => {
    const queries = dashboardQueries(DASHBOARD, { ...DEFAULT_QUERY_VARIABLES, connection: CLOUD_REGRESSING });
    assert.ok(queries.length >= 20, `only ${queries.length} queries found in the dashboard`);
    // Grafana runs a table/stat/bar gauge target marked instant as an instant query and a time series as a range
    // query over the dashboard's time range: here, from the start of the scenario to now.
    const run = (q: (typeof queries)[number]) =>
      q.instant ? query(q.query) : rangeQuery(prometheus.url, q.query, { start: scenarioStart, end: Math.ceil(Date.now() / 1000), stepSeconds: 1 });
    const results = await eventually(async () => {
      const answered = await Promise.all(queries.map(async (q) => ({ q, result: await run(q) })));
      const failed = answered.filter(({ result }) => result.status !== 'success' || samples(result).length === 0);
      if (failed.length > 0) throw new Error(`queries without data:\n${failed.map(({ q, result }) => `${q.panel} ${q.refId}: ${result.error ?? 'no series'}\n  ${q.query}`).join('\n')}`);
      // The Slack message arrived; Prometheus shows its delivery from its next scrape (1 s) on.
      const delivered = answered.find(({ q }) => q.panel === 'Notifications' && q.refId === 'A');
      if (!samples(delivered!.result).some((s) => s.metric.result === 'delivered' && s.values?.some(([, value]) => Number(value) > 0))) throw new Error('the delivery is not scraped yet');
      return answered;
    }, 20_000).catch((error: Error) => assert.fail(`${error.message}${context()}`));

    const resultOf = (panel: string, refId = 'A') => {
      const found = results.find(({ q }) => q.panel === panel && q.refId === refId);
      assert.ok(found, `panel ${panel} ${refId} is in the dashboard`);
      return samples(found.result);
    };
    const last = (sample: Sample) => Number(sample.value?.[1] ?? sample.values?.at(-1)?.[1]);

    // State timeline of the picked connection: regressed is 4 (its value mappings).
    const timeline = Object.fromEntries(resultOf('Auth state over time').map((s) => [s.metric.connection, last(s)]));
    assert.deepEqual(timeline, { [CLOUD_REGRESSING]: 4 });
    // The problems table names the regressed connection first, and why; then the one that never worked.
    const problems = resultOf('Problems now').map((s) => [s.metric.connection, s.metric.state, s.metric.outcome, last(s)]);
    assert.deepEqual(problems.sort((a, b) => Number(b[3]) - Number(a[3])), [
      [CLOUD_REGRESSING, 'regressed', 'basic_auth_rejected', 4],
      [DC_NEVER, 'failing', 'auth_rejected', 3],
    ]);
    // The count per state comes from a recording rule, a rule evaluation behind the series.
    const countQuery = queries.find((q) => q.panel === 'Connections by state')!.query;
    const counts = await eventually(async () => {
      const current = Object.fromEntries(samples(await query(countQuery)).map((s) => [s.metric.state, last(s)]));
      return current.regressed === 1 ? current : null;
    }, 10_000);
    assert.deepEqual(counts, { ok: 2, regressed: 1, failing: 1 });
    // Outcomes in the range: the regressing connection was ok, then rejected.
    const outcomes = resultOf('Last outcome over time').map((s) => s.metric.outcome);
    assert.deepEqual(outcomes.sort(), ['basic_auth_rejected', 'ok']);
    // Token expiry: only the connection with auth.expiresAt, a few days ahead.
    const tokens = resultOf('Token expiry');
    assert.deepEqual(tokens.map((s) => s.metric.connection), [CLOUD_EXPIRING]);
    assert.ok(last(tokens[0]) > (TOKEN_EXPIRES_IN_DAYS - 1) * 86_400 && last(tokens[0]) <= (TOKEN_EXPIRES_IN_DAYS + 1) * 86_400, `token expires in ${last(tokens[0])} s`);
    // Notifications: the delivery shows, and failures show as a flat 0 rather than "No data".
    const notifications = resultOf('Notifications', 'A');
    const series = (result: string) => notifications.find((s) => s.metric.channel === 'slack' && s.metric.result === result);
    assert.ok(series('delivered')?.values?.some(([, value]) => Number(value) > 0), JSON.stringify(notifications));
    assert.ok(series('failed')?.values?.every(([, value]) => Number(value) === 0), JSON.stringify(notifications));
    // Time since last success: every connection that ever authenticated, not the one that never did.
    assert.deepEqual(resultOf('Longest without a success').map((s) => s.metric.connection).sort(), [CLOUD_REGRESSING, CLOUD_EXPIRING, DC_OK].sort());
  });

  await t.test('no secret reaches Prometheus: not in any series, target or alert', async () => {
    const everything = [
      await query('{__name__=~"authwatch_.+|up"}'),
      await (await fetch(`${prometheus.url}/api/v1/targets`)).json(),
      await alerts(),
      daemon.stdout,
      daemon.stderr,
    ]
      .map((part) => (typeof part === 'string' ? part : JSON.stringify(part)))
      .join('\n');
    assert.ok(everything.includes(CLOUD_REGRESSING), 'the check looks at real data');
    for (const secret of [...secrets, new URL(slack.webhookUrl).pathname]) assert.ok(!everything.includes(secret), 'a secret is in Prometheus or the daemon log');
  });
});
