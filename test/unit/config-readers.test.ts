// The config is read quickly with js-yaml when it is valid, and with `yaml`'s positioned Document when anything is in
// doubt. The two must agree on every valid file, and the quick reader must step aside for everything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfigText, validConfigQuickly, validConfigWithPositions } from '../../src/config/load.js';

const EXAMPLE = readFileSync(new URL('../../../deploy/authwatch.example.yaml', import.meta.url), 'utf8');

const EVERY_FEATURE = `
server: { listen: "127.0.0.1:9400" }
storage: { path: /tmp/authwatch-readers-test.db, retention: 3d, rollupRetention: 90d }
defaults: { schedule: "*/5 * * * *", timeout: 10s, failureThreshold: 3 }
alerting:
  slack: { webhookUrl: { env: SLACK_URL }, groupWindow: 2m }
  reminderInterval: 4h
connections:
  - name: cloud-basic
    url: https://acme.atlassian.net/
    auth: { type: basic, username: "bot@acme.com", secret: { env: TOKEN } }
    expect: { accountId: "5b10ac8d82e05b22cc7d4ef5" }
  - name: dc-bearer
    url: https://jira.acme.internal:8443/jira
    deployment: datacenter
    schedule: "0 9 * * 1-5"
    timeout: 2500ms
    auth: { type: bearer, secret: { file: /run/secrets/pat } }
    tls: { minVersion: TLSv1, maxVersion: TLSv1.1, serverName: jira.acme.internal, caFile: /etc/ssl/corp.pem }
    proxy: { url: "http://proxy.acme.internal:3128" }
  - name: "on"
    url: https://b.atlassian.net
    auth: { type: basic, username: "2026-01-01", secret: { env: "0o17" } }
`;

test('both readers give the same config for the example config and for one using every feature', () => {
  for (const text of [EXAMPLE, EVERY_FEATURE]) {
    const quick = validConfigQuickly(text);
    assert.ok(quick, 'the quick reader takes a valid config');
    assert.deepEqual(quick, validConfigWithPositions(text));
  }
  const config = parseConfigText(EVERY_FEATURE);
  assert.equal(config.connections[2].name, 'on', 'YAML 1.2: `on` is a string, not true');
  assert.equal(config.connections[2].auth.type === 'basic' && config.connections[2].auth.username, '2026-01-01', 'a date-like value stays a string');
});

test('anything in doubt goes to the positioned reader, which names the line', () => {
  const cases: Record<string, string> = {
    syntax: 'connections:\n  - name: a\n   url: https://a.atlassian.net\n',
    schema: 'connections:\n  - name: a\n    url: https://a.atlassian.net\n    timeout: fast\n    auth: { type: bearer, secret: { env: T } }\n',
    duplicate: 'connections:\n  - { name: a, url: "https://a.atlassian.net", auth: { type: bearer, secret: { env: T } } }\n  - { name: a, url: "https://b.atlassian.net", auth: { type: bearer, secret: { env: T } } }\n',
    empty: 'connections: []\n',
    duplicateKey: 'connections:\n  - name: a\n    name: b\n    url: https://a.atlassian.net\n    auth: { type: bearer, secret: { env: T } }\n',
  };
  for (const [name, text] of Object.entries(cases)) {
    assert.equal(validConfigQuickly(text), null, name);
    assert.throws(() => parseConfigText(text), (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => issue.line !== null), name);
  }
});

test('a config with a modest alias is still read (by the positioned reader); an alias bomb is refused with its line', () => {
  const aliased = 'defaults: &d { schedule: "*/5 * * * *" }\nx-unused: *d\nconnections:\n  - { name: a, url: "https://a.atlassian.net", auth: { type: bearer, secret: { env: T } } }\n';
  assert.equal(validConfigQuickly(aliased), null);
  assert.throws(() => parseConfigText(aliased), ConfigError, 'an unknown top-level key is still an error, aliased or not');
  const shared = 'defaults: { schedule: &s "*/5 * * * *" }\nconnections:\n  - { name: a, url: "https://a.atlassian.net", schedule: *s, auth: { type: bearer, secret: { env: T } } }\n';
  assert.equal(validConfigQuickly(shared), null);
  assert.equal(parseConfigText(shared).connections[0].schedule, '*/5 * * * *');
});
