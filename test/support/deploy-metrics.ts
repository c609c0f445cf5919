// authwatch's metric names (docs/behaviour.md "Metrics"), as the alert rules and the dashboard may use them: a typo
// in a metric name is valid PromQL that silently matches nothing, so the shipped files are checked against this list.
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';

export const METRIC_NAMES = [
  'authwatch_build_info',
  'authwatch_connection_info',
  'authwatch_probe_success',
  'authwatch_probes_total',
  'authwatch_last_outcome_info',
  'authwatch_auth_state',
  'authwatch_consecutive_failures',
  'authwatch_http_status_code',
  'authwatch_probe_duration_seconds',
  'authwatch_probe_phase_duration_seconds',
  'authwatch_last_probe_timestamp_seconds',
  'authwatch_last_success_timestamp_seconds',
  'authwatch_probe_next_due_timestamp_seconds',
  'authwatch_tls_version_info',
  'authwatch_tls_cipher_info',
  'authwatch_tls_cert_not_after_timestamp_seconds',
  'authwatch_tls_chain_earliest_not_after_timestamp_seconds',
  'authwatch_token_expiry_timestamp_seconds',
  'authwatch_tls_client_cert_not_after_timestamp_seconds',
  'authwatch_notifications_total',
  'authwatch_outbox_pending',
  'authwatch_outbox_oldest_pending_age_seconds',
  'authwatch_config_last_reload_successful',
  'authwatch_config_last_reload_timestamp_seconds',
  // Storage health (docs/reliability.md).
  'authwatch_storage_up',
  'authwatch_storage_errors_total',
  'authwatch_storage_pending_writes',
] as const;

/** Histograms expose these series names. */
const HISTOGRAMS = ['authwatch_probe_start_delay_seconds', 'authwatch_probe_phase_seconds'];
const HISTOGRAM_SERIES = HISTOGRAMS.flatMap((name) => [`${name}_bucket`, `${name}_sum`, `${name}_count`]);

export const SERIES_NAMES: ReadonlySet<string> = new Set<string>([...METRIC_NAMES, ...HISTOGRAM_SERIES]);


/** Every authwatch_* name mentioned in a text (PromQL, YAML, JSON), in order of first appearance. */
export function authwatchNamesIn(text: string): string[] {
  return [...new Set(text.match(/\bauthwatch_[a-z0-9_]+/g) ?? [])];
}

/**
 * Names that look like authwatch metrics but are not in docs/behaviour.md's metrics. In PromQL a histogram is only queried by
 * its _bucket/_sum/_count series; prose (annotations) may name the histogram itself.
 */
export function unknownMetricNames(text: string, { prose = false } = {}): string[] {
  return authwatchNamesIn(text).filter((name) => !SERIES_NAMES.has(name) && !(prose && HISTOGRAMS.includes(name)));
}

/**
 * The real /metrics text of authwatch's metrics (src/metrics) for two connections — one healthy on TLS 1.3, one
 * regressed on TLS 1.1 with a token expiring in 3 days — standing in for a running daemon when checking that the
 * dashboard's queries select data. Call scrape() on every scrape: each one records another probe of each.
 */
export function metricsStandIn(): { scrape(): Promise<string>; contentType: string } {
  const metrics = new AuthwatchMetrics({ schedulePeriodSeconds: () => 60 });
  const nowSeconds = () => Date.now() / 1000;
  const base = { deployment: 'cloud' as const, tokenExpiresAt: null };
  metrics.setConnections([
    { ...base, name: 'cloud-ok', url: 'https://acme.atlassian.net', auth: { type: 'basic' }, labels: { team: 'crm' } },
    {
      ...base,
      name: 'dc-regressed',
      url: 'https://jira.acme.internal',
      deployment: 'datacenter',
      auth: { type: 'bearer' },
      labels: { team: 'devtools' },
      tokenExpiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    },
  ]);
  metrics.setChannels(['slack', 'alertmanager']);
  metrics.configReloaded(true);
  const tls = (protocol: string, daysLeft: number) => ({
    protocol,
    cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
    subject: 'CN=jira',
    issuer: 'CN=ca',
    sans: [],
    serial: '01',
    fingerprint256: 'AA',
    notBefore: new Date(Date.now() - 86_400_000).toISOString(),
    notAfter: new Date(Date.now() + daysLeft * 86_400_000).toISOString(),
    chainEarliestNotAfter: new Date(Date.now() + daysLeft * 86_400_000).toISOString(),
    authorized: true,
    authorizationError: null,
  });
  const timings = { dns: 0.002, connect: 0.01, tls: 0.03, request: 0.001, first_byte: 0.2, download: 0.001, total: 0.244 };
  let scrapes = 0;
  return {
    contentType: metrics.contentType,
    async scrape() {
      const at = new Date().toISOString();
      metrics.recordProbe('cloud-ok', { outcome: 'ok', httpStatus: 200, timings, at, tls: tls('TLSv1.3', 90) });
      metrics.recordState('cloud-ok', { state: 'ok', consecutiveFailures: 0, lastSuccessAt: at });
      metrics.recordProbe('dc-regressed', { outcome: scrapes < 2 ? 'ok' : 'auth_rejected', httpStatus: scrapes < 2 ? 200 : 401, timings, at, tls: tls('TLSv1.1', 5) });
      metrics.recordState('dc-regressed', scrapes < 2 ? { state: 'ok', consecutiveFailures: 0, lastSuccessAt: at } : { state: 'regressed', consecutiveFailures: scrapes, lastSuccessAt: new Date(nowSeconds() * 1000 - 7_200_000).toISOString() });
      metrics.observeStartDelay(0.02 * (scrapes % 5));
      metrics.notification('slack', 'delivered');
      metrics.setOutboxPending('alertmanager', 1, new Date(Date.now() - 30_000));
      scrapes += 1;
      return metrics.render();
    },
  };
}
