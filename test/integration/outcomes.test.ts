// Every outcome of docs/outcomes.md reached the way it happens in production: a real probe over the network
// against the simulated Jira, then the classifier. One test per outcome, and a check that none is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProber } from '../../src/probe/prober.js';
import { classify } from '../../src/diagnosis/classify.js';
import { OUTCOMES, type Outcome } from '../../src/diagnosis/outcome-names.js';
import type { Connection } from '../../src/config/load.js';
import type { Diagnosis } from '../../src/diagnosis/types.js';
import type { JiraBehaviour, JiraDeployment, JiraMock } from '../support/jira-mock.js';
import { FINGERPRINT_KEY, closedPort, connectionFrom, secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { ConnectProxy, type ConnectProxyOptions } from '../../src/demo/connect-proxy.js';

let fixture: JiraFixture;
const reached = new Set<Outcome>();

before(async () => {
  fixture = await startJiraFixture();
});
after(async () => {
  await fixture.close();
});

async function probeAndClassify(connection: Connection, env: Record<string, string> = {}): Promise<Diagnosis> {
  const prober = createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env });
  try {
    const observation = await prober.probe();
    const diagnosis = classify(observation, { deployment: connection.deployment, authType: connection.auth.type, expect: connection.expect });
    reached.add(diagnosis.outcome);
    return diagnosis;
  } finally {
    prober.close();
  }
}

interface LoginOptions {
  deployment: JiraDeployment;
  behaviour?: JiraBehaviour;
  server?: JiraMock;
  /** Replace the real secret (a wrong token / password). */
  secret?: string;
  expect?: Record<string, string>;
  path?: string;
  timeout?: string;
}

/** Logs in to a fresh tenant with basic auth (Cloud: email + API token, DC: username + password). */
async function basicLogin(options: LoginOptions): Promise<{ diagnosis: Diagnosis; tenant: string; server: JiraMock }> {
  const server = options.server ?? fixture.jira;
  const tenant = fixture.tenant({ deployment: options.deployment, behaviour: options.behaviour }, server);
  const { user, credentials } = server.tenant(tenant);
  const cloud = options.deployment === 'cloud';
  const { env, ref } = secretEnv(options.secret ?? (cloud ? credentials.apiToken : credentials.password));
  const connection = connectionFrom({
    url: server.tenantUrl(tenant),
    deployment: options.deployment,
    ...(options.path ? { path: options.path } : {}),
    ...(options.expect ? { expect: options.expect } : {}),
    timeout: options.timeout ?? '3s',
    auth: { type: 'basic', username: cloud ? user.emailAddress : user.name, secret: ref },
    tls: { caFile: fixture.pki.caFile },
  });
  return { diagnosis: await probeAndClassify(connection, env), tenant, server };
}

function assertOutcome(diagnosis: Diagnosis, outcome: Outcome, detail?: RegExp): void {
  assert.equal(diagnosis.outcome, outcome, `got ${diagnosis.outcome}: ${diagnosis.detail}`);
  if (detail) assert.match(diagnosis.detail, detail);
}

test('ok: Cloud email + API token as the expected account', async () => {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const { accountId } = fixture.jira.tenant(tenant).user;
  const { env, ref } = secretEnv(fixture.jira.tenant(tenant).credentials.apiToken);
  const connection = connectionFrom({
    url: fixture.jira.tenantUrl(tenant),
    deployment: 'cloud',
    expect: { accountId },
    auth: { type: 'basic', username: fixture.jira.tenant(tenant).user.emailAddress, secret: ref },
    tls: { caFile: fixture.pki.caFile },
  });
  assertOutcome(await probeAndClassify(connection, env), 'ok', new RegExp(accountId));
});

test('credential_missing: the environment variable is not set', async () => {
  const connection = connectionFrom({
    url: fixture.jira.baseUrl,
    deployment: 'cloud',
    auth: { type: 'basic', username: 'a@b.c', secret: { env: 'AUTHWATCH_TEST_NOT_SET' } },
  });
  assertOutcome(await probeAndClassify(connection), 'credential_missing', /AUTHWATCH_TEST_NOT_SET/);
});

test('credential_malformed: a carriage return at the end of the stored token', async () => {
  const { diagnosis, tenant, server } = await basicLogin({ deployment: 'cloud', secret: 'ATATT3xFfGF0abcdef\r' });
  assertOutcome(diagnosis, 'credential_malformed', /carriage return/);
  assert.deepEqual(server.requests(tenant), []);
});

test('tls_file_unreadable: the tls.caFile does not exist (a local problem, not unexpected_response)', async () => {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const connection = connectionFrom({
    url: fixture.jira.tenantUrl(tenant),
    deployment: 'cloud',
    auth: { type: 'basic', username: 'a@b.c', secret: 'literal-token' },
    tls: { caFile: '/nonexistent/corp-ca.pem' },
  });
  const diagnosis = await probeAndClassify(connection);
  assertOutcome(diagnosis, 'tls_file_unreadable', /^cannot read tls\.caFile \/nonexistent\/corp-ca\.pem \(ENOENT\)$/);
  assert.equal(diagnosis.class, 'tls');
  assert.deepEqual(fixture.jira.requests(tenant), [], 'nothing was sent');
});

test('dns_error: the host name does not resolve', async () => {
  const connection = connectionFrom({
    url: 'https://does-not-exist.invalid',
    deployment: 'cloud',
    auth: { type: 'basic', username: 'a@b.c', secret: 'literal-token' },
  });
  assertOutcome(await probeAndClassify(connection), 'dns_error');
});

test('connect_error: nothing listens on the port', async () => {
  const connection = connectionFrom({
    url: `https://127.0.0.1:${await closedPort()}`,
    deployment: 'datacenter',
    auth: { type: 'bearer', secret: 'literal-token' },
  });
  assertOutcome(await probeAndClassify(connection), 'connect_error', /ECONNREFUSED/);
});

test('timeout: the server accepts the request and never answers', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', behaviour: 'hang', timeout: '300ms' });
  assertOutcome(diagnosis, 'timeout', /first_byte/);
});

test('tls_handshake_failed: the server only speaks TLS 1.0/1.1', async () => {
  const legacy = await fixture.serve(fixture.pki.good, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', server: legacy });
  assertOutcome(diagnosis, 'tls_handshake_failed');
});

test('tls_cert_invalid: the certificate expired', async () => {
  const expired = await fixture.serve(fixture.pki.expired);
  const { diagnosis, tenant } = await basicLogin({ deployment: 'cloud', server: expired });
  assertOutcome(diagnosis, 'tls_cert_invalid', /2020-02-01.*CERT_HAS_EXPIRED/);
  assert.deepEqual(expired.requests(tenant), []);
});

test('oauth_token_error: the token endpoint refuses the client', async () => {
  const jira = fixture.jira;
  const tenant = fixture.tenant({ deployment: 'cloud', behaviour: 'oauth-refuses' });
  const { oauth } = jira.tenant(tenant).credentials;
  const { env, ref } = secretEnv(oauth.clientSecret);
  const connection = connectionFrom({
    url: jira.tenantUrl(tenant),
    deployment: 'cloud',
    auth: { type: 'oauth2', tokenUrl: `${jira.tenantUrl(tenant)}/oauth/token`, clientId: oauth.clientId, clientSecret: ref },
    tls: { caFile: fixture.pki.caFile },
  });
  assertOutcome(await probeAndClassify(connection, env), 'oauth_token_error', /401.*invalid_client/);
});

test('basic_auth_rejected: Cloud answers a revoked API token with the deprecation text', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', secret: 'ATATT3xFfGF0revokedtoken=ABCD1234' });
  assertOutcome(diagnosis, 'basic_auth_rejected', /401 text\/plain/);
});

test('scope_mismatch: a scoped token without the needed scope', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', behaviour: 'scope-mismatch' });
  assertOutcome(diagnosis, 'scope_mismatch');
});

test('auth_rejected: a wrong Data Center password', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', secret: 'not-the-password' });
  assertOutcome(diagnosis, 'auth_rejected', /AUTHENTICATED_FAILED/);
});

test('captcha_required: after three wrong passwords even the right one is locked out', async () => {
  const jira = fixture.jira;
  const tenant = fixture.tenant({ deployment: 'datacenter' });
  const { user, credentials } = jira.tenant(tenant);
  const login = async (password: string) => {
    const { env, ref } = secretEnv(password);
    const connection = connectionFrom({
      url: jira.tenantUrl(tenant),
      deployment: 'datacenter',
      auth: { type: 'basic', username: user.name, secret: ref },
      tls: { caFile: fixture.pki.caFile },
    });
    return probeAndClassify(connection, env);
  };
  for (let attempt = 0; attempt < 3; attempt++) assertOutcome(await login('wrong'), 'auth_rejected');
  assertOutcome(await login(credentials.password), 'captcha_required', /CAPTCHA_CHALLENGE/);
  jira.resetLockout(tenant);
  assertOutcome(await login(credentials.password), 'ok');
});

test('basic_auth_disabled: an admin switched basic auth off', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', behaviour: 'basic-auth-disabled' });
  assertOutcome(diagnosis, 'basic_auth_disabled');
});

test('forbidden: another 403', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', behaviour: 'forbidden' });
  assertOutcome(diagnosis, 'forbidden');
});

test('anonymous: an expired Cloud token ran as anonymous (200 + AUTHENTICATED_FAILED)', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', behaviour: 'expired-token-anonymous' });
  assertOutcome(diagnosis, 'anonymous', /AUTHENTICATED_FAILED/);
});

test('anonymous: Data Center answered as X-AUSERNAME anonymous', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', behaviour: 'anonymous-dc' });
  assertOutcome(diagnosis, 'anonymous', /X-AUSERNAME: anonymous/);
});

test('identity_mismatch: authenticated as someone else than expected', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', behaviour: 'wrong-identity', expect: { username: 'svc-integration' } });
  assertOutcome(diagnosis, 'identity_mismatch', /jdoe/);
});

test('redirected: SSO sends the probe to login.jsp', async () => {
  const { diagnosis, tenant, server } = await basicLogin({ deployment: 'datacenter', behaviour: 'sso-redirect' });
  assertOutcome(diagnosis, 'redirected', /login\.jsp/);
  assert.equal(server.requests(tenant).length, 1);
});

test('login_page: an SSO proxy answers 200 with an HTML login form', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', behaviour: 'login-page' });
  assertOutcome(diagnosis, 'login_page');
});

test('rate_limited: 429 with Retry-After and RateLimit-Reason', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', behaviour: 'rate-limited' });
  assertOutcome(diagnosis, 'rate_limited', /Retry-After: 30.*RateLimit-Reason: jira-quota-tenant-based/);
});

test('server_error: Cloud 503 with Retry-After', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', behaviour: 'server-error' });
  assertOutcome(diagnosis, 'server_error', /503/);
});

test('not_found: a Data Center base URL missing its context path', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', path: '/jira/rest/api/2/myself' });
  assertOutcome(diagnosis, 'not_found', /404/);
});

test('unexpected_response: 200 application/json that does not parse', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'cloud', behaviour: 'malformed-json' });
  assertOutcome(diagnosis, 'unexpected_response');
});

test('unexpected_response: a 418', async () => {
  const { diagnosis } = await basicLogin({ deployment: 'datacenter', behaviour: 'teapot' });
  assertOutcome(diagnosis, 'unexpected_response', /418/);
});

/** A Data Center PAT probe of a fresh tenant, with extra connection settings (proxy, tls). */
async function patProbe(extra: Record<string, unknown>, server: JiraMock = fixture.jira): Promise<Diagnosis> {
  const tenant = fixture.tenant({ deployment: 'datacenter' }, server);
  const { env, ref } = secretEnv(server.tenant(tenant).credentials.pat);
  const { tls, ...rest } = extra as { tls?: Record<string, unknown> };
  const connection = connectionFrom({
    url: server.tenantUrl(tenant), timeout: '3s', auth: { type: 'bearer', secret: ref }, tls: { caFile: fixture.pki.caFile, ...tls }, ...rest,
  });
  return probeAndClassify(connection, env);
}

async function withProxy<T>(options: ConnectProxyOptions, use: (url: string) => Promise<T>): Promise<T> {
  const proxy = new ConnectProxy(options);
  try {
    return await use(await proxy.start());
  } finally {
    await proxy.stop();
  }
}

test('proxy_unreachable: the configured proxy does not listen', async () => {
  const port = await closedPort();
  assertOutcome(await patProbe({ proxy: { url: `http://127.0.0.1:${port}` } }), 'proxy_unreachable', /ECONNREFUSED/);
});

test('proxy_auth_required: the proxy answers CONNECT with 407', async () => {
  const diagnosis = await withProxy({ auth: { username: 'u', password: 'p' } }, (url) => patProbe({ proxy: { url } }));
  assertOutcome(diagnosis, 'proxy_auth_required', /407/);
});

test('proxy_tunnel_failed: the proxy answers CONNECT with a 403 block page', async () => {
  const diagnosis = await withProxy({ allowedPorts: [1] }, (url) => patProbe({ proxy: { url } }));
  assertOutcome(diagnosis, 'proxy_tunnel_failed', /403 text\/html block page: "Blocked by company policy"/);
});

test('tls_intercepted: the proxy presents its own certificate inside the tunnel', async () => {
  const { key, cert } = fixture.pki.selfSigned;
  const diagnosis = await withProxy({ intercept: { key, cert } }, (url) => patProbe({ proxy: { url } }));
  assertOutcome(diagnosis, 'tls_intercepted', /^intercepted by O=authwatch, CN=localhost: /);
});

test('client_cert_required: mutual TLS without a client certificate', async () => {
  const server = await fixture.serve(fixture.pki.good, { clientCa: fixture.pki.ca.cert });
  assertOutcome(await patProbe({}, server), 'client_cert_required', /certificate_required/);
});

test('client_cert_rejected: mutual TLS with an expired client certificate', async () => {
  const server = await fixture.serve(fixture.pki.good, { clientCa: fixture.pki.ca.cert });
  const expired = await fixture.pki.issue({ name: 'outcomes-client-expired', client: true, commonName: 'svc', notBefore: new Date(Date.UTC(2020, 0, 1)), notAfter: new Date(Date.UTC(2020, 1, 1)) });
  assertOutcome(await patProbe({ tls: { certFile: expired.certFile, keyFile: expired.keyFile } }, server), 'client_cert_rejected', /it expired on 2020-02-01/);
});

test('every outcome of the closed list was reached through the network path', () => {
  assert.deepEqual([...reached].sort(), [...OUTCOMES].sort());
});
