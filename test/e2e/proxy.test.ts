// Probing through an HTTP proxy, as a user runs it: the built CLI (`check --json`) through a real squid started by
// the test (with and without basic proxy authentication), a byte recorder in front of squid to show what the proxy
// received, and an in-process TLS-inspecting proxy. Jira is the simulated one over real HTTPS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { closedPort, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSquid, type Squid } from '../support/squid.js';
import { startTcpRecorder, type TcpRecorder } from '../support/tcp-recorder.js';
import { createTestPki, type Pki } from '../support/pki.js';
import { ConnectProxy } from '../../src/demo/connect-proxy.js';
import type { JiraMock } from '../support/jira-mock.js';

const PROXY_USER = 'integration-proxy';
const PROXY_PASSWORD = 'Pr0xy-pass-7f3a9c';

let fixture: JiraFixture;
let dir: string;
let squid: Squid;
let squidAuth: Squid;
let recorder: TcpRecorder;
let inspectionPki: Pki;
let inspecting: ConnectProxy;
let blockedServer: JiraMock;
let tenant: string;
let pat: string;

before(async () => {
  fixture = await startJiraFixture();
  dir = await mkdtemp(join(tmpdir(), 'authwatch-e2e-proxy-'));
  tenant = fixture.tenant({ deployment: 'datacenter' });
  pat = fixture.jira.tenant(tenant).credentials.pat;
  blockedServer = await fixture.serve(fixture.pki.good);
  fixture.tenant({ deployment: 'datacenter', name: tenant }, blockedServer);
  const jiraPort = Number(new URL(fixture.jira.baseUrl).port);
  [squid, squidAuth, inspectionPki] = await Promise.all([
    startSquid({ allowedPorts: [jiraPort] }),
    startSquid({ auth: { username: PROXY_USER, password: PROXY_PASSWORD } }),
    createTestPki(undefined, { caCommonName: 'Corp TLS Inspection CA' }),
  ]);
  recorder = await startTcpRecorder(squidAuth.port);
  inspecting = new ConnectProxy({ intercept: { key: inspectionPki.good.key, cert: inspectionPki.good.cert } });
  await inspecting.start();
});
after(async () => {
  await Promise.all([squid?.stop(), squidAuth?.stop(), recorder?.stop(), inspecting?.stop(), inspectionPki?.cleanup()]);
  await fixture?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface CheckedConnection {
  name: string;
  outcome: string;
  class: string;
  detail: string;
  httpStatus: number | null;
  tls: { subject: string | null; issuer: string | null; fingerprint256: string | null; protocol: string | null } | null;
  proxy: { url: string; source: string; tunnel: boolean; status: number | null; connect: number | null; tunnel_seconds: number | null } | null;
  error: { code: string } | null;
  timings: Record<string, number | null>;
}

let configCounter = 0;
async function check(connections: Record<string, unknown>[], env: Record<string, string | undefined> = {}) {
  configCounter += 1;
  const path = join(dir, `proxy-${configCounter}.yaml`);
  await writeFile(path, JSON.stringify({ defaults: { tls: { caFile: fixture.pki.caFile }, timeout: '10s' }, connections }));
  const result = await runCli(['--config', path, 'check', '--json'], {
    env: { JIRA_PAT: pat, PROXY_PASSWORD, HTTPS_PROXY: undefined, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined, ...env },
  });
  assert.equal(result.stderr, '', result.stderr);
  const report = JSON.parse(result.stdout) as { connections: CheckedConnection[] };
  for (const output of [result.stdout, result.stderr]) {
    assert.ok(!output.includes(pat), 'the Jira token is never printed');
    assert.ok(!output.includes(PROXY_PASSWORD), 'the proxy password is never printed');
  }
  return { code: result.code, byName: new Map(report.connections.map((connection) => [connection.name, connection])) };
}

const jiraConnection = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  url: fixture.jira.tenantUrl(tenant),
  auth: { type: 'bearer', secret: { env: 'JIRA_PAT' } },
  ...extra,
});

describe('through squid', () => {
  test('ok through the proxy, with the Jira server\'s TLS facts and honest phase timings', async () => {
    const requestsBefore = fixture.jira.requests(tenant).length;
    const { code, byName } = await check([jiraConnection('via-squid', { proxy: { url: squid.url } })]);
    const probe = byName.get('via-squid')!;
    assert.equal(probe.outcome, 'ok', probe.detail);
    assert.equal(code, 0);
    // The certificate recorded is Jira's own (the proxy only relays bytes), not anything of squid's.
    const jiraCertificate = new X509Certificate(fixture.pki.good.cert);
    assert.equal(probe.tls?.fingerprint256, jiraCertificate.fingerprint256);
    assert.equal(probe.tls?.issuer, 'O=authwatch, CN=authwatch test CA');
    assert.equal(probe.proxy?.url, squid.url);
    assert.equal(probe.proxy?.source, 'config');
    assert.equal(probe.proxy?.tunnel, true);
    assert.equal(probe.proxy?.status, 200);
    // connect = TCP to the proxy + its CONNECT; both parts are recorded and add up.
    for (const phase of ['dns', 'connect', 'tls', 'request', 'first_byte', 'download', 'total']) {
      assert.equal(typeof probe.timings[phase], 'number', `phase ${phase} is recorded`);
    }
    assert.ok(Math.abs(probe.proxy!.connect! + probe.proxy!.tunnel_seconds! - probe.timings.connect!) < 1e-5, 'connect is the proxy connect plus the tunnel');
    assert.equal(fixture.jira.requests(tenant).length, requestsBefore + 1, 'Jira received the one probe request');
    const log = await squid.accessLog();
    assert.match(log, new RegExp(`TCP_TUNNEL/200 CONNECT 127\\.0\\.0\\.1:${new URL(fixture.jira.baseUrl).port} -`), log);
    assert.doesNotMatch(log, /myself/, 'squid saw only the CONNECT, never the Jira request line');
  });

  test('a CONNECT to a port the proxy forbids is proxy_tunnel_failed with squid\'s block page', async () => {
    const { byName } = await check([jiraConnection('blocked', { url: blockedServer.tenantUrl(tenant), proxy: { url: squid.url } })]);
    const probe = byName.get('blocked')!;
    assert.equal(probe.outcome, 'proxy_tunnel_failed', probe.detail);
    assert.equal(probe.class, 'network');
    assert.match(probe.detail, new RegExp(`^the proxy ${squid.url.replace(/\./g, '\\.')} answered CONNECT with 403 text/html block page: "ERROR: .*" \\(X-Squid-Error: ERR_ACCESS_DENIED`));
  });
});

describe('through squid with basic proxy authentication', () => {
  test('without proxy credentials: 407 is proxy_auth_required, and Jira is not asked', async () => {
    const requestsBefore = fixture.jira.requests(tenant).length;
    const { byName } = await check([jiraConnection('no-proxy-auth', { proxy: { url: squidAuth.url } })]);
    const probe = byName.get('no-proxy-auth')!;
    assert.equal(probe.outcome, 'proxy_auth_required', probe.detail);
    assert.match(probe.detail, /answered CONNECT with 407: it wants credentials and no proxy\.auth is configured \(Proxy-Authenticate: Basic realm="authwatch-test-proxy"\)$/);
    assert.equal(fixture.jira.requests(tenant).length, requestsBefore);
  });

  test('with a wrong proxy password: proxy_auth_required saying the credentials were refused', async () => {
    const { byName } = await check(
      [jiraConnection('wrong-proxy-auth', { proxy: { url: squidAuth.url, auth: { username: PROXY_USER, secret: { env: 'WRONG_PROXY_PASSWORD' } } } })],
      { WRONG_PROXY_PASSWORD: 'not-the-password' },
    );
    const probe = byName.get('wrong-proxy-auth')!;
    assert.equal(probe.outcome, 'proxy_auth_required', probe.detail);
    assert.match(probe.detail, /refused the proxy credentials sent/);
  });

  test('with the right credentials: ok, and the proxy only ever received the CONNECT head and TLS records', async () => {
    const { byName } = await check([
      jiraConnection('proxy-auth', { proxy: { url: recorder.url, auth: { username: PROXY_USER, secret: { env: 'PROXY_PASSWORD' } } } }),
    ]);
    const probe = byName.get('proxy-auth')!;
    assert.equal(probe.outcome, 'ok', probe.detail);
    const received = recorder.text();
    const target = `127.0.0.1:${new URL(fixture.jira.baseUrl).port}`;
    const connect = received.slice(0, received.indexOf('\r\n\r\n') + 4);
    assert.match(connect, new RegExp(`^CONNECT ${target.replace(/\./g, '\\.')} HTTP/1\\.1\r\n`));
    assert.ok(connect.toLowerCase().includes(`proxy-authorization: basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`.toLowerCase()));
    // After the head: a TLS handshake record (0x16 0x03), then only encrypted records.
    const afterHead = Buffer.from(received.slice(connect.length), 'latin1');
    assert.equal(afterHead[0], 0x16, 'the tunnel starts with a TLS ClientHello');
    for (const secret of [pat, Buffer.from(pat).toString('base64'), 'Bearer', '/rest/api/2/myself']) {
      assert.ok(!received.includes(secret), `the proxy never received ${secret === pat ? 'the Jira token' : secret}`);
    }
    assert.doesNotMatch(received, /^authorization:/im, 'no Authorization header in clear');
    assert.match(await squidAuth.accessLog(), new RegExp(`TCP_TUNNEL/200 CONNECT ${target.replace(/\./g, '\\.')} ${PROXY_USER}`));
  });
});

describe('oauth2 through the proxy', () => {
  test('the token request and the probe both go through the CONNECT tunnel, with the proxy credentials', async () => {
    const oauthTenant = fixture.tenant({ deployment: 'cloud' });
    const { oauth } = fixture.jira.tenant(oauthTenant).credentials;
    const linesBefore = (await squidAuth.accessLog()).split('\n').filter(Boolean).length;
    const { byName } = await check(
      [{
        name: 'oauth-via-proxy',
        url: fixture.jira.tenantUrl(oauthTenant),
        deployment: 'cloud',
        auth: { type: 'oauth2', tokenUrl: `${fixture.jira.tenantUrl(oauthTenant)}/oauth/token`, clientId: oauth.clientId, clientSecret: { env: 'CLIENT_SECRET' } },
        proxy: { url: squidAuth.url, auth: { username: PROXY_USER, secret: { env: 'PROXY_PASSWORD' } } },
      }],
      { CLIENT_SECRET: oauth.clientSecret },
    );
    const probe = byName.get('oauth-via-proxy')!;
    assert.equal(probe.outcome, 'ok', probe.detail);
    const tunnels = (await squidAuth.accessLog()).split('\n').filter(Boolean).slice(linesBefore);
    assert.equal(tunnels.length, 2, `one tunnel for the token request, one for the probe:\n${tunnels.join('\n')}`);
    for (const line of tunnels) assert.match(line, new RegExp(`TCP_TUNNEL/200 CONNECT 127\\.0\\.0\\.1:\\d+ ${PROXY_USER}$`));
  });
});

describe('proxy down, HTTPS_PROXY, NO_PROXY and proxy: none', () => {
  test('a proxy that is not listening is proxy_unreachable', async () => {
    const port = await closedPort();
    const { byName } = await check([jiraConnection('proxy-down', { proxy: { url: `http://127.0.0.1:${port}` } })]);
    const probe = byName.get('proxy-down')!;
    assert.equal(probe.outcome, 'proxy_unreachable', probe.detail);
    assert.equal(probe.detail, `the proxy http://127.0.0.1:${port}: no connection: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  test('HTTPS_PROXY is used when nothing is configured; NO_PROXY and proxy: none bypass it', async () => {
    const before = (await squid.accessLog()).split('\n').length;
    const port = await closedPort();
    const viaEnv = await check([jiraConnection('env-proxy')], { HTTPS_PROXY: squid.url });
    assert.equal(viaEnv.byName.get('env-proxy')!.outcome, 'ok', viaEnv.byName.get('env-proxy')!.detail);
    assert.equal(viaEnv.byName.get('env-proxy')!.proxy?.source, 'HTTPS_PROXY');
    assert.equal((await squid.accessLog()).split('\n').length, before + 1, 'the probe went through squid');

    // A proxy that is down shows that the probe really bypasses it.
    const down = await check([jiraConnection('env-down')], { https_proxy: `127.0.0.1:${port}` });
    assert.equal(down.byName.get('env-down')!.outcome, 'proxy_unreachable');
    assert.match(down.byName.get('env-down')!.detail, /\(from https_proxy\): no connection/);

    const bypassed = await check([jiraConnection('no-proxy')], { https_proxy: `127.0.0.1:${port}`, NO_PROXY: 'example.com, 127.0.0.0/8' });
    assert.equal(bypassed.byName.get('no-proxy')!.outcome, 'ok', bypassed.byName.get('no-proxy')!.detail);
    assert.equal(bypassed.byName.get('no-proxy')!.proxy, null);

    const none = await check([jiraConnection('proxy-none', { proxy: 'none' })], { HTTPS_PROXY: `http://127.0.0.1:${port}` });
    assert.equal(none.byName.get('proxy-none')!.outcome, 'ok', none.byName.get('proxy-none')!.detail);
  });
});

describe('a TLS-inspecting proxy', () => {
  test('its own certificate in the tunnel is tls_intercepted, naming its CA; nothing reaches Jira', async () => {
    const requestsBefore = fixture.jira.requests(tenant).length;
    const { byName } = await check([jiraConnection('intercepted', { proxy: { url: inspecting.url } })]);
    const probe = byName.get('intercepted')!;
    assert.equal(probe.outcome, 'tls_intercepted', probe.detail);
    assert.match(probe.detail, /^intercepted by O=authwatch, CN=Corp TLS Inspection CA: /);
    assert.equal(probe.tls?.issuer, 'O=authwatch, CN=Corp TLS Inspection CA');
    assert.equal(fixture.jira.requests(tenant).length, requestsBefore);
    assert.ok(!inspecting.receivedText().includes(pat), 'the inspecting proxy never received the token');
  });
});
