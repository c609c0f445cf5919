import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, ConfigError } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/duration.js';
import { checkHeaderText, readSecret } from '../../src/config/secrets.js';

test('defaults are merged into each connection and the deployment is inferred', () => {
  const config = parseConfigText(`
defaults:
  schedule: "*/2 * * * *"
  timeout: 10s
connections:
  - name: cloud-bot
    url: https://acme.atlassian.net/
    auth: { type: basic, username: bot@acme.com, secret: { env: TOKEN } }
  - name: dc
    url: https://jira.acme.internal
    timeout: 3s
    auth: { type: bearer, secret: { file: /run/pat } }
`);
  const [cloud, dc] = config.connections;
  assert.equal(cloud.deployment, 'cloud');
  assert.equal(cloud.probeUrl, 'https://acme.atlassian.net/rest/api/3/myself');
  assert.equal(cloud.schedule, '*/2 * * * *');
  assert.equal(cloud.timeoutMs, 10_000);
  assert.equal(dc.deployment, 'datacenter');
  assert.equal(dc.probeUrl, 'https://jira.acme.internal/rest/api/2/myself');
  assert.equal(dc.timeoutMs, 3000);
  assert.equal(dc.tls.minVersion, 'TLSv1.2');
});

test('every mistake is reported at once with its path and line', () => {
  const text = `connections:
  - name: Bad Name
    url: http://example.com
    timeout: fast
    auth: { type: basic, username: a, secret: x }
    schedul: "* * * * *"
  - name: ok
    url: https://a.atlassian.net
    auth: { type: magic }
`;
  assert.throws(() => parseConfigText(text, 'cfg.yaml'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    const lines = error.describe().split('\n');
    assert.deepEqual(lines.map((line) => line.split(': ')[0]), ['cfg.yaml:2', 'cfg.yaml:3', 'cfg.yaml:4', 'cfg.yaml:6', 'cfg.yaml:9']);
    assert.match(lines[3], /unknown key "schedul"/);
    return true;
  });
});

test('durations', () => {
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('90d'), 90 * 86_400_000);
  assert.equal(parseDuration(0), 0);
  assert.throws(() => parseDuration('15'));
});

test('secrets: a trailing newline of a file is stripped, one inside an env value is malformed, unset is missing', () => {
  assert.deepEqual(readSecret({ env: 'NOPE' }, {}), { ok: false, status: 'missing', problem: 'environment variable NOPE is not set' });
  const malformed = readSecret({ env: 'T' }, { T: 'abc\n' });
  assert.equal(malformed.ok, false);
  assert.ok(!malformed.ok && malformed.status === 'malformed' && !malformed.problem.includes('abc'));
  assert.deepEqual(readSecret('plain', {}), { ok: true, value: 'plain' });
});

test('URLs, ports and durations that would break at run time are config errors', () => {
  const text = `server:
  listen: 127.0.0.1:99999
storage:
  retention: 0
alerting:
  alertmanager:
    urls: ["http://admin:hunter2@am.example:9093", "ftp://am.example"]
  dashboardUrl: "javascript:alert(1)"
connections:
  - name: a
    url: https://a.atlassian.net/?x=1
    timeout: 0ms
    auth: { type: oauth2, tokenUrl: "http://auth.example.com/oauth/token", clientId: c, clientSecret: { env: S } }
`;
  assert.throws(() => parseConfigText(text, 'cfg.yaml'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    const described = error.describe();
    for (const expected of [
      /cfg\.yaml:2: server\.listen: the port must be 0 to 65535/,
      /cfg\.yaml:4: storage\.retention: /,
      /alerting\.alertmanager\.urls\[0\]: must not contain user:password@/,
      /alerting\.alertmanager\.urls\[1\]: must be an http:\/\/ or https:\/\/ URL/,
      /alerting\.dashboardUrl: must be an http:\/\/ or https:\/\/ URL/,
      /connections\[0\]\.url: must not contain a query/,
      /connections\[0\]\.timeout: must be longer than 0/,
      /connections\[0\]\.auth\.tokenUrl: must use https/,
    ]) {
      assert.match(described, expected);
    }
    assert.doesNotMatch(described, /hunter2/);
    return true;
  });
});

test('an unreadable tls.caFile is accepted with a warning naming the connection', () => {
  const config = parseConfigText(`connections:
  - name: corp
    url: https://jira.corp.example
    tls: { caFile: /nonexistent/corp-ca.pem }
    auth: { type: bearer, secret: { env: PAT } }
`);
  assert.match(config.warnings.join('\n'), /connection corp: tls\.caFile \/nonexistent\/corp-ca\.pem is not readable \(ENOENT\)/);
});

test('secrets: invisible characters are malformed too, and a bearer token must be header-safe', () => {
  const zeroWidth = readSecret({ env: 'T' }, { T: 'abc\u200bdef' });
  assert.ok(!zeroWidth.ok && zeroWidth.status === 'malformed' && /U\+200B/.test(zeroWidth.problem));
  assert.ok(!checkHeaderText('abc€def', 'the token').ok);
  assert.ok(checkHeaderText('abc-def_123', 'the token').ok);
});
