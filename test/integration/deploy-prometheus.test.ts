// deploy/prometheus/: the scrape config and alert rules pass promtool, and the rules' unit tests pass and cover
// every alert both firing and not firing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { BUILT_IN_DEFAULTS } from '../../src/config/load.js';
import { describeRun, repoPath, requireTool, runTool } from '../support/deploy-tools.js';
import { unknownMetricNames } from '../support/deploy-metrics.js';

const DIR = repoPath('deploy/prometheus');
const RULES = 'rules/authwatch.rules.yml';
const RULE_TESTS = 'tests/authwatch.rules.test.yml';

/** The alerts every install relies on (docs/alerts.md). */
const REQUIRED_ALERTS = [
  'AuthwatchAuthRegressed',
  'AuthwatchNeverAuthenticated',
  'AuthwatchUnreachable',
  'AuthwatchProbesStale',
  'AuthwatchTlsBelow12',
  'AuthwatchCertExpiringSoon',
  'AuthwatchTokenExpiringSoon',
  'AuthwatchDown',
];

/** What issue #11 adds: a dead daemon, a stuck scheduler or outbox, a crash loop, and the critical expiry tier. */
const OPERATIONAL_ALERTS = ['AuthwatchSchedulerLagging', 'AuthwatchCrashLooping', 'AuthwatchOutboxStuck', 'AuthwatchCertExpiryCritical', 'AuthwatchTokenExpiryCritical'];

/** What issue #14 adds: the client certificate (mutual TLS) warned about like the server's. */
const CLIENT_CERT_ALERTS = ['AuthwatchClientCertExpiringSoon', 'AuthwatchClientCertExpiryCritical'];

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const allRules = (parse(readFileSync(`${DIR}/${RULES}`, 'utf8')) as { groups: { rules: (AlertRule | { record: string; expr: string })[] }[] }).groups.flatMap((group) => group.rules);
const rules = allRules.filter((rule): rule is AlertRule => 'alert' in rule);

test('promtool check config accepts prometheus.yml and finds the rule file beside it', async () => {
  const promtool = requireTool('promtool');
  const result = await runTool(promtool, ['check', 'config', 'prometheus.yml'], { cwd: DIR });
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /SUCCESS: 1 rule files found/);
  assert.match(result.stdout, new RegExp(`SUCCESS: ${allRules.length} rules found`));
});

test("prometheus.yml scrapes authwatch's default listen address as job authwatch", () => {
  const config = parse(readFileSync(`${DIR}/prometheus.yml`, 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const job = config.scrape_configs.find((scrape) => scrape.job_name === 'authwatch');
  assert.ok(job, 'a scrape job named authwatch (the rules use job="authwatch")');
  assert.deepEqual(job.static_configs.flatMap((sc) => sc.targets), [BUILT_IN_DEFAULTS.listen]);
  assert.deepEqual(config.rule_files, [RULES]);
});

test('promtool check rules accepts the alert rules', async () => {
  const promtool = requireTool('promtool');
  const result = await runTool(promtool, ['check', 'rules', RULES], { cwd: DIR });
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, new RegExp(`SUCCESS: ${allRules.length} rules found`));
});

test('promtool test rules passes the unit tests of every alert', async () => {
  const promtool = requireTool('promtool');
  const result = await runTool(promtool, ['test', 'rules', RULE_TESTS], { cwd: DIR });
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /SUCCESS/);
});

test('every documented alert exists, carries severity and source labels, a for: and annotations', () => {
  const names = rules.map((rule) => rule.alert);
  for (const required of [...REQUIRED_ALERTS, ...OPERATIONAL_ALERTS, ...CLIENT_CERT_ALERTS]) assert.ok(names.includes(required), `missing alert ${required}`);
  for (const rule of rules) {
    assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/, `${rule.alert}: severity`);
    assert.equal(rule.labels?.source, 'authwatch', `${rule.alert}: source="authwatch" (deploy/alertmanager routes on it)`);
    assert.ok(rule.for, `${rule.alert}: for:`);
    assert.ok(rule.annotations?.summary && rule.annotations.description, `${rule.alert}: summary and description`);
  }
  assert.deepEqual(unknownMetricNames(readFileSync(`${DIR}/${RULES}`, 'utf8'), { prose: true }), [], "metric names not in docs/behaviour.md's metrics");
});

test('the unit tests show each alert firing and not firing', () => {
  const suite = parse(readFileSync(`${DIR}/${RULE_TESTS}`, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const cases = suite.tests.flatMap((group) => group.alert_rule_test ?? []);
  for (const rule of rules) {
    const own = cases.filter((c) => c.alertname === rule.alert);
    assert.ok(own.some((c) => c.exp_alerts.length > 0), `${rule.alert} is never tested firing`);
    assert.ok(own.some((c) => c.exp_alerts.length === 0), `${rule.alert} is never tested not firing`);
  }
});

test('no alert computed from authwatch\'s own series resolves the moment authwatch dies: each has keep_firing_for', () => {
  for (const rule of rules) {
    if (/^\s*up\{/.test(rule.expr)) continue;
    assert.match(rule.keep_firing_for ?? '', /^\d+m$/, `${rule.alert}: keep_firing_for`);
  }
  const down = rules.find((rule) => rule.alert === 'AuthwatchDown');
  assert.equal(down?.for, '1m', 'AuthwatchDown fires after a minute, not five');
  assert.match(down?.expr ?? '', /absent\(up\{job=~"authwatch"\}\)/);
});

test('every alert links its own section of docs/alerts.md as runbook_url', () => {
  const doc = readFileSync(repoPath('docs/alerts.md'), 'utf8');
  const anchors = new Set([...doc.matchAll(/^## (\S+)$/gm)].map((match) => match[1].toLowerCase()));
  for (const rule of rules) {
    assert.equal(rule.annotations?.runbook_url, `docs/alerts.md#${rule.alert.toLowerCase()}`, rule.alert);
    assert.ok(anchors.has(rule.alert.toLowerCase()), `docs/alerts.md has a section "## ${rule.alert}"`);
  }
});
