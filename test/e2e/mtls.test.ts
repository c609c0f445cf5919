// Mutual TLS, as a user runs it: the built CLI (`check --json`) against servers requiring client certificates issued
// by the test CA — the simulated Jira (Node's TLS, which checks the certificate after the handshake and just closes)
// and `openssl s_server` (which checks it inside the handshake and answers with a TLS alert, like Apache, HAProxy or
// Java). The right certificate authenticates; a missing one, one from another CA and an expired one are each
// diagnosed distinctly, and the server receives no request (so no credentials) when the certificate is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DaemonProcess, eventually, runCli } from '../support/cli.js';
import { daemonWorkspace, scrape, valueOf } from '../support/daemon-config.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { createTestPki, type CertificatePair, type Pki } from '../support/pki.js';
import type { JiraMock } from '../support/jira-mock.js';
import { startOpensslMtlsServer, type OpensslMtlsServer } from '../support/openssl-mtls-server.js';

const run = promisify(execFile);
const DAY_MS = 86_400_000;
const KEY_PASSPHRASE = 'kEy-passphrase-5d1e';

let fixture: JiraFixture;
let otherCa: Pki;
let dir: string;
let mtls: JiraMock;
let mtls12: JiraMock;
let tenant: string;
let tenant12: string;
let right: CertificatePair;
let expired: CertificatePair;
let wrongCa: CertificatePair;
let encryptedKeyFile: string;
let opensslServer: OpensslMtlsServer;

before(async () => {
  [fixture, otherCa] = await Promise.all([startJiraFixture(), createTestPki(undefined, { caCommonName: 'another company CA' })]);
  dir = await mkdtemp(join(tmpdir(), 'authwatch-e2e-mtls-'));
  [right, expired, wrongCa] = await Promise.all([
    fixture.pki.issue({ name: 'client-right', commonName: 'salesforce-integration', client: true }),
    fixture.pki.issue({
      name: 'client-expired', commonName: 'salesforce-integration', client: true,
      notBefore: new Date(Date.now() - 400 * DAY_MS), notAfter: new Date(Date.now() - 30 * DAY_MS),
    }),
    otherCa.issue({ name: 'client-wrong-ca', commonName: 'salesforce-integration', client: true }),
  ]);
  encryptedKeyFile = join(dir, 'client-encrypted.key');
  await run('openssl', ['pkey', '-in', right.keyFile, '-aes256', '-passout', `pass:${KEY_PASSPHRASE}`, '-out', encryptedKeyFile]);
  mtls = await fixture.serve(fixture.pki.good, { clientCa: fixture.pki.ca.cert });
  mtls12 = await fixture.serve(fixture.pki.good, { clientCa: fixture.pki.ca.cert, maxVersion: 'TLSv1.2' });
  tenant = fixture.tenant({ deployment: 'datacenter' }, mtls);
  tenant12 = fixture.tenant({ deployment: 'datacenter' }, mtls12);
  opensslServer = await startOpensslMtlsServer({ certFile: fixture.pki.good.certFile, keyFile: fixture.pki.good.keyFile, clientCaFile: fixture.pki.caFile });
});
after(async () => {
  await opensslServer?.stop();
  await fixture?.close();
  await otherCa?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface CheckedConnection {
  name: string;
  outcome: string;
  class: string;
  detail: string;
  httpStatus: number | null;
  tls: { subject: string | null; protocol: string | null } | null;
  clientCertificate: { configured: boolean; requested: boolean | null; subject: string | null; issuer: string | null; notAfter: string | null } | null;
}

let configCounter = 0;
async function check(connections: Record<string, unknown>[], env: Record<string, string> = {}) {
  configCounter += 1;
  const path = join(dir, `mtls-${configCounter}.yaml`);
  await writeFile(path, JSON.stringify({ defaults: { tls: { caFile: fixture.pki.caFile }, timeout: '10s' }, connections }));
  const secrets = { PAT: mtls.tenant(tenant).credentials.pat, PAT12: mtls12.tenant(tenant12).credentials.pat, KEY_PASSPHRASE };
  const result = await runCli(['--config', path, 'check', '--json'], { env: { ...secrets, ...env, HTTPS_PROXY: undefined, https_proxy: undefined } });
  assert.equal(result.stderr, '', result.stderr);
  for (const [name, value] of Object.entries(secrets)) assert.ok(!result.stdout.includes(value), `${name} is never printed`);
  const report = JSON.parse(result.stdout) as { connections: CheckedConnection[] };
  return new Map(report.connections.map((connection) => [connection.name, connection]));
}

const connection = (name: string, tls: Record<string, unknown>, server: 'tls13' | 'tls12' | 'openssl' = 'tls13') => ({
  name,
  url: server === 'tls13' ? mtls.tenantUrl(tenant) : server === 'tls12' ? mtls12.tenantUrl(tenant12) : opensslServer.url,
  auth: { type: 'bearer', secret: { env: server === 'tls13' ? 'PAT' : 'PAT12' } },
  tls: { caFile: fixture.pki.caFile, ...tls },
});

describe('a Jira that requires client certificates', () => {
  test('the right certificate authenticates, with the client certificate recorded', async () => {
    const results = await check([
      connection('right', { certFile: right.certFile, keyFile: right.keyFile }),
      connection('right-encrypted-key', { certFile: right.certFile, keyFile: encryptedKeyFile, passphrase: { env: 'KEY_PASSPHRASE' } }),
      connection('right-tls12', { certFile: right.certFile, keyFile: right.keyFile }, 'tls12'),
    ]);
    for (const name of ['right', 'right-encrypted-key', 'right-tls12']) {
      const probe = results.get(name)!;
      assert.equal(probe.outcome, 'ok', `${name}: ${probe.detail}`);
      assert.equal(probe.clientCertificate?.configured, true);
      assert.equal(probe.clientCertificate?.requested, true, `${name}: the server asked for the certificate`);
      assert.equal(probe.clientCertificate?.subject, 'O=authwatch, CN=salesforce-integration');
      assert.equal(probe.clientCertificate?.issuer, 'O=authwatch, CN=authwatch test CA');
    }
    assert.equal(results.get('right-tls12')!.tls?.protocol, 'TLSv1.2');
  });

  test('missing, from another CA and expired: three distinct diagnoses, and no request reaches Jira', async () => {
    const requestsBefore = mtls.requests(tenant).length + mtls12.requests(tenant12).length;
    const results = await check([
      connection('missing', {}),
      connection('missing-tls12', {}, 'tls12'),
      connection('wrong-ca', { certFile: wrongCa.certFile, keyFile: wrongCa.keyFile }),
      connection('expired', { certFile: expired.certFile, keyFile: expired.keyFile }),
    ]);
    const missing = results.get('missing')!;
    assert.equal(missing.outcome, 'client_cert_required', missing.detail);
    assert.equal(missing.class, 'tls');
    assert.equal(missing.detail, 'the server requires a client certificate and none is configured (TLS alert certificate_required)');
    // TLS 1.2 servers end the handshake with handshake_failure; that it asked for a certificate tells why.
    const missing12 = results.get('missing-tls12')!;
    assert.equal(missing12.outcome, 'client_cert_required', missing12.detail);
    assert.equal(missing12.detail, 'the server requires a client certificate and none is configured (TLS alert handshake_failure)');

    // Node's TLS server sends no alert for a refused certificate: the lead is what authwatch knows about it.
    const other = results.get('wrong-ca')!;
    assert.equal(other.outcome, 'client_cert_rejected', other.detail);
    assert.equal(
      other.detail,
      'the server closed the connection right after the handshake without accepting the client certificate O=authwatch, CN=salesforce-integration (is its issuer O=authwatch, CN=another company CA one the server trusts?); no TLS alert said why',
    );
    const old = results.get('expired')!;
    assert.equal(old.outcome, 'client_cert_rejected', old.detail);
    assert.match(old.detail, new RegExp(`without accepting the client certificate .* \\(it expired on ${old.clientCertificate!.notAfter!.slice(0, 10)}\\); no TLS alert said why$`));

    assert.equal(mtls.requests(tenant).length + mtls12.requests(tenant12).length, requestsBefore, 'no HTTP request, so no credentials, reached Jira');
  });

  test('a client certificate that cannot be read or used is a credential problem, and nothing is sent', async () => {
    const connectionsBefore = mtls.connectionCount;
    const results = await check([
      connection('unreadable', { certFile: join(dir, 'no-such-cert.pem'), keyFile: right.keyFile }),
      connection('wrong-passphrase', { certFile: right.certFile, keyFile: encryptedKeyFile, passphrase: { env: 'WRONG_PASSPHRASE' } }),
      connection('passphrase-unset', { certFile: right.certFile, keyFile: encryptedKeyFile, passphrase: { env: 'UNSET_PASSPHRASE_VARIABLE' } }),
    ], { WRONG_PASSPHRASE: 'not-it' });
    assert.equal(results.get('unreadable')!.outcome, 'credential_missing');
    assert.match(results.get('unreadable')!.detail, /^tls\.certFile .*no-such-cert\.pem is unreadable \(ENOENT\); nothing was sent$/);
    assert.equal(results.get('wrong-passphrase')!.outcome, 'credential_malformed', results.get('wrong-passphrase')!.detail);
    assert.match(results.get('wrong-passphrase')!.detail, /^the client certificate .* cannot be used: /);
    assert.equal(results.get('passphrase-unset')!.outcome, 'credential_missing');
    assert.equal(results.get('passphrase-unset')!.detail, 'tls.passphrase: environment variable UNSET_PASSPHRASE_VARIABLE is not set; nothing was sent');
    assert.equal(mtls.connectionCount, connectionsBefore, 'no connection was even opened');
  });
});

describe('an OpenSSL server that checks client certificates inside the handshake', () => {
  test('right: ok; missing, another CA and expired: the TLS alert of each, and no request served', async () => {
    const results = await check([
      connection('openssl-right', { certFile: right.certFile, keyFile: right.keyFile }, 'openssl'),
      connection('openssl-missing', {}, 'openssl'),
      connection('openssl-wrong-ca', { certFile: wrongCa.certFile, keyFile: wrongCa.keyFile }, 'openssl'),
      connection('openssl-expired', { certFile: expired.certFile, keyFile: expired.keyFile }, 'openssl'),
    ]);
    const ok = results.get('openssl-right')!;
    assert.equal(ok.outcome, 'ok', ok.detail);
    assert.equal(opensslServer.requests(), 1, 'only the probe with the right certificate was served');

    assert.equal(results.get('openssl-missing')!.outcome, 'client_cert_required', results.get('openssl-missing')!.detail);
    const other = results.get('openssl-wrong-ca')!;
    assert.equal(other.outcome, 'client_cert_rejected', other.detail);
    assert.equal(
      other.detail,
      'the server does not trust the issuer of the client certificate O=authwatch, CN=salesforce-integration (issued by O=authwatch, CN=another company CA) (TLS alert unknown_ca)',
    );
    const old = results.get('openssl-expired')!;
    assert.equal(old.outcome, 'client_cert_rejected', old.detail);
    assert.match(old.detail, new RegExp(`as expired \\(it expired on ${old.clientCertificate!.notAfter!.slice(0, 10)}\\) \\(TLS alert certificate_expired\\)$`));
  });
});

describe('the daemon exports the client certificate\'s expiry', () => {
  test('authwatch_tls_client_cert_not_after_timestamp_seconds is the notAfter of tls.certFile', async () => {
    const workspace = daemonWorkspace('authwatch-e2e-mtls-daemon-');
    workspace.write({ connections: [connection('mtls-daemon', { certFile: right.certFile, keyFile: right.keyFile })] });
    const daemon = new DaemonProcess(workspace.configPath, { env: { PAT: mtls.tenant(tenant).credentials.pat } });
    try {
      const url = await daemon.url();
      const { samples } = await eventually(async () => {
        const scraped = await scrape(url);
        return valueOf(scraped.samples, 'authwatch_tls_client_cert_not_after_timestamp_seconds', { connection: 'mtls-daemon' }) !== undefined ? scraped : null;
      });
      const notAfter = new X509Certificate(right.cert).validTo;
      assert.equal(valueOf(samples, 'authwatch_tls_client_cert_not_after_timestamp_seconds', { connection: 'mtls-daemon' }), Date.parse(notAfter) / 1000);
      assert.equal(valueOf(samples, 'authwatch_probe_success', { connection: 'mtls-daemon' }), 1);
    } finally {
      await daemon.stop();
      workspace.cleanup();
    }
  });
});
