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
] as const;

/** Histograms expose these series names. */
const HISTOGRAMS = ['authwatch_probe_start_delay_seconds'];
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
