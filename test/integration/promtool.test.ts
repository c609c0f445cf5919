// The whole /metrics output, as a busy instance would render it, checked by Prometheus' own linter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { AuthwatchMetrics, type MetricsConnection } from '../../src/metrics/metrics.js';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) {
    assert.fail(`cannot run ${PROMTOOL} (${(result.error as NodeJS.ErrnoException).code}): install it with "apt-get install prometheus" or set PROMTOOL`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

// Every metric authwatch defines (with metrics.detail on), with its type (docs/behaviour.md "Metrics").
const METRIC_NAMES: Record<string, string> = {
  authwatch_build_info: 'gauge',
  authwatch_connection_info: 'gauge',
  authwatch_probe_success: 'gauge',
  authwatch_probes_total: 'counter',
  authwatch_last_outcome_info: 'gauge',
  authwatch_auth_state: 'gauge',
  authwatch_consecutive_failures: 'gauge',
  authwatch_http_status_code: 'gauge',
  authwatch_probe_duration_seconds: 'gauge',
  authwatch_probe_phase_duration_seconds: 'gauge',
  authwatch_probe_phase_seconds: 'histogram',
  authwatch_probe_next_due_timestamp_seconds: 'gauge',
  authwatch_last_probe_timestamp_seconds: 'gauge',
  authwatch_last_success_timestamp_seconds: 'gauge',
  authwatch_tls_version_info: 'gauge',
  authwatch_tls_cipher_info: 'gauge',
  authwatch_tls_cert_not_after_timestamp_seconds: 'gauge',
  authwatch_tls_chain_earliest_not_after_timestamp_seconds: 'gauge',
  authwatch_token_expiry_timestamp_seconds: 'gauge',
  authwatch_tls_client_cert_not_after_timestamp_seconds: 'gauge',
  authwatch_notifications_total: 'counter',
  authwatch_outbox_pending: 'gauge',
  authwatch_outbox_oldest_pending_age_seconds: 'gauge',
  authwatch_probe_start_delay_seconds: 'histogram',
  authwatch_config_last_reload_successful: 'gauge',
  authwatch_config_last_reload_timestamp_seconds: 'gauge',
};

function connection(name: string, overrides: Partial<MetricsConnection> = {}): MetricsConnection {
  return { name, url: `https://${name}.atlassian.net`, deployment: 'cloud', auth: { type: 'basic' }, labels: {}, tokenExpiresAt: null, ...overrides };
}

async function busyInstanceOutput(): Promise<string> {
  const metrics = new AuthwatchMetrics({ detail: true, schedulePeriodSeconds: () => 300 });
  metrics.setConnections([
    connection('salesforce-to-jira', { labels: { team: 'crm', integration: 'salesforce' }, tokenExpiresAt: '2027-05-01' }),
    connection('scriptrunner', { labels: { team: 'tools' } }),
    connection('dc-legacy', { url: 'https://jira.acme.internal/jira', deployment: 'datacenter', auth: { type: 'bearer' } }),
    connection('oauth-app', { auth: { type: 'oauth2' } }),
  ]);
  metrics.setChannels(['slack', 'alertmanager']);
  metrics.configReloaded(true, new Date('2026-03-01T09:00:00Z'));
  const timings = { dns: 0.003, connect: 0.011, tls: 0.034, request: 0.0004, first_byte: 0.21, download: 0.001, total: 0.26 };
  const tls = {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    subject: 'CN=*.atlassian.net',
    issuer: 'CN=Amazon RSA 2048 M03',
    sans: ['DNS:*.atlassian.net'],
    serial: '0A',
    fingerprint256: '01:02',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-12-01T12:00:00.000Z',
    chainEarliestNotAfter: '2026-11-01T00:00:00.000Z',
    authorized: true,
    authorizationError: null,
  };
  const at = '2026-03-01T10:00:00.000Z';
  metrics.recordProbe('salesforce-to-jira', { outcome: 'ok', httpStatus: 200, timings, at, tls });
  metrics.recordState('salesforce-to-jira', { state: 'ok', consecutiveFailures: 0, lastSuccessAt: at });
  metrics.recordProbe('salesforce-to-jira', { outcome: 'basic_auth_rejected', httpStatus: 401, timings, at, tls });
  metrics.recordState('salesforce-to-jira', { state: 'regressed', consecutiveFailures: 2, lastSuccessAt: at });
  metrics.recordProbe('scriptrunner', { outcome: 'ok', httpStatus: 200, timings, at, tls: { ...tls, cipher: 'TLS_AES_128_GCM_SHA256', protocol: 'TLSv1.2' } });
  metrics.recordState('scriptrunner', { state: 'ok', consecutiveFailures: 0, lastSuccessAt: at });
  metrics.recordProbe('dc-legacy', { outcome: 'tls_cert_invalid', httpStatus: null, timings: { ...timings, request: null, first_byte: null, download: null }, at, tls: { ...tls, authorized: false, authorizationError: 'CERT_HAS_EXPIRED' } });
  metrics.recordState('dc-legacy', { state: 'unreachable', consecutiveFailures: 5, lastSuccessAt: null });
  metrics.recordProbe('oauth-app', { outcome: 'oauth_token_error', httpStatus: 401, timings, at, tls: null });
  metrics.recordState('oauth-app', { state: 'failing', consecutiveFailures: 2, lastSuccessAt: null });
  for (const delay of [0.002, 0.04, 0.7, 3]) metrics.observeStartDelay(delay);
  metrics.notification('slack', 'delivered');
  metrics.notification('alertmanager', 'retried');
  metrics.notification('alertmanager', 'failed');
  metrics.setOutboxPending('alertmanager', 1, new Date(Date.now() - 60_000));
  return metrics.render();
}

test('promtool check metrics passes on the full output of a busy instance, default metrics included', async () => {
  const text = await busyInstanceOutput();
  assert.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics are there');
  assert.match(text, /^nodejs_eventloop_lag_seconds /m, 'default Node.js metrics are there');
  const { status, output } = promtoolCheckMetrics(text);
  assert.equal(output, '', 'promtool reports no problem');
  assert.equal(status, 0);
});

test('promtool is not a rubber stamp: it flags a gauge named like a counter', () => {
  const { status, output } = promtoolCheckMetrics('# HELP authwatch_bad_total x\n# TYPE authwatch_bad_total gauge\nauthwatch_bad_total 1\n');
  assert.notEqual(status, 0);
  assert.match(output, /non-counter metrics should not have "_total" suffix/);
});

test('every metric is exported with its type', async () => {
  const text = await busyInstanceOutput();
  const types = Object.fromEntries([...text.matchAll(/^# TYPE (authwatch_\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]));
  assert.deepEqual(types, Object.fromEntries(Object.entries(METRIC_NAMES).sort()));
});
