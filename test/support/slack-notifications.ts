// Sample notifications (recorded facts as the daemon builds them) shared by the Slack and Alertmanager tests.
import type { Notification } from '../../src/notify/types.js';

export const CONNECTION = {
  name: 'salesforce-to-jira',
  url: 'https://acme.atlassian.net',
  deployment: 'cloud' as const,
  authType: 'basic' as const,
  labels: { team: 'crm', integration: 'salesforce' },
};

/** ok → regressed: Cloud answered 401 "Basic authentication with passwords is deprecated"; TLS went 1.3 → 1.2. */
export function regression(): Notification {
  return {
    kind: 'incident_opened',
    connection: { ...CONNECTION, labels: { ...CONNECTION.labels } },
    at: '2025-03-04T10:15:00.000Z',
    transition: { from: 'ok', to: 'regressed' },
    incident: { state: 'regressed', openedAt: '2025-03-04T10:15:00.000Z', resolvedAt: null },
    diagnosis: {
      outcome: 'basic_auth_rejected',
      class: 'auth',
      detail: '401 text/plain "Basic authentication with passwords is deprecated"',
      title: 'Jira Cloud refused the email/API token pair',
      explanation: 'Cloud answers this for a password, an expired or revoked token, and an email and token that do not belong together.',
      remediation: [
        'Check that the username is the account email.',
        'Create a new API token at id.atlassian.com & update the secret.',
        'Encode email:token with no trailing newline (echo -n).',
      ],
    },
    http: {
      status: 401,
      contentType: 'text/plain',
      headers: { 'x-arequestid': 'a1b2c3', 'atl-traceid': '0f1e2d3c' },
      message: 'Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/jira/platform/deprecation-notice-basic-auth/',
    },
    lastSuccessAt: '2025-03-04T10:05:00.000Z',
    firstFailureAt: '2025-03-04T10:10:00.000Z',
    changes: {
      credential: 'unchanged',
      tlsProtocol: { status: 'changed', before: 'TLSv1.3', after: 'TLSv1.2' },
      tlsCipher: { status: 'unchanged', value: 'ECDHE-RSA-AES128-GCM-SHA256' },
      tlsCertificate: { status: 'unchanged', value: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89' },
      identity: { status: 'unknown' },
    },
    certificate: null,
    token: null,
  };
}

/** The same incident resolved 2h 5m later. */
export function resolved(): Notification {
  return {
    kind: 'incident_resolved',
    connection: { ...CONNECTION, labels: { ...CONNECTION.labels } },
    at: '2025-03-04T12:20:00.000Z',
    transition: { from: 'regressed', to: 'ok' },
    incident: { state: 'regressed', openedAt: '2025-03-04T10:15:00.000Z', resolvedAt: '2025-03-04T12:20:00.000Z' },
    diagnosis: { outcome: 'ok', class: 'ok', detail: '200 application/json as 5b10ac8d82e05b22cc7d4ef5', title: 'Authenticated', explanation: 'Jira accepted the credentials.', remediation: [] },
    http: { status: 200, contentType: 'application/json', headers: { 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5' }, message: '{"accountId":"5b10ac8d82e05b22cc7d4ef5"}' },
    lastSuccessAt: '2025-03-04T12:20:00.000Z',
    firstFailureAt: null,
    changes: null,
    certificate: null,
    token: null,
  };
}
