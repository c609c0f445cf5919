// `authwatch check` as a user runs it: the built CLI as a process, probing the simulated Jira over real HTTPS
// (test PKI's CA as tls.caFile). What is asserted is what the user reads: the table, the remediation after each
// failure, the exit code, the `--json` contract of docs/cli.md, and that no secret is ever printed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';
import { generateApiToken, type JiraMock } from '../support/jira-mock.js';

let fixture: JiraFixture;
let dir: string;

before(async () => {
  fixture = await startJiraFixture();
  dir = await mkdtemp(join(tmpdir(), 'authwatch-e2e-check-'));
});
after(async () => {
  await fixture?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, config: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(config, null, 2)); // JSON is YAML
  return path;
}

const TABLE_COLUMNS = ['CONNECTION', 'OUTCOME', 'HTTP', 'TLS', 'LATENCY', 'DIAGNOSIS'] as const;
type TableRow = Record<(typeof TABLE_COLUMNS)[number], string>;

/**
 * Reads the table at the top of `check`'s output by the header's column positions, and fails when a cell does not
 * start exactly under its header with at least two spaces before it (i.e. when the columns are not aligned).
 */
function parseCheckTable(stdout: string): TableRow[] {
  const lines = stdout.split('\n');
  const end = lines.indexOf('');
  const [header, ...rows] = lines.slice(0, end === -1 ? lines.length : end);
  assert.match(header, /^CONNECTION\s+OUTCOME\s+HTTP\s+TLS\s+LATENCY\s+DIAGNOSIS$/);
  const starts = TABLE_COLUMNS.map((title) => header.indexOf(title));
  return rows.map((row) => {
    const cells = starts.map((start, column) => {
      if (column > 0) assert.equal(row.slice(start - 2, start), '  ', `column ${TABLE_COLUMNS[column]} is not aligned in:\n${row}`);
      assert.notEqual(row[start], ' ', `column ${TABLE_COLUMNS[column]} is not aligned in:\n${row}`);
      return row.slice(start, starts[column + 1] ?? row.length).trim();
    });
    return Object.fromEntries(TABLE_COLUMNS.map((title, column) => [title, cells[column]])) as TableRow;
  });
}

function assertNoStackTrace(result: CliResult): void {
  assert.doesNotMatch(result.stderr + result.stdout, /^\s+at .+\(.*:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m, 'a stack trace was printed');
}

describe('check against a mix of working and broken connections', () => {
  let configPath: string;
  let env: Record<string, string>;
  let cloudTenant: string;
  let dcServer: JiraMock;
  let expiredServer: JiraMock;
  const unsetVariable = `AUTHWATCH_E2E_UNSET_${randomBytes(4).toString('hex').toUpperCase()}`;

  before(async () => {
    const { jira, pki } = fixture;
    cloudTenant = fixture.tenant({ deployment: 'cloud' });
    const scopedTenant = fixture.tenant({ deployment: 'cloud', behaviour: 'scope-mismatch' });
    // The DC server only speaks up to TLS 1.2, so the TLS column has to show what was negotiated, not a constant.
    dcServer = await fixture.serve(pki.good, { maxVersion: 'TLSv1.2' });
    const dcTenant = fixture.tenant({ deployment: 'datacenter' }, dcServer);
    const basicOffTenant = fixture.tenant({ deployment: 'datacenter', behaviour: 'basic-auth-disabled' }, dcServer);
    expiredServer = await fixture.serve(pki.expired);
    const expiredTenant = fixture.tenant({ deployment: 'datacenter' }, expiredServer);

    const cloud = jira.tenant(cloudTenant);
    const dc = dcServer.tenant(dcTenant);
    const basicOff = dcServer.tenant(basicOffTenant);
    env = {
      E2E_CLOUD_TOKEN: cloud.credentials.apiToken,
      E2E_CLOUD_PASSWORD: 'correct-horse-battery-staple-42',
      E2E_DC_PAT: dc.credentials.pat,
      E2E_DC_PASSWORD: basicOff.credentials.password,
      E2E_SCOPED_TOKEN: generateApiToken(),
    };
    configPath = await writeConfig('mixed.yaml', {
      defaults: { tls: { caFile: pki.caFile }, timeout: '10s' },
      connections: [
        { name: 'cloud-api-token', url: jira.tenantUrl(cloudTenant), deployment: 'cloud', auth: { type: 'basic', username: cloud.user.emailAddress, secret: { env: 'E2E_CLOUD_TOKEN' } } },
        { name: 'cloud-password', url: jira.tenantUrl(cloudTenant), deployment: 'cloud', auth: { type: 'basic', username: cloud.user.emailAddress, secret: { env: 'E2E_CLOUD_PASSWORD' } } },
        { name: 'dc-pat', url: dcServer.tenantUrl(dcTenant), auth: { type: 'bearer', secret: { env: 'E2E_DC_PAT' } }, expect: { username: dc.user.name } },
        { name: 'dc-basic-disabled', url: dcServer.tenantUrl(basicOffTenant), auth: { type: 'basic', username: basicOff.user.name, secret: { env: 'E2E_DC_PASSWORD' } } },
        { name: 'cloud-scoped-token', url: jira.tenantUrl(scopedTenant), deployment: 'cloud', auth: { type: 'bearer', secret: { env: 'E2E_SCOPED_TOKEN' } } },
        { name: 'secret-not-set', url: jira.tenantUrl(cloudTenant), deployment: 'cloud', auth: { type: 'basic', username: cloud.user.emailAddress, secret: { env: unsetVariable } } },
        { name: 'expired-cert', url: expiredServer.tenantUrl(expiredTenant), auth: { type: 'bearer', secret: { env: 'E2E_DC_PAT' } } },
      ],
    });
  });

  const run = (args: string[]) => runCli(['--config', configPath, 'check', ...args], { env });

  test('the table has one aligned row per connection with outcome, HTTP status, TLS version and diagnosis; exit 1', async () => {
    const result = await run([]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(result.stderr, '');
    assertNoStackTrace(result);

    const rows = parseCheckTable(result.stdout);
    assert.deepEqual(
      rows.map((row) => row.CONNECTION),
      ['cloud-api-token', 'cloud-password', 'dc-pat', 'dc-basic-disabled', 'cloud-scoped-token', 'secret-not-set', 'expired-cert'],
      'one row per connection, in config order',
    );
    const byName = new Map(rows.map((row) => [row.CONNECTION, row]));
    const cloud = fixture.jira.tenant(cloudTenant);
    const expected: Record<string, { OUTCOME: string; HTTP: string; TLS: string; DIAGNOSIS: RegExp }> = {
      'cloud-api-token': { OUTCOME: 'ok', HTTP: '200', TLS: 'TLSv1.3', DIAGNOSIS: new RegExp(`^authenticated as accountId ${cloud.user.accountId}, ${cloud.user.emailAddress.replace(/\./g, '\\.')}$`) },
      // The lint's explanation is in the row, not only in explain-header.
      'cloud-password': {
        OUTCOME: '✗ basic_auth_rejected',
        HTTP: '401',
        TLS: 'TLSv1.3',
        DIAGNOSIS: /^401 text\/plain: "Basic authentication with passwords is deprecated\."; header lint: password_like_secret \(the secret does not look like a Jira Cloud API token: Cloud does not accept account passwords\)$/,
      },
      'dc-pat': { OUTCOME: 'ok', HTTP: '200', TLS: 'TLSv1.2', DIAGNOSIS: /^authenticated as / },
      'dc-basic-disabled': { OUTCOME: '✗ basic_auth_disabled', HTTP: '403', TLS: 'TLSv1.2', DIAGNOSIS: /^403 application\/json: "Basic Authentication has been disabled on this instance\."$/ },
      'cloud-scoped-token': { OUTCOME: '✗ scope_mismatch', HTTP: '401', TLS: 'TLSv1.3', DIAGNOSIS: /scope does not match/ },
      'secret-not-set': { OUTCOME: '✗ credential_missing', HTTP: '-', TLS: '-', DIAGNOSIS: new RegExp(`^environment variable ${unsetVariable} is not set$`) },
      'expired-cert': { OUTCOME: '✗ tls_cert_invalid', HTTP: '-', TLS: 'TLSv1.3', DIAGNOSIS: /^certificate expired on 2020-02-01 \(CERT_HAS_EXPIRED\)$/ },
    };
    for (const [name, want] of Object.entries(expected)) {
      const row = byName.get(name)!;
      assert.equal(row.OUTCOME, want.OUTCOME, `${name} outcome`);
      assert.equal(row.HTTP, want.HTTP, `${name} HTTP status`);
      assert.equal(row.TLS, want.TLS, `${name} TLS version`);
      assert.match(row.DIAGNOSIS, want.DIAGNOSIS, `${name} diagnosis`);
    }
    // Latency is shown for every probe that reached the network, and not for the one that sent nothing.
    for (const row of rows) assert.match(row.LATENCY, row.CONNECTION === 'secret-not-set' ? /^-$/ : /^\d+ ms$/, `${row.CONNECTION} latency`);
    assert.match(result.stdout, /\n2 of 7 connections authenticated\.\n$/);
  });

  test('each failure is followed by its explanation, what was seen and the remediation for its deployment', async () => {
    const result = await run([]);
    const afterTable = result.stdout.slice(result.stdout.indexOf('\n\n'));
    const failures: [string, string, 'cloud' | 'datacenter'][] = [
      ['cloud-password', 'basic_auth_rejected', 'cloud'],
      ['dc-basic-disabled', 'basic_auth_disabled', 'datacenter'],
      ['cloud-scoped-token', 'scope_mismatch', 'cloud'],
      ['secret-not-set', 'credential_missing', 'cloud'],
      ['expired-cert', 'tls_cert_invalid', 'datacenter'],
    ];
    const blocks = afterTable.split('\n\n').map((block) => block.trim()).filter((block) => block !== '');
    assert.equal(blocks.length, failures.length + 1, 'one block per failure, then the summary line; none for the ok connections');
    failures.forEach(([name, outcome, deployment], index) => {
      const guide = describeOutcome(outcome as Parameters<typeof describeOutcome>[0], deployment);
      const lines = blocks[index].split('\n');
      assert.equal(lines[0], `${name}: ${outcome} — ${guide.explanation}`);
      assert.match(lines[1], /^ {2}seen: \S/);
      assert.equal(lines[2], '  what to do:');
      assert.ok(guide.remediation.length > 0);
      assert.deepEqual(lines.slice(3), guide.remediation.map((step, i) => `    ${i + 1}. ${step}`));
    });
    // The guide is the deployment's own: Cloud gets the API-token advice, DC the personal-access-token one.
    assert.match(blocks[0], /the secret is an API token, not the account password/);
    assert.match(blocks[1], /personal access token \(`auth\.type: bearer`\)/);
    assert.match(blocks[4], /renew the certificate on Jira or its reverse proxy/);
    assert.equal(blocks[5], '2 of 7 connections authenticated.');
  });

  test('check NAME probes only the named connections: all ok exits 0', async () => {
    const result = await run(['cloud-api-token', 'dc-pat']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const rows = parseCheckTable(result.stdout);
    assert.deepEqual(rows.map((row) => [row.CONNECTION, row.OUTCOME]), [['cloud-api-token', 'ok'], ['dc-pat', 'ok']]);
    assert.doesNotMatch(result.stdout, /what to do/);
    assert.match(result.stdout, /\n2 of 2 connections authenticated\.\n$/);
  });

  test('check with an unknown name exits 2 with one clear line, and probes nothing', async () => {
    const before = fixture.jira.requests(cloudTenant).length;
    const result = await run(['cloud-api-token', 'no-such-connection']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^authwatch: no connection named no-such-connection in ${configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(known: cloud-api-token, cloud-password, dc-pat, `));
    assertNoStackTrace(result);
    assert.equal(fixture.jira.requests(cloudTenant).length, before, 'no probe was sent');
  });

  test('--json: the documented shape, field by field, for an ok and a failing connection', async () => {
    const result = await run(['--json']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, '');
    const report = JSON.parse(result.stdout) as {
      summary: { total: number; ok: number; notOk: number };
      connections: Record<string, any>[];
    };
    assert.deepEqual(report.summary, { total: 7, ok: 2, notOk: 5 });
    const byName = new Map(report.connections.map((entry) => [entry.name as string, entry]));
    assert.equal(byName.size, 7);
    for (const entry of report.connections) {
      assert.deepEqual(Object.keys(entry).sort(), [
        'authType', 'class', 'clientCertificate', 'credential', 'deployment', 'detail', 'error', 'explanation', 'headers', 'httpStatus', 'identity',
        'name', 'oauth', 'ok', 'outcome', 'proxy', 'remediation', 'serverMessage', 'startedAt', 'timings', 'tls', 'url',
      ], `${entry.name}: the documented keys`);
      assert.ok(!Number.isNaN(Date.parse(entry.startedAt)));
    }

    const goodCert = new X509Certificate(fixture.pki.good.cert);
    const cloud = fixture.jira.tenant(cloudTenant);
    const ok = byName.get('cloud-api-token')!;
    assert.equal(ok.url, `${fixture.jira.tenantUrl(cloudTenant)}/rest/api/3/myself`);
    assert.equal(ok.deployment, 'cloud');
    assert.equal(ok.authType, 'basic');
    assert.equal(ok.ok, true);
    assert.equal(ok.outcome, 'ok');
    assert.equal(ok.class, 'ok');
    assert.equal(ok.httpStatus, 200);
    assert.equal(ok.error, null);
    assert.deepEqual(ok.remediation, []);
    assert.equal(ok.tls.protocol, 'TLSv1.3');
    assert.equal(ok.tls.fingerprint256, goodCert.fingerprint256);
    assert.equal(ok.tls.notAfter, new Date(goodCert.validTo).toISOString());
    assert.equal(ok.tls.authorized, true);
    assert.equal(ok.identity.accountId, cloud.user.accountId);
    assert.equal(ok.identity.emailAddress, cloud.user.emailAddress);
    assert.equal(ok.headers['x-aaccountid'], cloud.user.accountId);
    assert.equal(ok.credential.status, 'ok');
    assert.match(ok.credential.fingerprint, /^[0-9a-f]{16}$/);
    assert.ok(ok.timings.total > 0);
    assert.equal(ok.serverMessage, null, 'an ok answer is the account record, not a server message');
    assert.equal(ok.oauth, null);
    for (const seconds of Object.values(ok.timings) as (number | null)[]) {
      if (seconds !== null) assert.equal(Math.round(seconds * 1e6) / 1e6, seconds, 'timings are rounded to the microsecond');
    }

    const failing = byName.get('cloud-password')!;
    assert.equal(failing.ok, false);
    assert.equal(failing.outcome, 'basic_auth_rejected');
    assert.equal(failing.class, 'auth');
    assert.equal(failing.httpStatus, 401);
    assert.equal(failing.tls.protocol, 'TLSv1.3');
    assert.equal(failing.tls.fingerprint256, goodCert.fingerprint256);
    assert.equal(failing.tls.notAfter, new Date(goodCert.validTo).toISOString());
    assert.equal(failing.identity, null);
    assert.match(failing.serverMessage, /^Basic authentication with passwords is deprecated\./);
    assert.match(failing.credential.fingerprint, /^[0-9a-f]{16}$/);
    assert.notEqual(failing.credential.fingerprint, ok.credential.fingerprint, 'a different secret has a different fingerprint');
    assert.equal(failing.explanation, describeOutcome('basic_auth_rejected', 'cloud').explanation);
    assert.ok(failing.remediation.length > 0);
    assert.deepEqual(failing.remediation, describeOutcome('basic_auth_rejected', 'cloud').remediation);

    // The same secret in two connections of one run has the same fingerprint (dc-pat and expired-cert share it).
    assert.equal(byName.get('expired-cert')!.credential.fingerprint, byName.get('dc-pat')!.credential.fingerprint);

    const expired = byName.get('expired-cert')!;
    const expiredCert = new X509Certificate(fixture.pki.expired.cert);
    assert.equal(expired.outcome, 'tls_cert_invalid');
    assert.equal(expired.class, 'tls');
    assert.equal(expired.httpStatus, null);
    assert.equal(expired.tls.authorized, false);
    assert.equal(expired.tls.authorizationError, 'CERT_HAS_EXPIRED');
    assert.equal(expired.tls.fingerprint256, expiredCert.fingerprint256, 'the refused certificate is still recorded');
    assert.equal(expired.tls.notAfter, new Date(expiredCert.validTo).toISOString());
    assert.ok(expired.remediation.length > 0);

    const missing = byName.get('secret-not-set')!;
    assert.equal(missing.outcome, 'credential_missing');
    assert.equal(missing.credential.status, 'missing');
    assert.equal(missing.credential.fingerprint, null);
    assert.equal(missing.tls, null);
    assert.equal(missing.httpStatus, null);
    assert.ok(missing.remediation.length > 0);

    for (const entry of report.connections) {
      assert.equal(entry.ok, entry.outcome === 'ok');
      if (!entry.ok) assert.ok(entry.remediation.length > 0, `${entry.name} has remediation`);
    }
  });

  test('--json with only ok connections exits 0', async () => {
    const result = await run(['--json', 'dc-pat']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.summary, { total: 1, ok: 1, notOk: 0 });
    assert.equal(report.connections[0].tls.protocol, 'TLSv1.2');
    assert.equal(report.connections[0].identity.name, dcServer.tenant(dcServer.tenantNames()[0]).user.name);
  });
});

test('check: an API token pasted already base64-encoded with its email is "already encoded", and an unreadable tls.caFile is local', async () => {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const { user, credentials } = fixture.jira.tenant(tenant);
  const encoded = Buffer.from(`${user.emailAddress}:${credentials.apiToken}`).toString('base64');
  const configPath = await writeConfig('encoded.yaml', {
    defaults: { tls: { caFile: fixture.pki.caFile } },
    connections: [
      { name: 'cloud-encoded', url: fixture.jira.tenantUrl(tenant), deployment: 'cloud', auth: { type: 'basic', username: user.emailAddress, secret: { env: 'E2E_ENCODED' } } },
      { name: 'no-ca-file', url: fixture.jira.tenantUrl(tenant), deployment: 'cloud', tls: { caFile: '/nonexistent/corp-ca.pem' }, auth: { type: 'basic', username: user.emailAddress, secret: { env: 'E2E_ENCODED' } } },
    ],
  });
  const result = await runCli(['--config', configPath, 'check'], { env: { E2E_ENCODED: encoded } });
  assert.equal(result.code, 1);
  const rows = new Map(parseCheckTable(result.stdout).map((row) => [row.CONNECTION, row]));
  assert.equal(rows.get('cloud-encoded')?.OUTCOME, '✗ basic_auth_rejected');
  assert.match(rows.get('cloud-encoded')!.DIAGNOSIS, /; header lint: already_encoded \(the secret is already base64 of username:secret: put the bare token in secret, authwatch encodes it\)$/);
  assert.doesNotMatch(rows.get('cloud-encoded')!.DIAGNOSIS, /password_like_secret/);
  assert.equal(rows.get('no-ca-file')?.OUTCOME, '✗ tls_file_unreadable');
  assert.equal(rows.get('no-ca-file')?.DIAGNOSIS, 'cannot read tls.caFile /nonexistent/corp-ca.pem (ENOENT)');
  assert.match(result.stdout, /no-ca-file: tls_file_unreadable — authwatch cannot read a TLS file its own config names \(tls\.caFile\), so it did not connect: a problem on the authwatch host, not in Jira\./);
  assert.ok(!result.stdout.includes(encoded) && !result.stdout.includes(credentials.apiToken), 'no secret printed');
});

describe('check never prints a secret', () => {
  const marker = randomBytes(6).toString('hex');
  const secrets = {
    cloudApiToken: generateApiToken(),
    dcPassword: `Tr0ub4dor&3-${marker}-dc`,
    slackWebhook: `https://hooks.slack.com/services/T0${marker.toUpperCase()}/B0E2E0E2E/${randomBytes(12).toString('hex')}`,
    oauthClientSecret: `oauth-cs-${randomBytes(18).toString('base64url')}`,
    headerToken: `hdr${randomBytes(12).toString('hex')}`,
  };
  let configPath: string;
  let env: Record<string, string>;
  let tenants: { cloud: string; dc: string; oauth: string; header: string };
  let forbidden: string[];

  before(async () => {
    const { jira, pki } = fixture;
    tenants = {
      cloud: fixture.tenant({ deployment: 'cloud' }),
      // Two wrong passwords per run of this suite: keep the simulated CAPTCHA lockout out of the way.
      dc: fixture.tenant({ deployment: 'datacenter', captchaAfterFailures: 10 }),
      oauth: fixture.tenant({ deployment: 'cloud', behaviour: 'oauth-refuses', credentials: { oauth: { clientSecret: secrets.oauthClientSecret } } }),
      header: fixture.tenant({ deployment: 'cloud' }),
    };
    const cloudUser = jira.tenant(tenants.cloud).user;
    const dcUser = jira.tenant(tenants.dc).user;
    const headerUser = jira.tenant(tenants.header).user;
    const oauthClient = jira.tenant(tenants.oauth).credentials.oauth;
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    // `echo "$email:$token" | base64`: the trailing newline makes the header malformed, so it must not be sent.
    const headerValue = `Basic ${b64(`${headerUser.emailAddress}:${secrets.headerToken}\n`)}`;
    env = { E2E_LEAK_CLOUD_TOKEN: secrets.cloudApiToken, E2E_LEAK_OAUTH: secrets.oauthClientSecret, E2E_LEAK_HEADER: headerValue };
    forbidden = [
      ...Object.values(secrets),
      headerValue,
      b64(`${cloudUser.emailAddress}:${secrets.cloudApiToken}`),
      b64(`${dcUser.name}:${secrets.dcPassword}`),
      b64(`${oauthClient.clientId}:${secrets.oauthClientSecret}`),
      b64(`${headerUser.emailAddress}:${secrets.headerToken}\n`),
      encodeURIComponent(secrets.oauthClientSecret),
      encodeURIComponent(secrets.dcPassword),
      // A truncated leak is still a leak: the random middle of the Cloud token and of the webhook path.
      secrets.cloudApiToken.slice(40, 72),
      secrets.slackWebhook.slice(-24),
    ];
    configPath = await writeConfig('secrets.yaml', {
      // Literals on purpose: the "literal secret" warnings must name the field, never the value.
      alerting: { slack: { webhookUrl: secrets.slackWebhook } },
      defaults: { tls: { caFile: pki.caFile } },
      connections: [
        { name: 'cloud-revoked-token', url: jira.tenantUrl(tenants.cloud), deployment: 'cloud', auth: { type: 'basic', username: cloudUser.emailAddress, secret: { env: 'E2E_LEAK_CLOUD_TOKEN' } } },
        { name: 'dc-wrong-password', url: jira.tenantUrl(tenants.dc), auth: { type: 'basic', username: dcUser.name, secret: secrets.dcPassword } },
        {
          name: 'oauth-refused',
          url: jira.tenantUrl(tenants.oauth),
          deployment: 'cloud',
          auth: { type: 'oauth2', tokenUrl: `${jira.tenantUrl(tenants.oauth)}/oauth/token`, clientId: oauthClient.clientId, clientSecret: { env: 'E2E_LEAK_OAUTH' } },
        },
        { name: 'header-with-newline', url: jira.tenantUrl(tenants.header), deployment: 'cloud', auth: { type: 'header', secret: { env: 'E2E_LEAK_HEADER' } } },
      ],
    });
  });

  function assertNoSecret(result: CliResult): void {
    const output = result.stdout + result.stderr;
    for (const secret of forbidden) assert.ok(!output.includes(secret), `output contains a secret (${secret.slice(0, 6)}…):\n${output}`);
  }

  test('table output: every connection fails for its own reason, and no secret appears', async () => {
    const result = await runCli(['--config', configPath, '--log-level', 'debug', 'check'], { env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const outcomes = Object.fromEntries(parseCheckTable(result.stdout).map((row) => [row.CONNECTION, row.OUTCOME]));
    assert.deepEqual(outcomes, {
      'cloud-revoked-token': '✗ basic_auth_rejected',
      'dc-wrong-password': '✗ auth_rejected',
      'oauth-refused': '✗ oauth_token_error',
      'header-with-newline': '✗ credential_malformed',
    });
    // The literal secrets were noticed and named by field only.
    assert.match(result.stderr, /warning: connection dc-wrong-password: auth\.secret is a literal in the config file/);
    assert.match(result.stderr, /warning: alerting\.slack\.webhookUrl is a literal in the config file/);
    assertNoSecret(result);

    // The secrets really went out (so the test is not vacuous): the simulated Jira saw each one, and refused it.
    const last = (tenant: string) => fixture.jira.requests(tenant).at(-1);
    assert.deepEqual([last(tenants.cloud)?.authorization, last(tenants.cloud)?.credential], ['basic', 'invalid']);
    assert.deepEqual([last(tenants.dc)?.authorization, last(tenants.dc)?.credential], ['basic', 'invalid']);
    assert.deepEqual([last(tenants.oauth)?.endpoint, last(tenants.oauth)?.credential], ['oauth-token', 'client-secret']);
    assert.equal(fixture.jira.requests(tenants.header).length, 0, 'a malformed header is never sent');
  });

  test('--json output: no secret appears either', async () => {
    const result = await runCli(['--config', configPath, 'check', '--json'], { env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as { connections: { name: string; outcome: string; credential: { findings: string[] } }[] };
    assert.deepEqual(report.connections.map((entry) => entry.outcome), ['basic_auth_rejected', 'auth_rejected', 'oauth_token_error', 'credential_malformed']);
    assert.ok(report.connections[3].credential.findings.includes('trailing_newline'), 'the malformed header says why');
    assertNoSecret(result);
  });
});
