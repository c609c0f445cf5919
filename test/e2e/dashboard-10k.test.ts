// Issue #11: the dashboard stays usable at 10,000 connections. The built daemon watches 10,000 connections — 9,990 on
// a yearly schedule (they load the registry and /metrics exactly as configured connections do, without 10,000
// probes), 10 probed every second (ok, a wrong token, a closed port) — a real Prometheus scrapes it and evaluates the
// shipped rules (recording rules included). Every query of the shipped dashboard, with its variables substituted as
// Grafana does and the step Grafana computes for a 1920 px wide panel over the dashboard's default 24 h, must return
// data without an error, with a bounded number of series and points. Each query's time is printed, not asserted.
// `promtool check metrics` checks the live 10,000-connection /metrics output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { closedPort, startJiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { instantQuery, rangeQuery, startPrometheus, type PromQueryResult } from '../support/deploy-servers.js';
import { DEFAULT_QUERY_VARIABLES, allPanels, dashboardQueries, grafanaStepSeconds, type GrafanaDashboard } from '../support/deploy-grafana.js';
import { repoPath, requireTool } from '../support/deploy-tools.js';

const CONNECTIONS = 10_000;
const FAST = 10;
const DASHBOARD = JSON.parse(readFileSync(repoPath('grafana/dashboards/authwatch.json'), 'utf8')) as GrafanaDashboard;
const RULES = readFileSync(repoPath('deploy/prometheus/rules/authwatch.rules.yml'), 'utf8');
/**
 * The time range of the range queries: 6 h (the dashboard opens on 24 h; both give Grafana's 1 m minimum step, so
 * the same points per series, and 6 h needs only a minute of data before the last step has some).
 */
const RANGE_SECONDS = 6 * 3600;
/** The provisioned datasource's timeInterval: Grafana derives $__rate_interval from it. */
const SCRAPE_INTERVAL_SECONDS = 30;
/** Series a panel may draw: a table of problems shows up to 100 rows, a time series panel a few dozen lines. */
const MAX_SERIES = { table: 100, other: 30 };

interface Series {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

test(`every dashboard query is bounded and returns data at ${CONNECTIONS} connections`, { timeout: 600_000 }, async (t) => {
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  requireTool('openssl');
  requireTool('prometheus');
  const promtool = requireTool('promtool');

  const fixture = await startJiraFixture();
  cleanups.push(() => fixture.close());
  const tenant = fixture.tenant({ deployment: 'cloud', user: { emailAddress: 'bot@acme.example' } });
  const slack = await startSlackMock();
  cleanups.push(() => slack.close());
  const down = await closedPort();
  const url = fixture.jira.tenantUrl(tenant);
  const auth = (variable: string) => ({ type: 'basic', username: 'bot@acme.example', secret: { env: variable } });
  const fast = Array.from({ length: FAST }, (_, i) => {
    const name = `fast-${i}`;
    if (i < 6) return { name, url, deployment: 'cloud', schedule: '*/1 * * * * *', auth: auth('AUTHWATCH_E2E_TOKEN') };
    if (i < 8) return { name, url, deployment: 'cloud', schedule: '*/1 * * * * *', auth: auth('AUTHWATCH_E2E_WRONG') };
    return { name, url: `https://127.0.0.1:${down}`, deployment: 'cloud', schedule: '*/1 * * * * *', auth: auth('AUTHWATCH_E2E_TOKEN') };
  });
  const yearly = Array.from({ length: CONNECTIONS - FAST }, (_, i) => ({
    name: `integration-${String(i).padStart(5, '0')}`,
    url,
    deployment: 'cloud',
    labels: { team: `team-${i % 50}` },
    auth: { ...auth('AUTHWATCH_E2E_TOKEN'), expiresAt: `2027-${String((i % 12) + 1).padStart(2, '0')}-01` },
  }));
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-e2e-10k-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'authwatch.yaml');
  writeFileSync(
    configPath,
    stringify({
      server: { listen: '127.0.0.1:0' },
      storage: { path: join(dir, 'authwatch.db') },
      defaults: { schedule: '0 0 0 1 1 *', timeout: '5s', failureThreshold: 1, tls: { caFile: fixture.pki.caFile } },
      alerting: { slack: { webhookUrl: { env: 'AUTHWATCH_E2E_SLACK' } } },
      connections: [...fast, ...yearly],
    }),
  );
  const env = { AUTHWATCH_E2E_TOKEN: fixture.jira.tenant(tenant).credentials.apiToken, AUTHWATCH_E2E_WRONG: generateApiToken(), AUTHWATCH_E2E_SLACK: slack.webhookUrl };
  const daemon = new DaemonProcess(configPath, { env, logLevel: 'info' });
  cleanups.push(() => daemon.stop());
  const daemonUrl = await daemon.url(180_000).catch((error: Error) => assert.fail(error.message));

  const prometheus = await startPrometheus({
    configYaml: stringify({
      global: { scrape_interval: '5s', evaluation_interval: '5s' },
      rule_files: ['authwatch.rules.yml'],
      scrape_configs: [{ job_name: 'authwatch', static_configs: [{ targets: [new URL(daemonUrl).host] }] }],
    }),
    files: { 'authwatch.rules.yml': RULES },
  });
  cleanups.push(() => prometheus.stop());

  await t.test('promtool check metrics accepts the live /metrics output of 10,000 connections', async () => {
    const text = await (await fetch(`${daemonUrl}/metrics`)).text();
    const configured = new Set([...text.matchAll(/^authwatch_connection_info\{connection="([^"]+)"/gm)].map((match) => match[1]));
    assert.equal(configured.size, CONNECTIONS);
    const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '', 'promtool reports no problem');
    assert.equal(result.status, 0);
  });

  await t.test('every query returns data, bounded in series and points', async () => {
    const picked = 'fast-0';
    const queries = dashboardQueries(DASHBOARD, { ...DEFAULT_QUERY_VARIABLES, connection: picked });
    const panels = new Map(allPanels(DASHBOARD).map((panel) => [panel.title, panel]));
    // Enough scrapes and rule evaluations for rate()/increase() and the recording rules.
    await eventually(async () => {
      const result = await instantQuery(prometheus.url, 'count(authwatch:connections:count_by_state) and on () count_over_time(authwatch_build_info[5m]) >= 4');
      return (result.data?.result.length ?? 0) > 0;
    }, 120_000).catch(() => assert.fail(`Prometheus has not scraped enough\n${prometheus.output().slice(-3000)}`));

    const report: string[] = [];
    for (const q of queries) {
      const panel = panels.get(q.panel)!;
      const step = grafanaStepSeconds(panel, RANGE_SECONDS, 1920);
      const rateInterval = `${Math.max(step + SCRAPE_INTERVAL_SECONDS, 4 * SCRAPE_INTERVAL_SECONDS)}s`;
      const query = dashboardQueries(
        { ...DASHBOARD, panels: [{ ...panel, targets: panel.targets!.filter((target) => target.refId === q.refId) }] },
        { ...DEFAULT_QUERY_VARIABLES, connection: picked, __rate_interval: rateInterval, __interval: `${step}s`, __range: `${RANGE_SECONDS}s`, __range_s: String(RANGE_SECONDS) },
      )[0]!.query;
      let ms = 0;
      const run = async (): Promise<PromQueryResult> => {
        const end = Math.floor(Date.now() / 1000);
        const started = performance.now();
        const answer = q.instant ? await instantQuery(prometheus.url, query) : await rangeQuery(prometheus.url, query, { start: end - RANGE_SECONDS, end, stepSeconds: step });
        ms = performance.now() - started;
        return answer;
      };
      // A range query has data once a step falls after the first samples (up to one step, 60 s, after the start).
      const result = await eventually(async () => {
        const answer = await run();
        return answer.status !== 'success' || (answer.data?.result.length ?? 0) > 0 ? answer : null;
      }, 2 * step * 1000 + 30_000).catch(() => run());
      assert.equal(result.status, 'success', `${q.panel} ${q.refId}: ${result.error}\n${query}`);
      const series = (result.data?.result ?? []) as Series[];
      const points = Math.max(0, ...series.map((s) => s.values?.length ?? 1));
      report.push(`${ms.toFixed(0).padStart(6)} ms  ${String(series.length).padStart(3)} series  ${String(points).padStart(4)} points  step ${step}s  ${q.panel} ${q.refId}`);
      assert.ok(series.length > 0, `${q.panel} ${q.refId} returned no data:\n${query}`);
      assert.ok(series.length <= (panel.type === 'table' ? MAX_SERIES.table : MAX_SERIES.other), `${q.panel} ${q.refId}: ${series.length} series`);
      if (!q.instant) {
        const maxPoints = Math.ceil(RANGE_SECONDS / step) + 1;
        assert.ok(maxPoints <= (panel.maxDataPoints ?? 1920) + 1, `${q.panel}: Grafana asks for ${maxPoints} points`);
        assert.ok(points <= maxPoints, `${q.panel} ${q.refId}: ${points} points per series`);
      }
    }
    t.diagnostic(`query times (printed, not asserted), against ${CONNECTIONS} connections:\n${report.join('\n')}`);
  });
});
