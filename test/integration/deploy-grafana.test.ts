// grafana/: the dashboard has the datasource and connection variables and the panels docs/install.md describes, and
// every query in it is PromQL a real Prometheus accepts and that selects data from series shaped as docs/behaviour.md's metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoPath } from '../support/deploy-tools.js';
import { startPrometheus } from '../support/deploy-servers.js';
import { allPanels, dashboardQueries, substituteVariables, type GrafanaDashboard } from '../support/deploy-grafana.js';
import { metricsStandIn, unknownMetricNames } from '../support/deploy-metrics.js';

const dashboard = JSON.parse(readFileSync(repoPath('grafana/dashboards/authwatch.json'), 'utf8')) as GrafanaDashboard;
const queries = dashboardQueries(dashboard);
const STANDARD_PANEL_TYPES = new Set(['row', 'stat', 'table', 'timeseries', 'state-timeline', 'bargauge', 'gauge', 'text', 'status-history', 'barchart']);
/** Metrics without a connection label. */
const INSTANCE_METRICS = /^authwatch_(build_info|notifications_total|outbox_\w+|config_\w+|probes_total|probe_start_delay_seconds_\w+|probe_phase_seconds_\w+)$/;
const RULES = readFileSync(repoPath('deploy/prometheus/rules/authwatch.rules.yml'), 'utf8');

test('the dashboard picks its Prometheus and connections through variables', () => {
  const [datasource, connection] = dashboard.templating.list;
  assert.equal(datasource.name, 'datasource');
  assert.equal(datasource.type, 'datasource');
  assert.equal(datasource.query, 'prometheus');
  assert.equal(connection.name, 'connection');
  assert.equal(connection.type, 'query');
  assert.equal(connection.definition, 'label_values(authwatch_connection_info, connection)');
  assert.deepEqual(connection.datasource, { type: 'prometheus', uid: '${datasource}' });
  // One connection at a time: "All" would make every drill-down panel 10,000 series wide.
  assert.equal(connection.multi, false);
  assert.equal(connection.includeAll, false);
  assert.equal(dashboard.uid, 'authwatch', 'docs/configuration.md links to /d/authwatch (alerting.dashboardUrl)');
});

test('every panel is a standard type on the ${datasource} variable, with a unique id and a place of its own', () => {
  const panels = allPanels(dashboard);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'unique panel ids');
  const cells = new Map<string, string>();
  for (const panel of panels) {
    assert.ok(STANDARD_PANEL_TYPES.has(panel.type), `${panel.title}: ${panel.type} is not a built-in panel type`);
    if (panel.type === 'row') continue;
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
    assert.ok(panel.targets?.length, `${panel.title} has no query`);
    for (const target of panel.targets!) assert.deepEqual(target.datasource, { type: 'prometheus', uid: '${datasource}' }, `${panel.title} ${target.refId}`);
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${panel.title} fits the 24-column grid`);
    for (let row = y; row < y + h; row += 1) {
      for (let column = x; column < x + w; column += 1) {
        const other = cells.get(`${row},${column}`);
        assert.equal(other, undefined, `${panel.title} overlaps ${other}`);
        cells.set(`${row},${column}`, panel.title);
      }
    }
  }
});

test('the dashboard opens on what is broken now, then drills into one connection', () => {
  const first = allPanels(dashboard).filter((panel) => panel.type !== 'row' && panel.gridPos.y < 6);
  assert.ok(first.some((panel) => panel.title === 'Connections by state'), 'a count per state at the top');
  assert.ok(first.some((panel) => /topk\(/.test(panel.targets?.[0]?.expr ?? '') && panel.title.startsWith('Slowest')), 'top-k slowest at the top');
  const problems = allPanels(dashboard).find((panel) => panel.title === 'Problems now');
  assert.ok(problems && problems.gridPos.y < 14, 'the problems table right below');
  const drill = allPanels(dashboard).find((panel) => panel.type === 'row' && panel.title.includes('$connection'));
  assert.ok(drill && drill.gridPos.y > problems.gridPos.y, 'the one-connection rows come after the overview');
});

test('the dashboard shows what docs/install.md describes', () => {
  const panelsUsing = (metric: string, type?: string) => queries.filter((q) => q.expr.includes(metric) && (!type || q.panelType === type));
  assert.ok(panelsUsing('authwatch_auth_state', 'state-timeline').length, 'state timeline');
  assert.ok(panelsUsing('authwatch_auth_state', 'table').length, 'current state per connection');
  assert.ok(panelsUsing('authwatch_probes_total').some((q) => /by \(outcome\)/.test(q.expr)), 'outcomes over time');
  assert.ok(panelsUsing('authwatch_probe_phase_seconds_bucket').some((q) => q.expr.includes('phase')), 'latency by phase');
  assert.ok(panelsUsing('authwatch_tls_version_info', 'table').length, 'TLS version per connection');
  assert.ok(panelsUsing('authwatch_tls_chain_earliest_not_after_timestamp_seconds', 'table').length, 'certificate expiry table');
  assert.ok(panelsUsing('authwatch_token_expiry_timestamp_seconds', 'table').length, 'token expiry table');
  assert.ok(panelsUsing('authwatch_last_success_timestamp_seconds').length, 'last success age');
  assert.ok(panelsUsing('authwatch_probe_start_delay_seconds_bucket').length, 'probe start delay');
});

test('every query uses only known metrics, and is bounded: one picked connection, or an aggregation over all', () => {
  for (const q of queries) {
    assert.deepEqual(unknownMetricNames(q.expr), [], `${q.panel} ${q.refId}: ${q.expr}`);
    const overview = /^(topk|bottomk)\(\d+,|^(count|sum) by \(\w+\)|^(count|sum)\(/.test(q.expr);
    for (const name of q.expr.match(/\bauthwatch_\w+/g) ?? []) {
      if (INSTANCE_METRICS.test(name) || overview) continue;
      assert.match(q.expr, new RegExp(`${name}\\{[^}]*connection="\\$connection"`), `${q.panel} ${q.refId}: ${name} is neither aggregated nor narrowed to $connection`);
    }
  }
  for (const panel of allPanels(dashboard).filter((p) => p.type === 'timeseries' || p.type === 'state-timeline')) {
    assert.ok((panel.maxDataPoints ?? Infinity) <= 500, `${panel.title}: maxDataPoints bounds the points`);
  }
});

test('variables are substituted as Grafana does, and a misspelt one is caught', () => {
  assert.equal(substituteVariables('rate(x{c=~"$connection"}[$__rate_interval])', { connection: '.*', __rate_interval: '2m' }), 'rate(x{c=~".*"}[2m])');
  assert.equal(substituteVariables('x{c=~"${connection:regex}"} [[connection]]', { connection: 'a|b' }), 'x{c=~"a|b"} a|b');
  assert.throws(() => substituteVariables('x{c=~"$conection"}', { connection: '.*' }), /unknown dashboard variable \$conection/);
});

test('a real Prometheus with the shipped rules accepts every dashboard query, and every query returns data from authwatch metrics', async (t) => {
  // Stand-in for a running authwatch: src/metrics' own output, a probe of each connection recorded per scrape.
  const standIn = metricsStandIn();
  const exporter = createServer((_request, response) => {
    void standIn.scrape().then((text) => {
      response.setHeader('content-type', standIn.contentType);
      response.end(text);
    });
  });
  exporter.listen(0, '127.0.0.1');
  await once(exporter, 'listening');
  t.after(() => exporter.close());
  const target = `127.0.0.1:${(exporter.address() as { port: number }).port}`;

  const prometheus = await startPrometheus({
    configYaml: `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [authwatch.rules.yml]\nscrape_configs:\n  - job_name: authwatch\n    static_configs: [{ targets: ['${target}'] }]\n`,
    files: { 'authwatch.rules.yml': RULES },
  });
  t.after(() => prometheus.stop());

  // The parse check first: it needs no data, and a broken query must come back as bad_data (the check is real).
  const broken = await prometheus.query('sum by (outcome (authwatch_probes_total)');
  assert.equal(broken.errorType, 'bad_data');
  for (const q of queries) {
    const result = await prometheus.query(q.query);
    assert.equal(result.status, 'success', `${q.panel} ${q.refId}: ${result.error}\n${q.query}`);
  }

  // Enough scrapes for increase()/rate() over the dashboard's windows.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const samples = await prometheus.query('count_over_time(authwatch_build_info[1m])');
    if (Number((samples.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0) >= 5) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const empty: string[] = [];
  for (const q of queries) {
    const result = await prometheus.query(q.query);
    assert.equal(result.status, 'success', `${q.panel} ${q.refId}: ${result.error}`);
    if ((result.data?.result.length ?? 0) === 0) empty.push(`${q.panel} ${q.refId}: ${q.query}`);
  }
  assert.deepEqual(empty, [], `queries that returned no data (Prometheus said:\n${prometheus.output()})`);
  t.diagnostic(`${queries.length} dashboard queries parsed and returned data`);

  // The state timeline's number encoding, and the picker narrowing a panel to the chosen connection.
  const timeline = queries.find((q) => q.panelType === 'state-timeline')!;
  const states = await prometheus.query(timeline.query);
  const valueOf = (result: typeof states, connection: string) =>
    (result.data?.result as { metric: Record<string, string>; value: [number, string] }[]).find((s) => s.metric.connection === connection)?.value[1];
  assert.equal(valueOf(states, 'dc-regressed'), '4', 'regressed is 4 in the timeline');
  const picked = await prometheus.query(substituteVariables(timeline.expr, { connection: 'cloud-ok' }));
  assert.deepEqual((picked.data?.result as { metric: Record<string, string> }[]).map((s) => s.metric.connection), ['cloud-ok']);
});

test('the provisioning files point Grafana at Prometheus and at the dashboard folder docs/install.md uses', () => {
  const datasources = parse(readFileSync(repoPath('grafana/provisioning/datasources/authwatch.yaml'), 'utf8')) as {
    apiVersion: number;
    datasources: { type: string; url: string }[];
  };
  assert.equal(datasources.apiVersion, 1);
  assert.equal(datasources.datasources[0].type, 'prometheus');
  const providers = parse(readFileSync(repoPath('grafana/provisioning/dashboards/authwatch.yaml'), 'utf8')) as {
    apiVersion: number;
    providers: { type: string; options: { path: string } }[];
  };
  assert.equal(providers.apiVersion, 1);
  assert.equal(providers.providers[0].type, 'file');
  const install = readFileSync(repoPath('docs/install.md'), 'utf8');
  assert.ok(install.includes(providers.providers[0].options.path), `docs/install.md copies the dashboard to ${providers.providers[0].options.path}`);
});
