// proxy and tls client-certificate settings in the config, and the proxy decision the probe makes from them and
// from HTTPS_PROXY / NO_PROXY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { decideProxy, noProxyMatches } from '../../src/probe/proxy.js';

function problems(text: string): string[] {
  try {
    parseConfigText(text, 'authwatch.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.describe().split('\n');
  }
  assert.fail('the config was accepted');
}

const CONNECTION = `connections:
  - name: dc
    url: https://jira.acme.com
    auth: { type: bearer, secret: { env: PAT } }
`;

test('proxy and client certificate settings resolve per connection over defaults', () => {
  const config = parseConfigText(`defaults:
  proxy: { url: "http://proxy.acme.com:3128", auth: { username: svc, secret: { env: PROXY_PASSWORD } } }
  tls: { certFile: /etc/authwatch/client.pem, keyFile: /etc/authwatch/client.key, passphrase: { file: /run/pass } }
connections:
  - name: via-default
    url: https://jira.acme.com
    auth: { type: bearer, secret: { env: PAT } }
  - name: direct
    url: https://jira.acme.com
    auth: { type: bearer, secret: { env: PAT } }
    proxy: none
  - name: unset
    url: http://127.0.0.1:8080
    auth: { type: bearer, secret: { env: PAT } }
    tls: { minVersion: TLSv1.3 }
`);
  const [viaDefault, direct, unset] = config.connections;
  assert.deepEqual(viaDefault.proxy, { url: 'http://proxy.acme.com:3128', auth: { username: 'svc', secret: { env: 'PROXY_PASSWORD' } } });
  assert.equal(viaDefault.tls.certFile, '/etc/authwatch/client.pem');
  assert.equal(viaDefault.tls.keyFile, '/etc/authwatch/client.key');
  assert.deepEqual(viaDefault.tls.passphrase, { file: '/run/pass' });
  assert.equal(direct.proxy, 'none');
  assert.equal(unset.tls.certFile, '/etc/authwatch/client.pem', 'tls keys merge with the defaults');
  assert.deepEqual(config.warnings, ['connection unset: proxy is not used for an http:// url (the proxy would see the credentials in clear)']);
});

test('bad proxy and tls settings are reported with their line', () => {
  assert.deepEqual(problems(`${CONNECTION}    proxy: { url: "https://user:pw@proxy.acme.com/x" }\n`), [
    'authwatch.yaml:5: connections[0].proxy.url: must be an http:// proxy URL (the proxy is asked to CONNECT; TLS to Jira runs inside the tunnel)',
    'authwatch.yaml:5: connections[0].proxy.url: must not contain user:password@; put the proxy credentials under proxy.auth',
    'authwatch.yaml:5: connections[0].proxy.url: must name the port, e.g. http://proxy.example.com:3128',
    'authwatch.yaml:5: connections[0].proxy.url: must be only scheme, host and port, e.g. http://proxy.example.com:3128',
  ]);
  assert.deepEqual(problems(`${CONNECTION}    proxy: off\n`), [
    'authwatch.yaml:5: connections[0].proxy: must be "none" or { url: http://host:port, auth: { username, secret } }',
  ]);
  assert.deepEqual(problems(`${CONNECTION}    proxy:\n      url: http://proxy:3128\n      auth: { username: svc, secret: { vault: x } }\n      port: 3128\n`), [
    'authwatch.yaml:7: connections[0].proxy.auth.secret: must be { env: NAME }, { file: PATH } or a string',
    'authwatch.yaml:8: connections[0].proxy.port: unknown key "port" (allowed here: url, auth)',
  ]);
  assert.deepEqual(problems(`${CONNECTION}    tls: { keyFile: /k.pem, passphrase: { env: P } }\n`), [
    'authwatch.yaml:5: connections[0].tls.keyFile: needs certFile in the same tls block (keyFile belongs to a client certificate)',
    'authwatch.yaml:5: connections[0].tls.passphrase: needs certFile in the same tls block (passphrase belongs to a client certificate)',
  ]);
});

test('a literal proxy secret or passphrase is accepted with a warning that does not show it', () => {
  const config = parseConfigText(`${CONNECTION}    proxy: { url: "http://p:3128", auth: { username: u, secret: hunter2-proxy } }\n    tls: { certFile: /c.pem, passphrase: hunter2-key }\n`);
  assert.equal(config.warnings.length, 2);
  assert.match(config.warnings[0], /proxy\.auth\.secret is a literal/);
  assert.match(config.warnings[1], /tls\.passphrase is a literal/);
  assert.ok(!config.warnings.join('\n').includes('hunter2'));
});

const target = { probeUrl: 'https://jira.acme.com/rest/api/2/myself', proxy: null };

test('HTTPS_PROXY is read like curl: lower case first, a scheme-less value is http, curl\'s default port', () => {
  assert.deepEqual(decideProxy(target, {}), { kind: 'direct', reason: 'no-env' });
  const fromEnv = decideProxy(target, { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'lower.acme.com' });
  assert.equal(fromEnv.kind, 'proxy');
  assert.deepEqual(fromEnv.kind === 'proxy' && fromEnv.proxy, { url: 'http://lower.acme.com:1080', hostname: 'lower.acme.com', port: 1080, source: 'https_proxy', auth: null });
  const withAuth = decideProxy(target, { HTTPS_PROXY: 'http://svc:p%40ss@proxy:3128' });
  assert.deepEqual(withAuth.kind === 'proxy' && withAuth.proxy.auth, { username: 'svc', secret: 'p@ss' });
  assert.equal(withAuth.kind === 'proxy' && withAuth.proxy.url, 'http://proxy:3128', 'the recorded URL carries no credentials');
  assert.deepEqual(decideProxy(target, { HTTPS_PROXY: 'socks5://proxy:1080' }), {
    kind: 'invalid', problem: 'HTTPS_PROXY names a socks5:// proxy; authwatch speaks only to http:// proxies (CONNECT)',
  });
  assert.deepEqual(decideProxy({ ...target, proxy: 'none' }, { HTTPS_PROXY: 'http://proxy:3128' }), { kind: 'direct', reason: 'none' });
  assert.equal(decideProxy({ ...target, proxy: { url: 'http://configured:8080' } }, { HTTPS_PROXY: 'http://env:3128', NO_PROXY: '*' }).kind, 'proxy', 'a configured proxy ignores NO_PROXY');
  assert.deepEqual(decideProxy({ probeUrl: 'http://127.0.0.1:8080/rest/api/2/myself', proxy: { url: 'http://p:3128' } }, {}), { kind: 'direct', reason: 'plain-http' });
  assert.deepEqual(decideProxy(target, { HTTPS_PROXY: 'http://p:3128', no_proxy: '.acme.com' }), { kind: 'direct', reason: 'no_proxy' });
});

test('NO_PROXY matches like curl: *, domains and their subdomains, IPs, CIDR ranges, host:port', () => {
  assert.ok(noProxyMatches('*', 'anything.example', 443));
  assert.ok(noProxyMatches('example.com', 'example.com', 443));
  assert.ok(noProxyMatches('example.com', 'jira.example.com', 443));
  assert.ok(noProxyMatches('.example.com', 'jira.example.com', 443));
  assert.ok(!noProxyMatches('example.com', 'notexample.com', 443));
  assert.ok(noProxyMatches('localhost, 10.0.0.0/8', '10.1.2.3', 443));
  assert.ok(!noProxyMatches('10.0.0.0/8', '11.1.2.3', 443));
  assert.ok(noProxyMatches('::1', '[::1]', 443));
  assert.ok(noProxyMatches('jira.acme.com:8443', 'jira.acme.com', 8443));
  assert.ok(!noProxyMatches('jira.acme.com:8443', 'jira.acme.com', 443));
  assert.ok(!noProxyMatches('', 'jira.acme.com', 443));
});
