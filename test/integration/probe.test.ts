// The probe against the simulated Jira over real HTTPS with certificates made by openssl at test time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHmac, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify } from '../../src/diagnosis/classify.js';
import { createProber } from '../../src/probe/prober.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import type { JiraMock } from '../support/jira-mock.js';
import { basicAuthorization } from '../../src/probe/credentials.js';
import { subjectAltNames, certificateDate } from '../../src/probe/tls.js';
import { tokenUsable } from '../../src/probe/oauth.js';
import { newChainExpiryCache, readTlsDetails } from '../../src/probe/tls-verify.js';
import { FINGERPRINT_KEY, closedPort, connectionFrom, secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';

let fixture: JiraFixture;
let jira: JiraMock;

before(async () => {
  fixture = await startJiraFixture();
  jira = fixture.jira;
});
after(async () => {
  await fixture.close();
});

/** A Cloud tenant on `server` and a prober that logs in with its email + API token, trusting the test CA. */
function cloudProbe(server: JiraMock = jira, tls: Record<string, unknown> = {}) {
  const tenant = fixture.tenant({ deployment: 'cloud' }, server);
  const { user, credentials } = server.tenant(tenant);
  const { env, ref } = secretEnv(credentials.apiToken);
  const connection = connectionFrom({
    url: server.tenantUrl(tenant),
    deployment: 'cloud',
    timeout: '2s',
    auth: { type: 'basic', username: user.emailAddress, secret: ref },
    tls: { caFile: fixture.pki.caFile, ...tls },
  });
  return { tenant, connection, prober: createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env }), token: credentials.apiToken };
}

function dcProbe(behaviour: Parameters<JiraMock['setBehaviour']>[1] = 'normal', timeout = '2s') {
  const tenant = fixture.tenant({ deployment: 'datacenter', behaviour });
  const { user, credentials } = jira.tenant(tenant);
  const { env, ref } = secretEnv(credentials.password);
  const connection = connectionFrom({
    url: jira.tenantUrl(tenant),
    deployment: 'datacenter',
    timeout,
    auth: { type: 'basic', username: user.name, secret: ref },
    tls: { caFile: fixture.pki.caFile },
  });
  return { tenant, connection, prober: createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env }) };
}

function assertNoSecretIn(observation: ProbeObservation, secret: string): void {
  assert.ok(!JSON.stringify(observation).includes(secret), 'the observation contains the secret');
}

describe('a good server', () => {
  test('records status, identity, Atlassian headers, timings and the TLS details of the leaf', async () => {
    const { tenant, prober, token } = cloudProbe();
    const observation = await prober.probe();
    const { user } = jira.tenant(tenant);
    const leaf = new X509Certificate(fixture.pki.good.cert);

    assert.equal(observation.error, null);
    assert.equal(observation.http?.status, 200);
    assert.match(observation.http?.contentType ?? '', /^application\/json/);
    assert.equal(observation.http?.headers['x-aaccountid'], user.accountId);
    assert.match(observation.http?.headers['atl-traceid'] ?? '', /^[0-9a-f]{32}$/);
    assert.equal(observation.http?.headers['content-type'], undefined, 'only the diagnostic headers are kept');
    assert.deepEqual(observation.identity, {
      accountId: user.accountId, name: null, key: null, emailAddress: user.emailAddress, displayName: user.displayName, active: true,
    });

    const tls = observation.tls!;
    assert.equal(tls.authorized, true);
    assert.equal(tls.authorizationError, null);
    assert.equal(tls.protocol, 'TLSv1.3');
    assert.match(tls.cipher ?? '', /^TLS_(AES|CHACHA20)_/);
    assert.equal(tls.fingerprint256, leaf.fingerprint256);
    assert.equal(tls.serial, leaf.serialNumber.toUpperCase());
    assert.equal(tls.notAfter, new Date(leaf.validTo).toISOString());
    assert.equal(tls.subject, 'O=authwatch, CN=localhost');
    assert.equal(tls.issuer, 'O=authwatch, CN=authwatch test CA');
    assert.deepEqual(tls.sans, ['DNS:localhost', 'IP:127.0.0.1']);
    assert.ok(tls.chainEarliestNotAfter! <= tls.notAfter!);

    for (const phase of ['dns', 'connect', 'tls', 'request', 'first_byte', 'download', 'total'] as const) {
      assert.equal(typeof observation.timings[phase], 'number', `timing ${phase}`);
      assert.ok(observation.timings[phase]! >= 0);
    }
    assert.equal(
      observation.credential.fingerprint,
      createHmac('sha256', FINGERPRINT_KEY).update(token).digest('hex').slice(0, 16),
    );
    assert.deepEqual(
      jira.requests(tenant).map((request) => [request.method, request.path, request.authorization, request.credential]),
      [['GET', '/rest/api/3/myself', 'basic', 'api-token']],
    );
    assertNoSecretIn(observation, token);
  });

  test('every probe opens a fresh connection and sees the full handshake (no keep-alive, no session reuse)', async () => {
    const { prober } = cloudProbe();
    const before = jira.connectionCount;
    const first = await prober.probe();
    const second = await prober.probe();
    assert.equal(jira.connectionCount - before, 2);
    assert.equal(second.tls?.fingerprint256, first.tls?.fingerprint256);
    assert.ok(second.tls?.fingerprint256, 'the peer certificate is visible on the second probe too');
  });

  test('a wrong token is answered, not thrown: 401 text/plain with the body text and no secret in the observation', async () => {
    const { tenant, prober, token } = cloudProbe();
    jira.setCredentials(tenant, { apiToken: 'ATATT3xFfGF0rotated' });
    const observation = await prober.probe();
    assert.equal(observation.http?.status, 401);
    assert.equal(observation.http?.contentType, 'text/plain');
    assert.match(observation.http?.message ?? '', /^Basic authentication with passwords is deprecated\. {2}For more information/);
    assert.equal(observation.identity, null);
    assert.equal(jira.requests(tenant)[0].credential, 'invalid');
    assertNoSecretIn(observation, token);
  });

  test('plain http to loopback works without TLS details', async () => {
    const server = await fixture.startServer(null);
    const tenant = fixture.tenant({ deployment: 'datacenter' }, server);
    const { credentials } = server.tenant(tenant);
    const { env, ref } = secretEnv(credentials.pat);
    const connection = connectionFrom({ url: server.tenantUrl(tenant), deployment: 'datacenter', auth: { type: 'bearer', secret: ref } });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env }).probe();
    assert.equal(observation.http?.status, 200);
    assert.equal(observation.http?.headers['x-ausername'], 'svc-integration');
    assert.equal(observation.identity?.name, 'svc-integration');
    assert.equal(observation.tls, null);
    assert.equal(observation.timings.tls, null);
    assert.equal(server.requests(tenant)[0].credential, 'pat');
  });
});

describe('certificates that fail verification: details captured, credentials never sent', () => {
  const cases = [
    { name: 'expired', pair: () => fixture.pki.expired, code: 'CERT_HAS_EXPIRED' },
    { name: 'self-signed', pair: () => fixture.pki.selfSigned, code: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    { name: 'wrong host', pair: () => fixture.pki.wrongHost, code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  ];
  for (const { name, pair, code } of cases) {
    test(name, async () => {
      const server = await fixture.serve(pair());
      const { tenant, prober } = cloudProbe(server);
      const observation = await prober.probe();
      const leaf = new X509Certificate(pair().cert);
      assert.equal(observation.error?.code, code);
      assert.equal(observation.http, null);
      assert.equal(observation.tls?.authorized, false);
      assert.equal(observation.tls?.authorizationError, code);
      assert.equal(observation.tls?.fingerprint256, leaf.fingerprint256);
      assert.equal(observation.tls?.notAfter, new Date(leaf.validTo).toISOString());
      assert.ok(observation.timings.tls !== null, 'the handshake itself completed');
      assert.equal(observation.timings.request, null);
      assert.deepEqual(server.requests(tenant), [], 'not one request reached the server');
    });
  }

  test('an expired leaf shows its past notAfter', async () => {
    const server = await fixture.serve(fixture.pki.expired);
    const observation = await cloudProbe(server).prober.probe();
    assert.equal(observation.tls?.notAfter, '2020-02-01T00:00:00.000Z');
  });

  test('without the CA file the test CA is untrusted', async () => {
    const tenant = fixture.tenant({ deployment: 'cloud' });
    const connection = connectionFrom({
      url: jira.tenantUrl(tenant),
      deployment: 'cloud',
      auth: { type: 'basic', username: 'a@b.c', secret: 'literal-token' },
    });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env: {} }).probe();
    assert.equal(observation.error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.deepEqual(jira.requests(tenant), []);
  });

  test('tls.serverName is the name verified: the wrong-host certificate passes for wrong.example', async () => {
    const server = await fixture.serve(fixture.pki.wrongHost);
    const { tenant, prober } = cloudProbe(server, { serverName: 'wrong.example' });
    const observation = await prober.probe();
    assert.equal(observation.error, null);
    assert.equal(observation.tls?.authorized, true);
    assert.equal(observation.http?.status, 200);
    assert.equal(server.requests(tenant).length, 1);
  });
});

test('with tls.serverName set, a name mismatch names the name that was checked, not the URL host', async () => {
  const server = await fixture.serve(fixture.pki.good);
  const { prober } = cloudProbe(server, { serverName: 'jira.acme.example' });
  const observation = await prober.probe();
  assert.equal(observation.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  const diagnosis = classify(observation, { deployment: 'cloud', authType: 'basic', expect: null, serverName: 'jira.acme.example' });
  assert.equal(diagnosis.outcome, 'tls_cert_invalid');
  assert.match(diagnosis.detail, /^certificate is not valid for jira\.acme\.example \(tls\.serverName\) \(it names .*127\.0\.0\.1/);
  assert.doesNotMatch(diagnosis.detail, /not valid for 127\.0\.0\.1/);
});

describe('TLS versions', () => {
  test('a TLS 1.0/1.1-only server fails the handshake of a default (TLS 1.2+) probe', async () => {
    const server = await fixture.serve(fixture.pki.good, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const { tenant, prober } = cloudProbe(server);
    const observation = await prober.probe();
    assert.match(observation.error?.code ?? '', /^(ERR_SSL_|EPROTO)/);
    assert.equal(observation.error?.phase, null);
    assert.equal(observation.http, null);
    assert.equal(observation.tls, null);
    assert.deepEqual(server.requests(tenant), []);
  });

  test('a connection configured like an old client (maxVersion TLSv1.1) gets through and records the version', async () => {
    const server = await fixture.serve(fixture.pki.good, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const { prober } = cloudProbe(server, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    const observation = await prober.probe();
    assert.equal(observation.error, null);
    assert.equal(observation.tls?.protocol, 'TLSv1.1');
    assert.equal(observation.http?.status, 200);
  });

  test('a client minVersion above what the server speaks fails the handshake', async () => {
    const server = await fixture.serve(fixture.pki.good, { maxVersion: 'TLSv1.2' });
    const { tenant, prober } = cloudProbe(server, { minVersion: 'TLSv1.3' });
    const observation = await prober.probe();
    assert.match(observation.error?.code ?? '', /^(ERR_SSL_|EPROTO)/);
    assert.deepEqual(server.requests(tenant), []);
  });
});

describe('HTTP behaviour', () => {
  test('a 302 is an answer, not followed: one request to the original path, Location recorded', async () => {
    const { tenant, prober } = dcProbe('sso-redirect');
    const observation = await prober.probe();
    assert.equal(observation.http?.status, 302);
    assert.equal(observation.http?.headers.location, `${jira.tenantUrl(tenant)}/login.jsp?os_destination=%2Frest%2Fapi%2F2%2Fmyself`);
    assert.deepEqual(jira.requests(tenant).map((request) => request.path), ['/rest/api/2/myself']);
  });

  test('a redirect loop is one request too', async () => {
    const { tenant, prober } = dcProbe('redirect-loop');
    const observation = await prober.probe();
    assert.equal(observation.http?.status, 302);
    assert.equal(jira.requests(tenant).length, 1);
  });

  test('a server that never answers times out in the response phase', async () => {
    const { prober } = dcProbe('hang', '300ms');
    const observation = await prober.probe();
    assert.equal(observation.error?.code, 'ETIMEDOUT');
    assert.equal(observation.error?.phase, 'response');
    assert.equal(observation.http, null);
    assert.ok(observation.timings.tls !== null && observation.timings.first_byte === null);
  });

  test('a body that trickles forever times out in the read phase, keeping the status', async () => {
    const { prober } = dcProbe('slow-body', '300ms');
    const observation = await prober.probe();
    assert.equal(observation.error?.code, 'ETIMEDOUT');
    assert.equal(observation.error?.phase, 'read');
    assert.equal(observation.http?.status, 200);
  });

  test('a huge body is read to 1 MiB and no further', async () => {
    const { tenant, prober } = dcProbe('huge-body');
    const observation = await prober.probe();
    assert.equal(observation.error, null);
    assert.equal(observation.http?.status, 200);
    assert.equal(observation.http?.bodyTruncated, true);
    assert.equal(observation.http?.bodyBytes, 1024 * 1024);
    assert.equal(observation.http?.message.length, 500);
    assert.equal(observation.http?.json, undefined);
    // The server writes only as fast as the client reads: far less than the 64 MiB body left it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [record] = jira.requests(tenant);
    assert.equal(record.completed, false);
    assert.ok(record.bodyBytesSent < 32 * 1024 * 1024, `the client accepted ${record.bodyBytesSent} bytes`);
  });
});

describe('network errors', () => {
  test('a name that does not resolve', async () => {
    const connection = connectionFrom({
      url: 'https://does-not-exist.invalid',
      deployment: 'cloud',
      auth: { type: 'basic', username: 'a@b.c', secret: 'literal-token' },
    });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env: {} }).probe();
    assert.match(observation.error?.code ?? '', /^(ENOTFOUND|EAI_AGAIN)$/);
    assert.equal(observation.timings.connect, null);
  });

  test('a closed port is refused', async () => {
    const port = await closedPort();
    const connection = connectionFrom({
      url: `https://127.0.0.1:${port}`,
      deployment: 'datacenter',
      auth: { type: 'bearer', secret: 'literal-token' },
    });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env: {} }).probe();
    assert.equal(observation.error?.code, 'ECONNREFUSED');
    assert.equal(observation.tls, null);
  });
});

describe('oauth2 client credentials', () => {
  function oauthProbe(now?: () => Date, ttl = 3600) {
    const tenant = fixture.tenant({ deployment: 'cloud', credentials: { oauth: { tokenTtlSeconds: ttl } } });
    const { oauth } = jira.tenant(tenant).credentials;
    const { env, ref } = secretEnv(oauth.clientSecret);
    const connection = connectionFrom({
      url: jira.tenantUrl(tenant),
      deployment: 'cloud',
      auth: { type: 'oauth2', tokenUrl: `${jira.tenantUrl(tenant)}/oauth/token`, clientId: oauth.clientId, clientSecret: ref },
      tls: { caFile: fixture.pki.caFile },
    });
    return { tenant, secret: oauth.clientSecret, prober: createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env, now }) };
  }
  const tokenRequests = (tenant: string) => jira.requests(tenant).filter((request) => request.endpoint === 'oauth-token');

  test('the token is fetched once and reused across probes', async () => {
    const { tenant, prober, secret } = oauthProbe();
    const first = await prober.probe();
    const second = await prober.probe();
    assert.equal(first.http?.status, 200);
    assert.equal(second.http?.status, 200);
    assert.deepEqual([first.oauth?.fromCache, second.oauth?.fromCache], [false, true]);
    assert.equal(first.oauth?.httpStatus, 200);
    assert.equal(tokenRequests(tenant).length, 1);
    assert.equal(tokenRequests(tenant)[0].credential, 'client-secret');
    assert.deepEqual(jira.requests(tenant).filter((request) => request.endpoint === 'myself').map((request) => request.credential), ['access-token', 'access-token']);
    assert.equal(first.credential.fingerprint, createHmac('sha256', FINGERPRINT_KEY).update(secret).digest('hex').slice(0, 16));
    assertNoSecretIn(first, secret);
  });

  test('a token about to expire is replaced', async () => {
    let clock = Date.now();
    const { tenant, prober } = oauthProbe(() => new Date(clock), 3600);
    await prober.probe();
    clock += 3600_000 - 30_000; // within the last minute of its life
    const later = await prober.probe();
    assert.equal(later.oauth?.fromCache, false);
    assert.equal(tokenRequests(tenant).length, 2);
  });

  test('a token Jira refuses is not reused', async () => {
    const { tenant, prober } = oauthProbe();
    await prober.probe();
    jira.revokeAccessTokens(tenant);
    const refused = await prober.probe();
    assert.equal(refused.http?.status, 401);
    const again = await prober.probe();
    assert.equal(again.oauth?.fromCache, false);
    assert.equal(again.http?.status, 200);
  });

  test('a refused client is an oauth result and Jira is never asked', async () => {
    const { tenant, prober } = oauthProbe();
    jira.setBehaviour(tenant, 'oauth-refuses');
    const observation = await prober.probe();
    assert.deepEqual(observation.oauth, { ok: false, fromCache: false, httpStatus: 401, error: 'invalid_client: Unauthorized', expiresAt: null });
    assert.equal(observation.http, null);
    assert.equal(observation.error, null);
    assert.deepEqual(jira.requests(tenant).map((request) => request.endpoint), ['oauth-token']);
  });
});

describe('credentials that stop the probe before any network I/O', () => {
  async function assertNothingSent(observation: ProbeObservation, tenant: string, connectionsBefore: number) {
    assert.deepEqual(jira.requests(tenant), []);
    assert.equal(jira.connectionCount, connectionsBefore);
    assert.equal(observation.http, null);
    assert.equal(observation.tls, null);
    assert.equal(observation.timings.dns, null);
  }

  test('an unset environment variable is missing', async () => {
    const tenant = fixture.tenant({ deployment: 'cloud' });
    const before = jira.connectionCount;
    const connection = connectionFrom({
      url: jira.tenantUrl(tenant),
      deployment: 'cloud',
      auth: { type: 'basic', username: 'a@b.c', secret: { env: 'AUTHWATCH_TEST_UNSET' } },
      tls: { caFile: fixture.pki.caFile },
    });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env: {} }).probe();
    assert.deepEqual(observation.credential, {
      status: 'missing', problem: 'environment variable AUTHWATCH_TEST_UNSET is not set', fingerprint: null, findings: [],
    });
    await assertNothingSent(observation, tenant, before);
  });

  test('a token with a trailing newline inside the variable is malformed', async () => {
    const tenant = fixture.tenant({ deployment: 'cloud' });
    const before = jira.connectionCount;
    const { env, ref } = secretEnv(`${jira.tenant(tenant).credentials.apiToken}\n`);
    const connection = connectionFrom({
      url: jira.tenantUrl(tenant),
      deployment: 'cloud',
      auth: { type: 'basic', username: 'a@b.c', secret: ref },
      tls: { caFile: fixture.pki.caFile },
    });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env }).probe();
    assert.equal(observation.credential.status, 'malformed');
    assert.match(observation.credential.problem ?? '', /newline at the end/);
    await assertNothingSent(observation, tenant, before);
  });

  test('a header value made with `echo` (trailing newline encoded) fails the lint and is not sent', async () => {
    const tenant = fixture.tenant({ deployment: 'cloud' });
    const before = jira.connectionCount;
    const { user, credentials } = jira.tenant(tenant);
    const echoed = `Basic ${Buffer.from(`${user.emailAddress}:${credentials.apiToken}\n`).toString('base64')}`;
    const { env, ref } = secretEnv(echoed);
    const connection = connectionFrom({
      url: jira.tenantUrl(tenant),
      deployment: 'cloud',
      auth: { type: 'header', secret: ref },
      tls: { caFile: fixture.pki.caFile },
    });
    const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env }).probe();
    assert.equal(observation.credential.status, 'malformed');
    assert.ok(observation.credential.findings.includes('trailing_newline'), observation.credential.findings.join());
    assert.ok(observation.credential.fingerprint, 'the header value is still fingerprinted');
    assertNoSecretIn(observation, credentials.apiToken);
    await assertNothingSent(observation, tenant, before);
  });

  test('a good header value (with its one space after the scheme) is sent as-is', async () => {
    const tenant = fixture.tenant({ deployment: 'cloud' });
    const { user, credentials } = jira.tenant(tenant);
    const dir = mkdtempSync(join(tmpdir(), 'authwatch-probe-'));
    try {
      const file = join(dir, 'header');
      writeFileSync(file, `${basicAuthorization(user.emailAddress, credentials.apiToken)}\n`);
      const connection = connectionFrom({
        url: jira.tenantUrl(tenant),
        deployment: 'cloud',
        auth: { type: 'header', secret: { file } },
        tls: { caFile: fixture.pki.caFile },
      });
      const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env: {} }).probe();
      assert.equal(observation.credential.status, 'ok');
      assert.equal(observation.http?.status, 200);
      assert.equal(jira.requests(tenant)[0].credential, 'api-token');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pure TLS getters', () => {
  test('subjectAltNames normalises IP Address and keeps quoted commas', () => {
    assert.deepEqual(subjectAltNames('DNS:localhost, IP Address:127.0.0.1, DNS:"a,b.example"'), ['DNS:localhost', 'IP:127.0.0.1', 'DNS:a,b.example']);
    assert.deepEqual(subjectAltNames(undefined), []);
  });
  test('certificateDate reads OpenSSL dates', () => {
    assert.equal(certificateDate('Feb  1 00:00:00 2020 GMT'), '2020-02-01T00:00:00.000Z');
    assert.equal(certificateDate('garbage'), null);
  });
  test('tokenUsable refreshes a minute early, and never reuses a token of another client secret', () => {
    const token = { value: 't', obtainedAtMs: 0, expiresAtMs: 3_600_000, secretFingerprint: 'f1' };
    assert.equal(tokenUsable(token, 'f1', 3_539_999), true);
    assert.equal(tokenUsable(token, 'f1', 3_540_000), false);
    assert.equal(tokenUsable(token, 'f2', 0), false);
    assert.equal(tokenUsable({ ...token, expiresAtMs: null }, 'f1', 0), false);
  });
});

/** What Node's own verification (rejectUnauthorized, its checkServerIdentity on the detailed chain) says of the name. */
function nodeVerdict(server: JiraMock, serverName: string): Promise<string> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), servername: net.isIP(serverName) ? undefined : serverName, ca: [readFileSync(fixture.pki.caFile, 'utf8')] });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('ok');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(error.code ?? error.message);
    });
  });
}

describe('the name is verified as Node verifies it, on the leaf alone, before any credential is sent', () => {
  const cases: { name: string; issue: { commonName?: string; sans: string[] }; serverName: string; verdict: string }[] = [
    { name: 'an IP address matches an IP SAN', issue: { sans: ['IP:127.0.0.1'] }, serverName: '127.0.0.1', verdict: 'ok' },
    { name: 'an IP address never matches a DNS SAN or the CN', issue: { commonName: '127.0.0.1', sans: ['DNS:localhost', 'DNS:127.0.0.1'] }, serverName: '127.0.0.1', verdict: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    { name: 'another IP address in the SANs does not match', issue: { sans: ['IP:127.0.0.2'] }, serverName: '127.0.0.1', verdict: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    { name: 'a wildcard covers one label', issue: { sans: ['DNS:*.example.test'] }, serverName: 'jira.example.test', verdict: 'ok' },
    { name: 'a wildcard covers no more than one label', issue: { sans: ['DNS:*.example.test'] }, serverName: 'a.jira.example.test', verdict: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    { name: 'a wildcard does not cover the bare domain', issue: { sans: ['DNS:*.example.test'] }, serverName: 'example.test', verdict: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    { name: 'a wildcard on a public suffix covers nothing', issue: { sans: ['DNS:*.test'] }, serverName: 'example.test', verdict: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    { name: 'names compare case-insensitively', issue: { sans: ['DNS:Jira.Example.Test'] }, serverName: 'jira.example.test', verdict: 'ok' },
    { name: 'the CN counts only when there is no DNS SAN', issue: { commonName: 'jira.example.test', sans: [] }, serverName: 'jira.example.test', verdict: 'ok' },
    { name: 'the CN is ignored next to a DNS SAN', issue: { commonName: 'jira.example.test', sans: ['DNS:other.example.test'] }, serverName: 'jira.example.test', verdict: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  ];
  let index = 0;
  for (const { name, issue, serverName, verdict } of cases) {
    test(name, async () => {
      const pair = await fixture.pki.issue({ name: `name-check-${index++}`, ...issue });
      const server = await fixture.serve(pair);
      try {
        assert.equal(await nodeVerdict(server, serverName), verdict, 'Node itself agrees with the expected verdict');
        const { tenant, prober } = cloudProbe(server, net.isIP(serverName) ? {} : { serverName });
        // The second probe of the same prober (its chain-expiry cache filled by the first) gets the same verdict.
        for (let round = 1; round <= 2; round++) {
          const observation = await prober.probe();
          if (verdict === 'ok') {
            assert.equal(observation.error, null);
            assert.equal(observation.tls?.authorized, true);
            assert.equal(observation.http?.status, 200);
            assert.equal(server.requests(tenant).length, round);
          } else {
            assert.equal(observation.error?.code, verdict, `probe ${round}`);
            assert.equal(observation.tls?.authorized, false);
            assert.equal(observation.tls?.authorizationError, verdict);
            assert.equal(observation.tls?.fingerprint256, new X509Certificate(pair.cert).fingerprint256, 'the leaf is still recorded');
            assert.equal(observation.http, null);
            assert.deepEqual(server.requests(tenant), [], 'not one request reached the server');
          }
        }
      } finally {
        await server.stop();
      }
    });
  }
});

/** A finished handshake with `server`, as the probe makes it (verification read afterwards). */
async function handshakeWith(server: JiraMock): Promise<tls.TLSSocket> {
  const { port } = new URL(server.baseUrl);
  const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca: readFileSync(fixture.pki.caFile, 'utf8'), rejectUnauthorized: false, checkServerIdentity: () => undefined });
  await once(socket, 'secureConnect');
  return socket;
}

test("when the leaf changes, that probe reports the presented chain and the next one the chain with its trusted root again", async () => {
  const ca = new X509Certificate(readFileSync(fixture.pki.caFile, 'utf8'));
  const caNotAfter = new Date(ca.validTo).toISOString();
  const outlives = (days: number) => new Date(new Date(ca.validTo).getTime() + days * 24 * 3600 * 1000);
  const first = await fixture.serve(await fixture.pki.issue({ name: 'leaf-before', notAfter: outlives(100) }));
  const renewedPair = await fixture.pki.issue({ name: 'leaf-after', notAfter: outlives(400) });
  const renewed = await fixture.serve(renewedPair);
  const cache = newChainExpiryCache();
  const read = async (server: JiraMock) => {
    const socket = await handshakeWith(server);
    try {
      return readTlsDetails(socket, '127.0.0.1', cache);
    } finally {
      socket.destroy();
    }
  };
  try {
    const before = await read(first);
    assert.equal(before.authorized, true);
    assert.equal(before.chainEarliestNotAfter, caNotAfter);
    const atChange = await read(renewed);
    assert.equal(atChange.fingerprint256, new X509Certificate(renewedPair.cert).fingerprint256);
    assert.equal(atChange.chainEarliestNotAfter, atChange.notAfter, 'the server presents the leaf alone');
    const after = await read(renewed);
    assert.equal(after.chainEarliestNotAfter, caNotAfter);
    assert.equal(after.subject, atChange.subject);
  } finally {
    await Promise.all([first.stop(), renewed.stop()]);
  }
});

test("the chain's earliest expiry is the CA's when the leaf outlives it, on every probe of the connection", async () => {
  const ca = new X509Certificate(readFileSync(fixture.pki.caFile, 'utf8'));
  const caNotAfter = new Date(ca.validTo).toISOString();
  const pair = await fixture.pki.issue({ name: 'outlives-ca', notAfter: new Date(new Date(ca.validTo).getTime() + 365 * 24 * 3600 * 1000) });
  const server = await fixture.serve(pair);
  try {
    const { prober } = cloudProbe(server);
    for (let probe = 0; probe < 2; probe += 1) {
      const observation = await prober.probe();
      assert.equal(observation.error, null);
      assert.ok(observation.tls!.notAfter! > caNotAfter);
      assert.equal(observation.tls?.chainEarliestNotAfter, caNotAfter);
    }
  } finally {
    await server.stop();
  }
});
