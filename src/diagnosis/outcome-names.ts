// The closed list of outcomes (docs/outcomes.md). The order is the classifier's precedence.
export const OUTCOME_CLASSES = {
  credential_missing: 'auth',
  credential_malformed: 'auth',
  tls_file_unreadable: 'tls',
  proxy_unreachable: 'network',
  proxy_auth_required: 'network',
  proxy_tunnel_failed: 'network',
  client_cert_required: 'tls',
  client_cert_rejected: 'tls',
  dns_error: 'network',
  connect_error: 'network',
  timeout: 'network',
  tls_handshake_failed: 'tls',
  tls_intercepted: 'tls',
  tls_cert_invalid: 'tls',
  oauth_token_error: 'auth',
  basic_auth_rejected: 'auth',
  scope_mismatch: 'auth',
  auth_rejected: 'auth',
  captcha_required: 'auth',
  basic_auth_disabled: 'auth',
  forbidden: 'auth',
  anonymous: 'auth',
  identity_mismatch: 'auth',
  redirected: 'auth',
  login_page: 'auth',
  rate_limited: 'server',
  server_error: 'server',
  not_found: 'server',
  unexpected_response: 'server',
  ok: 'ok',
} as const;

export type Outcome = keyof typeof OUTCOME_CLASSES;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[Outcome];
export const OUTCOMES = Object.keys(OUTCOME_CLASSES) as Outcome[];

export function outcomeClass(outcome: Outcome): OutcomeClass {
  return OUTCOME_CLASSES[outcome];
}
