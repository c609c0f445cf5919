import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, openSslReason } from '../../src/diagnosis/classify.js';
import { OUTCOMES, type Outcome } from '../../src/diagnosis/outcome-names.js';
import type { ClassifyContext } from '../../src/diagnosis/types.js';
import type { HttpDetails, ProbeObservation, TlsDetails } from '../../src/probe/observation.js';
import { PROXY_AND_CLIENT_CERT_SAMPLES } from '../support/classify-samples.js';

// Hand-built observations, shaped like what Jira answers (see docs/outcomes.md, "what Jira answered").

const cloud: ClassifyContext = { deployment: 'cloud', authType: 'basic', expect: { accountId: '5b10ac8d82e05b22cc7d4ef5' } };
const dc: ClassifyContext = { deployment: 'datacenter', authType: 'basic', expect: { username: 'svc-sf' } };

const VERIFIED_TLS: TlsDetails = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  subject: 'CN=acme.atlassian.net',
  issuer: 'CN=Amazon RSA 2048 M02',
  sans: ['DNS:*.atlassian.net'],
  serial: '0A',
  fingerprint256: 'AB:CD',
  notBefore: '2025-06-01T00:00:00.000Z',
  notAfter: '2026-07-01T00:00:00.000Z',
  chainEarliestNotAfter: '2026-07-01T00:00:00.000Z',
  authorized: true,
  authorizationError: null,
};

function observation(overrides: Partial<ProbeObservation> = {}): ProbeObservation {
  return {
    connection: 'salesforce-to-jira',
    startedAt: '2026-03-01T12:00:00.000Z',
    url: 'https://acme.atlassian.net/rest/api/3/myself',
    credential: { status: 'ok', problem: null, fingerprint: '0123456789abcdef', findings: [] },
    oauth: null,
    error: null,
    http: null,
    identity: null,
    tls: VERIFIED_TLS,
    timings: { dns: 0.01, connect: 0.02, tls: 0.03, request: 0, first_byte: 0.1, download: 0, total: 0.2 },
    ...overrides,
  };
}

function response(status: number, contentType: string | null, body: string | object, headers: Record<string, string> = {}): HttpDetails {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  let json: unknown = undefined;
  if (contentType?.includes('json')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status, contentType, headers, message: text.slice(0, 500), json, bodyBytes: text.length, bodyTruncated: false };
}

const withResponse = (http: HttpDetails, extra: Partial<ProbeObservation> = {}) => observation({ http, ...extra });
const withError = (code: string, message: string, phase: string | null = null, extra: Partial<ProbeObservation> = {}) =>
  observation({ error: { code, message, phase }, tls: null, ...extra });

const CLOUD_MYSELF = { accountId: '5b10ac8d82e05b22cc7d4ef5', accountType: 'atlassian', emailAddress: 'integration@acme.com', displayName: 'Salesforce Integration', active: true };
const DC_MYSELF = { key: 'JIRAUSER10100', name: 'svc-sf', emailAddress: 'svc-sf@acme.com', displayName: 'Salesforce', active: true };
const DEPRECATED_BODY = 'Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/';

function outcomeOf(obs: ProbeObservation, context: ClassifyContext = cloud): Outcome {
  return classify(obs, context).outcome;
}

test('credentials that could not be read or are malformed are diagnosed before anything else', () => {
  const missing = classify(observation({ credential: { status: 'missing', problem: 'environment variable JIRA_TOKEN is not set', fingerprint: null, findings: [] } }), cloud);
  assert.deepEqual(missing, { outcome: 'credential_missing', class: 'auth', detail: 'environment variable JIRA_TOKEN is not set' });

  const malformed = classify(
    observation({
      credential: { status: 'malformed', problem: 'the Authorization header value fails the lint', fingerprint: 'ab', findings: ['trailing_newline'] },
      error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND acme.atlassian.net', phase: null },
    }),
    cloud,
  );
  assert.equal(malformed.outcome, 'credential_malformed');
  assert.match(malformed.detail, /trailing_newline/);
});

test('network failures: dns, connect (incl. socket hang up before a response) and timeouts with their phase', () => {
  assert.equal(outcomeOf(withError('ENOTFOUND', 'getaddrinfo ENOTFOUND acme.atlasian.net')), 'dns_error');
  assert.equal(outcomeOf(withError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN acme.atlassian.net')), 'dns_error');
  assert.match(classify(withError('ENOTFOUND', 'getaddrinfo ENOTFOUND acme.atlasian.net'), cloud).detail, /acme\.atlasian\.net/);
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']) {
    const diagnosis = classify(withError(code, `connect ${code} 10.0.0.1:443`), dc);
    assert.equal(diagnosis.outcome, 'connect_error', code);
    assert.equal(diagnosis.class, 'network');
  }
  assert.equal(outcomeOf(withError('ERR_SOMETHING', 'socket hang up')), 'connect_error');

  const timedOut = classify(withError('ETIMEDOUT', "Timeout awaiting 'connect' for 15000ms", 'connect', { timings: { dns: 0.01, connect: null, tls: null, request: null, first_byte: null, download: null, total: 15.002 } }), cloud);
  assert.equal(timedOut.outcome, 'timeout');
  assert.equal(timedOut.detail, 'timed out in phase connect after 15s (ETIMEDOUT)');
  assert.match(classify(withError('ETIMEDOUT', 'Timeout awaiting response', 'response'), cloud).detail, /phase first_byte/);
  assert.match(classify(withError('ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout', 'secureConnect'), cloud).detail, /phase tls/);
});

test('a timeout while reading the body is a timeout even though the status line arrived', () => {
  const obs = withError('ETIMEDOUT', "Timeout awaiting 'read' for 15000ms", 'read', { http: response(200, 'application/json', '{"accountId":"5b10'), tls: VERIFIED_TLS });
  assert.equal(outcomeOf(obs), 'timeout');
});

test('a connection reset after the response arrived is judged by the response, not as connect_error', () => {
  const obs = withError('ECONNRESET', 'aborted', null, { http: response(401, 'text/plain', DEPRECATED_BODY) });
  assert.equal(outcomeOf(obs), 'basic_auth_rejected');
});

test('TLS: protocol/cipher mismatches are handshake failures, verification errors are certificate problems', () => {
  const handshake: Array<[string, string]> = [
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', 'C0E7:error:0A000102:SSL routines::unsupported protocol'],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'error:0A00042E:SSL routines::tlsv1 alert protocol version'],
    ['EPROTO', 'write EPROTO C0E7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'error:0A000410:SSL routines::sslv3 alert handshake failure'],
    ['ERR_SSL_NO_SHARED_CIPHER', 'no shared cipher'],
  ];
  for (const [code, message] of handshake) {
    const diagnosis = classify(withError(code, message), cloud);
    assert.equal(diagnosis.outcome, 'tls_handshake_failed', code);
    assert.equal(diagnosis.class, 'tls');
  }

  const certCodes = [
    'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID',
  ];
  for (const code of certCodes) {
    const diagnosis = classify(withError(code, 'certificate verification failed', null, { tls: { ...VERIFIED_TLS, authorized: false, authorizationError: code } }), dc);
    assert.equal(diagnosis.outcome, 'tls_cert_invalid', code);
    assert.match(diagnosis.detail, new RegExp(code));
  }
});

test('certificate details name the date, the host or the issuer', () => {
  const expired = { ...VERIFIED_TLS, notAfter: '2026-01-02T23:59:59.000Z', chainEarliestNotAfter: '2026-01-02T23:59:59.000Z', authorized: false, authorizationError: 'CERT_HAS_EXPIRED' };
  assert.equal(classify(withError('CERT_HAS_EXPIRED', 'certificate has expired', null, { tls: expired }), cloud).detail, 'certificate expired on 2026-01-02 (CERT_HAS_EXPIRED)');

  const intermediateExpired = { ...expired, notAfter: '2027-01-01T00:00:00.000Z', chainEarliestNotAfter: '2025-12-31T00:00:00.000Z' };
  assert.match(classify(withError('CERT_HAS_EXPIRED', 'certificate has expired', null, { tls: intermediateExpired }), cloud).detail, /in the chain expired on 2025-12-31/);

  const wrongHost = { ...VERIFIED_TLS, sans: ['DNS:other.example.com'], authorized: false, authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID' };
  const mismatch = classify(withError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", null, { tls: wrongHost, url: 'https://jira.acme.internal/rest/api/2/myself' }), dc);
  assert.match(mismatch.detail, /not valid for jira\.acme\.internal .*other\.example\.com/);

  const untrusted = { ...VERIFIED_TLS, issuer: 'CN=Acme Corp Root CA', authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' };
  assert.match(classify(withError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate', null, { tls: untrusted }), dc).detail, /Acme Corp Root CA is not trusted/);
});

test('an unverified certificate is tls_cert_invalid even without an error code and whatever the server answered', () => {
  const tls = { ...VERIFIED_TLS, authorized: false, authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN' };
  assert.equal(outcomeOf(observation({ tls, http: response(200, 'application/json', CLOUD_MYSELF) })), 'tls_cert_invalid');
});

test('the oauth2 token endpoint refusing the client is its own outcome', () => {
  const diagnosis = classify(
    observation({ oauth: { ok: false, fromCache: false, httpStatus: 401, error: 'invalid_client: Unauthorized', expiresAt: null } }),
    { deployment: 'cloud', authType: 'oauth2', expect: null },
  );
  assert.deepEqual(diagnosis, { outcome: 'oauth_token_error', class: 'auth', detail: 'token endpoint answered 401: "invalid_client: Unauthorized"' });
  // A network failure on the way is still a network outcome.
  assert.equal(outcomeOf(withError('ENOTFOUND', 'getaddrinfo ENOTFOUND auth.atlassian.com', null, { oauth: { ok: false, fromCache: false, httpStatus: null, error: 'getaddrinfo ENOTFOUND', expiresAt: null } })), 'dns_error');
});

test('401s: the Cloud "deprecated" text, scope mismatch, and every other 401', () => {
  const deprecated = classify(withResponse(response(401, 'text/plain;charset=UTF-8', DEPRECATED_BODY, { 'atl-traceid': 'abc' })), cloud);
  assert.deepEqual(deprecated, { outcome: 'basic_auth_rejected', class: 'auth', detail: '401 text/plain: "Basic authentication with passwords is deprecated."' });
  // The link after the first sentence has changed over the years; only the prefix counts.
  assert.equal(outcomeOf(withResponse(response(401, 'text/plain', 'Basic authentication with passwords is deprecated. See https://go.atlassian.com/x'))), 'basic_auth_rejected');

  const scope = classify(withResponse(response(401, 'application/json', { code: 401, message: 'Unauthorized; scope does not match' })), cloud);
  assert.equal(scope.outcome, 'scope_mismatch');
  assert.equal(scope.detail, '401 application/json: "Unauthorized; scope does not match"');

  const unauthenticated = classify(
    withResponse(response(401, 'application/json;charset=UTF-8', { message: 'Client must be authenticated to access this resource.', 'status-code': 401 }, { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' })),
    cloud,
  );
  assert.equal(unauthenticated.outcome, 'auth_rejected');
  assert.equal(unauthenticated.detail, '401 application/json: "Client must be authenticated to access this resource." (X-Seraph-LoginReason: AUTHENTICATED_FAILED)');

  const dcWrongPassword = withResponse(response(401, 'text/html', 'Basic Authentication Failure - Reason : AUTHENTICATED_FAILED', { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' }));
  assert.equal(outcomeOf(dcWrongPassword, dc), 'auth_rejected');
});

test('advisory header-lint findings are named in the detail of a rejection', () => {
  const obs = observation({
    credential: { status: 'ok', problem: null, fingerprint: 'ab', findings: ['username_not_email'] },
    http: response(401, 'text/plain', DEPRECATED_BODY),
  });
  assert.match(classify(obs, cloud).detail, /header lint: username_not_email \(on Cloud the username must be the account email\)$/);
});

test('403s: CAPTCHA lockout (either header, comma-separated reasons), basic auth disabled, and other 403s', () => {
  const captcha = classify(
    withResponse(response(403, 'text/html', '<html><title>Forbidden</title></html>', {
      'x-seraph-loginreason': 'AUTHENTICATION_DENIED',
      'x-authentication-denied-reason': 'CAPTCHA_CHALLENGE; login-url=https://jira.acme.internal/login.jsp',
    })),
    dc,
  );
  assert.equal(captcha.outcome, 'captcha_required');
  assert.match(captcha.detail, /CAPTCHA_CHALLENGE; login-url=https:\/\/jira\.acme\.internal\/login\.jsp/);
  assert.equal(outcomeOf(withResponse(response(403, 'text/html', '', { 'x-seraph-loginreason': 'OUT, AUTHENTICATION_DENIED' })), dc), 'captcha_required');
  assert.equal(outcomeOf(withResponse(response(403, 'text/html', '', { 'x-authentication-denied-reason': 'CAPTCHA_CHALLENGE' })), dc), 'captcha_required');
  // Same explicit lockout signal on a 401: the credentials were not even checked.
  assert.equal(outcomeOf(withResponse(response(401, 'text/html', '', { 'x-seraph-loginreason': 'AUTHENTICATION_DENIED' })), dc), 'captcha_required');

  const disabled = withResponse(response(403, 'application/json', { message: 'Basic Authentication has been disabled on this instance.' }));
  assert.equal(outcomeOf(disabled, dc), 'basic_auth_disabled');

  const forbidden = classify(withResponse(response(403, 'application/json', { errorMessages: ['You do not have the permission to see the specified user.'] }, { 'x-seraph-loginreason': 'AUTHORISATION_FAILED' })), dc);
  assert.equal(forbidden.outcome, 'forbidden');
  assert.match(forbidden.detail, /You do not have the permission/);
});

test('2xx: ok only with the expected identity; anonymous by header or by a body without identity', () => {
  const ok = classify(withResponse(response(200, 'application/json;charset=UTF-8', CLOUD_MYSELF, { 'x-aaccountid': CLOUD_MYSELF.accountId })), cloud);
  assert.deepEqual(ok, { outcome: 'ok', class: 'ok', detail: '200 as accountId 5b10ac8d82e05b22cc7d4ef5 (Salesforce Integration, integration@acme.com)' });
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', DC_MYSELF, { 'x-ausername': 'svc-sf' })), dc), 'ok');
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', CLOUD_MYSELF)), { ...cloud, expect: null }), 'ok');

  const anonymousHeader = classify(withResponse(response(200, 'application/json', DC_MYSELF, { 'x-ausername': 'anonymous' })), dc);
  assert.equal(anonymousHeader.outcome, 'anonymous');
  assert.match(anonymousHeader.detail, /X-AUSERNAME: anonymous/);

  // Expired Cloud token on an endpoint that allows anonymous access: 200 JSON, but AUTHENTICATED_FAILED wins over the body.
  const loginFailed = withResponse(response(200, 'application/json', CLOUD_MYSELF, { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' }));
  assert.equal(outcomeOf(loginFailed), 'anonymous');
  const both = withResponse(response(200, 'application/json', {}, { 'x-ausername': 'anonymous', 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' }));
  assert.equal(classify(both, cloud).detail, '200 with X-AUSERNAME: anonymous, X-Seraph-LoginReason: AUTHENTICATED_FAILED: the credentials were ignored and the request ran as anonymous');

  const noIdentity = classify(withResponse(response(200, 'application/json', { self: 'https://acme.atlassian.net/rest/api/3/serverInfo', version: '1001.0.0' })), cloud);
  assert.equal(noIdentity.outcome, 'anonymous');
  assert.match(noIdentity.detail, /without accountId, name or key/);
});

test('a 2xx that is not a JSON object is unexpected_response, not anonymous', () => {
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', '{"accountId": "5b1'))), 'unexpected_response');
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', '[]'))), 'unexpected_response');
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', 'null'))), 'unexpected_response');
  assert.equal(outcomeOf(withResponse(response(204, null, ''))), 'unexpected_response');
  const plain = classify(withResponse(response(200, 'text/plain', 'OK')), cloud);
  assert.equal(plain.outcome, 'unexpected_response');
  assert.equal(plain.detail, '200 text/plain: "OK"; expected a JSON object from /rest/api/3/myself');
});

test('identity_mismatch compares accountId exactly, username and email case-insensitively', () => {
  const other = { ...CLOUD_MYSELF, accountId: '557058:0c9a1a7b-0000-4b4c-9f0e-1a2b3c4d5e6f', emailAddress: 'jane@acme.com', displayName: 'Jane' };
  const mismatch = classify(withResponse(response(200, 'application/json', other)), cloud);
  assert.equal(mismatch.outcome, 'identity_mismatch');
  assert.equal(mismatch.detail, 'authenticated as accountId 557058:0c9a1a7b-0000-4b4c-9f0e-1a2b3c4d5e6f (Jane, jane@acme.com); expected accountId 5b10ac8d82e05b22cc7d4ef5');
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', { ...CLOUD_MYSELF, accountId: '5B10AC8D82E05B22CC7D4EF5' }))), 'identity_mismatch');

  assert.equal(outcomeOf(withResponse(response(200, 'application/json', { ...DC_MYSELF, name: 'SVC-SF' })), dc), 'ok');
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', { ...DC_MYSELF, name: 'jdoe' })), dc), 'identity_mismatch');

  const byEmail: ClassifyContext = { deployment: 'cloud', authType: 'basic', expect: { email: 'Integration@ACME.com' } };
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', CLOUD_MYSELF)), byEmail), 'ok');
  assert.equal(outcomeOf(withResponse(response(200, 'application/json', { ...CLOUD_MYSELF, emailAddress: 'other@acme.com' })), byEmail), 'identity_mismatch');
  // Cloud may hide the email: it can't be verified, and the detail says which accountId to expect instead.
  const hidden = classify(withResponse(response(200, 'application/json', { ...CLOUD_MYSELF, emailAddress: null })), byEmail);
  assert.equal(hidden.outcome, 'identity_mismatch');
  assert.match(hidden.detail, /does not disclose this account's email \(expect accountId 5b10ac8d82e05b22cc7d4ef5 instead\)/);

  // The identity the probe extracted is used when present.
  const extracted = withResponse(response(200, 'application/json', CLOUD_MYSELF), {
    identity: { accountId: 'someone-else', name: null, key: null, emailAddress: null, displayName: null, active: true },
  });
  assert.equal(outcomeOf(extracted), 'identity_mismatch');
});

test('2xx text/html is a login page, even with Atlassian headers that would otherwise mean anonymous', () => {
  const page = '<!DOCTYPE html><html><head><title>Sign in - Acme SSO</title></head><body>...</body></html>';
  const diagnosis = classify(withResponse(response(200, 'text/html; charset=utf-8', page, { 'x-ausername': 'anonymous' })), dc);
  assert.equal(diagnosis.outcome, 'login_page');
  assert.equal(diagnosis.detail, '200 text/html: "Sign in - Acme SSO" (X-AUSERNAME: anonymous)');
});

test('3xx is redirected with the Location, without its query string', () => {
  const sso = classify(withResponse(response(302, 'text/html', '', { location: 'https://idp.example/sso?SAMLRequest=abc&RelayState=xyz' })), dc);
  assert.deepEqual(sso, { outcome: 'redirected', class: 'auth', detail: '302 → https://idp.example/sso?…' });
  assert.equal(classify(withResponse(response(302, null, '', { location: '/login.jsp' })), dc).detail, '302 → https://acme.atlassian.net/login.jsp');
  assert.equal(classify(withResponse(response(301, null, '')), dc).detail, '301 without a Location header');
});

test('server-class answers: 429 with Retry-After and reason, 5xx, 404, and anything else', () => {
  const limited = classify(
    withResponse(response(429, 'application/json', { message: 'Rate limit exceeded' }, { 'retry-after': '30', 'ratelimit-reason': 'jira-burst-based' })),
    cloud,
  );
  assert.equal(limited.outcome, 'rate_limited');
  assert.equal(limited.class, 'server');
  assert.match(limited.detail, /Retry-After: 30, RateLimit-Reason: jira-burst-based/);

  const unavailable = classify(withResponse(response(503, 'text/html', '<html><head><title>503 Service Unavailable</title></head></html>', { 'retry-after': '120' })), dc);
  assert.equal(unavailable.outcome, 'server_error');
  assert.equal(unavailable.detail, '503 text/html: "503 Service Unavailable" (Retry-After: 120)');

  const missing = classify(withResponse(response(404, 'text/html', '<html><title>Oops, you\'ve found a dead link.</title></html>'), { url: 'https://jira.acme.internal/rest/api/2/myself' }), dc);
  assert.equal(missing.outcome, 'not_found');
  assert.match(missing.detail, /for \/rest\/api\/2\/myself$/);

  assert.equal(outcomeOf(withResponse(response(400, 'application/json', { errorMessages: ['bad'] }))), 'unexpected_response');
  assert.equal(outcomeOf(withResponse(response(407, 'text/html', ''))), 'unexpected_response');
  assert.equal(outcomeOf(withError('ERR_SOMETHING_NEW', 'something new')), 'unexpected_response');
  assert.equal(classify(observation(), cloud).outcome, 'unexpected_response');
});

test('details are one line and never contain the masked body beyond the first sentence', () => {
  const obs = withResponse(response(500, 'text/plain', 'Internal error.\nStack trace:\n  at com.atlassian...'));
  const diagnosis = classify(obs, dc);
  assert.equal(diagnosis.detail, '500 text/plain: "Internal error."');
  assert.ok(!diagnosis.detail.includes('\n'));
});

test('every outcome is reachable by some observation', () => {
  const reached = new Set<Outcome>();
  const samples: Array<[ProbeObservation, ClassifyContext]> = [
    [observation({ credential: { status: 'missing', problem: 'x', fingerprint: null, findings: [] } }), cloud],
    [observation({ credential: { status: 'malformed', problem: 'x', fingerprint: null, findings: [] } }), cloud],
    [withError('TLS_FILE_UNREADABLE', 'cannot read tls.caFile /etc/ca.pem (EACCES)'), cloud],
    [withError('ENOTFOUND', 'x'), cloud],
    [withError('ECONNREFUSED', 'x'), cloud],
    [withError('ETIMEDOUT', 'x', 'connect'), cloud],
    [withError('EPROTO', 'wrong version number'), cloud],
    [withError('CERT_HAS_EXPIRED', 'x'), cloud],
    [observation({ oauth: { ok: false, fromCache: false, httpStatus: 400, error: 'invalid_scope', expiresAt: null } }), cloud],
    [withResponse(response(401, 'text/plain', DEPRECATED_BODY)), cloud],
    [withResponse(response(401, 'application/json', { message: 'Unauthorized; scope does not match' })), cloud],
    [withResponse(response(401, 'application/json', { message: 'no' })), cloud],
    [withResponse(response(403, 'text/html', '', { 'x-seraph-loginreason': 'AUTHENTICATION_DENIED' })), dc],
    [withResponse(response(403, 'application/json', { message: 'Basic Authentication has been disabled on this instance.' })), dc],
    [withResponse(response(403, 'application/json', { message: 'no' })), dc],
    [withResponse(response(200, 'application/json', {})), cloud],
    [withResponse(response(200, 'application/json', { accountId: 'x' })), cloud],
    [withResponse(response(302, null, '', { location: 'https://idp' })), cloud],
    [withResponse(response(200, 'text/html', '<html></html>')), cloud],
    [withResponse(response(429, null, '')), cloud],
    [withResponse(response(502, null, '')), cloud],
    [withResponse(response(404, null, '')), cloud],
    [withResponse(response(418, null, '')), cloud],
    [withResponse(response(200, 'application/json', CLOUD_MYSELF)), cloud],
    ...PROXY_AND_CLIENT_CERT_SAMPLES.map((sample) => [sample, cloud] as [ProbeObservation, ClassifyContext]),
  ];
  for (const [obs, context] of samples) reached.add(classify(obs, context).outcome);
  assert.deepEqual([...reached].sort(), [...OUTCOMES].sort());
});

test('an OpenSSL handshake error is reduced to its reason and code', () => {
  assert.equal(
    openSslReason('80ACE962157F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70'),
    'tlsv1 alert protocol version',
  );
  assert.equal(openSslReason('connect ECONNREFUSED 127.0.0.1:1'), null);
});

test('with tls.serverName set, a name mismatch names the name checked; an unreadable tls.caFile is a local TLS problem', () => {
  const wrongHost = { ...VERIFIED_TLS, sans: ['DNS:127.0.0.1'], authorized: false, authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID' };
  const obs = withError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", null, { tls: wrongHost, url: 'https://127.0.0.1:8443/rest/api/2/myself' });
  assert.match(classify(obs, { ...dc, serverName: 'jira.acme.internal' }).detail, /^certificate is not valid for jira\.acme\.internal \(tls\.serverName\) \(it names DNS:127\.0\.0\.1\)/);
  const unreadable = classify(withError('TLS_FILE_UNREADABLE', 'cannot read tls.caFile /etc/authwatch/corp-ca.pem (EACCES)'), dc);
  assert.deepEqual(unreadable, { outcome: 'tls_file_unreadable', class: 'tls', detail: 'cannot read tls.caFile /etc/authwatch/corp-ca.pem (EACCES)' });
});
