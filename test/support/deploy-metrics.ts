// The metric contract of SPEC section 9, as the alert rules and the dashboard may use it: a typo in a
// metric name is valid PromQL that silently matches nothing, so the shipped files are checked against this list.

export const SPEC_METRICS = [
  'authwatch_build_info',
  'authwatch_connection_info',
  'authwatch_probe_success',
  'authwatch_probes_total',
  'authwatch_last_outcome_info',
  'authwatch_auth_state',
  'authwatch_auth_regressed',
  'authwatch_consecutive_failures',
  'authwatch_http_status_code',
  'authwatch_probe_duration_seconds',
  'authwatch_last_probe_timestamp_seconds',
  'authwatch_last_success_timestamp_seconds',
  'authwatch_tls_version_info',
  'authwatch_tls_cipher_info',
  'authwatch_tls_cert_not_after_timestamp_seconds',
  'authwatch_tls_chain_earliest_not_after_timestamp_seconds',
  'authwatch_token_expiry_timestamp_seconds',
  'authwatch_notifications_total',
  'authwatch_outbox_pending',
  'authwatch_config_reload_success',
  'authwatch_config_last_reload_timestamp_seconds',
  'authwatch_config_last_reload_successful',
  'authwatch_probe_next_due_timestamp_seconds',
  'authwatch_outbox_oldest_pending_age_seconds',
] as const;

/** Histograms expose these series names. */
const HISTOGRAMS = ['authwatch_probe_start_delay_seconds', 'authwatch_probe_phase_seconds'];
const HISTOGRAM_SERIES = HISTOGRAMS.flatMap((name) => [`${name}_bucket`, `${name}_sum`, `${name}_count`]);

export const SPEC_SERIES_NAMES: ReadonlySet<string> = new Set<string>([...SPEC_METRICS, ...HISTOGRAM_SERIES]);

/** SPEC section 9 label values. */
export const AUTH_STATES = ['unknown', 'ok', 'failing', 'regressed', 'unreachable'] as const;
export const PROBE_PHASES = ['dns', 'connect', 'tls', 'request', 'first_byte', 'download', 'total'] as const;

/** Every authwatch_* name mentioned in a text (PromQL, YAML, JSON), in order of first appearance. */
export function authwatchNamesIn(text: string): string[] {
  return [...new Set(text.match(/\bauthwatch_[a-z0-9_]+/g) ?? [])];
}

/**
 * Names that look like authwatch metrics but are not in SPEC section 9. In PromQL a histogram is only queried by
 * its _bucket/_sum/_count series; prose (annotations) may name the histogram itself.
 */
export function unknownMetricNames(text: string, { prose = false } = {}): string[] {
  return authwatchNamesIn(text).filter((name) => !SPEC_SERIES_NAMES.has(name) && !(prose && HISTOGRAMS.includes(name)));
}

/**
 * Exposition text shaped like SPEC section 9 for two connections (one healthy on TLS 1.3, one regressed on
 * TLS 1.1 with a token expiry), standing in for a running authwatch when checking that dashboard queries select
 * series with the labels the contract defines. `scrape` (0, 1, 2, ...) advances the counters and the histogram.
 */
export function specShapedExposition(scrape: number, nowSeconds: number): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, samples: [labels: string, value: number][]) => {
    lines.push(`# HELP ${name} ${name.replace(/_/g, ' ')}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${value}`);
  };
  const ok = 'connection="cloud-ok"';
  const bad = 'connection="dc-regressed"';
  metric('authwatch_build_info', 'gauge', [['version="0.1.0",node_version="v20.20.0"', 1]]);
  metric('authwatch_connection_info', 'gauge', [
    [`${ok},url="https://acme.atlassian.net",deployment="cloud",auth_type="basic",team="crm"`, 1],
    [`${bad},url="https://jira.acme.internal",deployment="datacenter",auth_type="bearer",team="devtools"`, 1],
  ]);
  metric('authwatch_probe_success', 'gauge', [[ok, 1], [bad, 0]]);
  metric('authwatch_probes_total', 'counter', [
    [`${ok},outcome="ok"`, 10 + scrape],
    [`${bad},outcome="ok"`, 5],
    [`${bad},outcome="auth_rejected"`, 2 + scrape],
  ]);
  metric('authwatch_last_outcome_info', 'gauge', [[`${ok},outcome="ok",class="ok"`, 1], [`${bad},outcome="auth_rejected",class="auth"`, 1]]);
  metric('authwatch_auth_state', 'gauge', [
    ...AUTH_STATES.map((state): [string, number] => [`${ok},state="${state}"`, state === 'ok' ? 1 : 0]),
    ...AUTH_STATES.map((state): [string, number] => [`${bad},state="${state}"`, state === 'regressed' ? 1 : 0]),
  ]);
  metric('authwatch_auth_regressed', 'gauge', [[ok, 0], [bad, 1]]);
  metric('authwatch_consecutive_failures', 'gauge', [[ok, 0], [bad, 2 + scrape]]);
  metric('authwatch_http_status_code', 'gauge', [[ok, 200], [bad, 401]]);
  metric('authwatch_probe_duration_seconds', 'gauge', [
    ...PROBE_PHASES.map((phase, i): [string, number] => [`${ok},phase="${phase}"`, 0.01 * (i + 1)]),
    ...PROBE_PHASES.map((phase, i): [string, number] => [`${bad},phase="${phase}"`, 0.02 * (i + 1)]),
  ]);
  metric('authwatch_last_probe_timestamp_seconds', 'gauge', [[ok, nowSeconds], [bad, nowSeconds]]);
  metric('authwatch_last_success_timestamp_seconds', 'gauge', [[ok, nowSeconds], [bad, nowSeconds - 7200]]);
  metric('authwatch_tls_version_info', 'gauge', [[`${ok},version="TLSv1.3"`, 1], [`${bad},version="TLSv1.1"`, 1]]);
  metric('authwatch_tls_cipher_info', 'gauge', [[`${ok},cipher="TLS_AES_128_GCM_SHA256"`, 1], [`${bad},cipher="ECDHE-RSA-AES128-SHA"`, 1]]);
  metric('authwatch_tls_cert_not_after_timestamp_seconds', 'gauge', [[ok, nowSeconds + 90 * 86400], [bad, nowSeconds + 10 * 86400]]);
  metric('authwatch_tls_chain_earliest_not_after_timestamp_seconds', 'gauge', [[ok, nowSeconds + 90 * 86400], [bad, nowSeconds + 5 * 86400]]);
  metric('authwatch_token_expiry_timestamp_seconds', 'gauge', [[bad, nowSeconds + 3 * 86400]]);
  metric('authwatch_notifications_total', 'counter', [
    ['channel="slack",result="delivered"', 3 + scrape],
    ['channel="alertmanager",result="delivered"', 3 + scrape],
    ['channel="slack",result="retried"', 1],
  ]);
  metric('authwatch_outbox_pending', 'gauge', [['channel="slack"', 0], ['channel="alertmanager"', 1]]);
  metric('authwatch_config_reload_success', 'gauge', [['', 1]]);
  metric('authwatch_config_last_reload_timestamp_seconds', 'gauge', [['', nowSeconds - 60]]);
  const buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
  lines.push('# HELP authwatch_probe_start_delay_seconds how late probes start', '# TYPE authwatch_probe_start_delay_seconds histogram');
  const count = 4 * (scrape + 1);
  buckets.forEach((le, i) => lines.push(`authwatch_probe_start_delay_seconds_bucket{le="${le}"} ${Math.min(count, (i + 1) * (scrape + 1))}`));
  lines.push(`authwatch_probe_start_delay_seconds_bucket{le="+Inf"} ${count}`);
  lines.push(`authwatch_probe_start_delay_seconds_sum ${0.02 * count}`, `authwatch_probe_start_delay_seconds_count ${count}`);
  return `${lines.join('\n')}\n`;
}
