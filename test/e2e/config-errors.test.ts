// The config mistakes a new user makes, each fed to the built `authwatch validate` as a process: every one is
// answered in one line (file:line, YAML path, what is wrong and the fix), exit 2, no stack trace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH, childEnv, runCli } from '../support/cli.js';

const HEAD = ['connections:', '  - name: jira', '    url: https://acme.atlassian.net'];
const BEARER = '    auth: { type: bearer, secret: { env: JIRA_PAT } }';
/** A one-connection config with `lines` added to the connection (after its url). */
const connectionWith = (...lines: string[]) => [...HEAD, ...lines].join('\n') + '\n';

interface Case {
  name: string;
  /** The file's content; a function gets the test directory. */
  text: string | Buffer | ((dir: string) => string | Buffer);
  /** What follows "FILE" in the one line: ":line: path: message" (or ": message" for a problem without a line). */
  expected: string | ((dir: string) => string);
}

const CASES: Case[] = [
  // The mistakes of issue #13, items 1 and 2.
  {
    name: 'an unquoted cron schedule',
    text: connectionWith('    schedule: */5 * * * *', BEARER),
    expected: ':4: YAML syntax: a value starting with * is read as a YAML alias: quote it, schedule: "*/5 * * * *"',
  },
  {
    name: 'a tab in the indentation (only the first error of the cascade)',
    text: ['connections:', '  - name: jira', '\turl: https://acme.atlassian.net', BEARER, ''].join('\n'),
    expected: ':3: YAML syntax: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces',
  },
  {
    name: 'a timeout without a unit',
    text: connectionWith('    timeout: 15', BEARER),
    expected: ':4: connections[0].timeout: 15 has no unit: add one, e.g. timeout: 15s (a duration such as 500ms, 15s, 5m, 1h or 14d)',
  },
  {
    name: 'deployment: server',
    text: connectionWith('    deployment: server', BEARER),
    expected: ":4: connections[0].deployment: must be one of cloud, datacenter (Jira Server is Data Center's predecessor: use datacenter)",
  },
  {
    name: 'a mis-indented auth block',
    text: connectionWith('    auth:', '    type: basic', '    username: bot@acme.com', '    secret: { env: JIRA_TOKEN }'),
    expected: ':4: connections[0].auth: is empty, and type, username, secret below it are not indented under it: indent them two more spaces than "auth:"',
  },
  {
    name: 'a typo in username (and no "username is required" beside it)',
    text: connectionWith('    auth: { type: basic, usernme: bot@acme.com, secret: { env: JIRA_TOKEN } }'),
    expected: ':4: connections[0].auth.usernme: unknown key "usernme"; did you mean "username"?',
  },
  {
    name: 'a typo in expect',
    text: connectionWith(BEARER, '    expcet: { username: bot }'),
    expected: ':5: connections[0].expcet: unknown key "expcet"; did you mean "expect"?',
  },
  {
    name: "Gatus's interval",
    text: connectionWith(BEARER, '    interval: 5m'),
    expected: `:5: connections[0].interval: unknown key "interval": authwatch's word for Gatus's "interval" is "schedule", a cron expression (e.g. schedule: "*/5 * * * *")`,
  },
  // A dozen (and more) other mistakes people make.
  {
    name: 'a duration as the schedule',
    text: connectionWith('    schedule: 5m', BEARER),
    expected: ':4: connections[0].schedule: is a cron expression, not a duration: every 5m is schedule: "*/5 * * * *"',
  },
  {
    name: "Gatus's @every as the schedule",
    text: connectionWith('    schedule: "@every 10m"', BEARER),
    expected: ':4: connections[0].schedule: is a cron expression, not a duration: every 10m is schedule: "*/10 * * * *"',
  },
  {
    name: 'a schedule with four fields',
    text: connectionWith('    schedule: "*/5 * * *"', BEARER),
    expected: ':4: connections[0].schedule: must be a cron expression with 5 fields, or 6 with seconds first (e.g. "*/5 * * * *")',
  },
  {
    name: 'a retention in words',
    text: ['storage:', '  retention: 90 days', ...HEAD, BEARER, ''].join('\n'),
    expected: ':2: storage.retention: must be a duration such as 500ms, 15s, 5m, 1h or 14d: write retention: 90d',
  },
  {
    name: 'a personal access token as an auth type',
    text: connectionWith('    auth: { type: pat, secret: { env: JIRA_PAT } }'),
    expected: ':4: connections[0].auth.type: must be one of basic, bearer, header, oauth2 (a Data Center personal access token is type: bearer)',
  },
  {
    name: 'a typo in the auth type',
    text: connectionWith('    auth: { type: basci, username: bot@acme.com, secret: { env: JIRA_TOKEN } }'),
    expected: ':4: connections[0].auth.type: must be one of basic, bearer, header, oauth2; did you mean "basic"?',
  },
  {
    name: 'the password under "password"',
    text: connectionWith('    auth: { type: basic, username: bot@acme.com, password: { env: JIRA_TOKEN } }'),
    expected: ':4: connections[0].auth.password: unknown key "password": the password goes in "secret", as { env: NAME } or { file: PATH }',
  },
  {
    name: 'a typo in a secret reference',
    text: connectionWith('    auth: { type: bearer, secret: { envv: JIRA_PAT } }'),
    expected: ':4: connections[0].auth.secret: unknown key "envv"; did you mean "env"? (must be { env: NAME }, { file: PATH } or a string)',
  },
  {
    name: 'a secret from both env and file',
    text: connectionWith('    auth: { type: bearer, secret: { env: JIRA_PAT, file: /run/pat } }'),
    expected: ':4: connections[0].auth.secret: must be { env: NAME }, { file: PATH } or a string: give env or file, not both',
  },
  {
    name: 'a username under a bearer token',
    text: connectionWith('    auth: { type: bearer, username: bot, secret: { env: JIRA_PAT } }'),
    expected: ':4: connections[0].auth.username: unknown key "username" (allowed here: type, secret, expiresAt)',
  },
  {
    name: 'auth as a word',
    text: connectionWith('    auth: bearer'),
    expected: ':4: connections[0].auth: must be a mapping of key: value lines indented below it, not a string',
  },
  {
    name: 'no auth',
    text: connectionWith(),
    expected: ':2: connections[0].auth: is required: how the integration logs in, e.g. auth: { type: basic, username: bot@acme.com, secret: { env: JIRA_TOKEN } }',
  },
  {
    name: 'no url',
    text: ['connections:', '  - name: jira', BEARER, ''].join('\n'),
    expected: ':2: connections[0].url: is required: the Jira base URL, e.g. url: https://acme.atlassian.net',
  },
  {
    name: 'a URL with the API path',
    text: ['connections:', '  - name: jira', '    url: https://acme.atlassian.net/rest/api/3/myself', BEARER, ''].join('\n'),
    expected:
      ':3: connections[0].url: ends in an API path (/rest/api/3/myself): give the base URL only, url: https://acme.atlassian.net (authwatch adds the API path; set path: to probe another)',
  },
  {
    name: 'plain http to a remote Jira',
    text: ['connections:', '  - name: jira', '    url: http://jira.acme.com', BEARER, ''].join('\n'),
    expected: ':3: connections[0].url: must use https (plain http is allowed only to a loopback address)',
  },
  {
    name: 'a connection name with capitals and a space',
    text: ['connections:', '  - name: Jira Cloud', '    url: https://acme.atlassian.net', BEARER, ''].join('\n'),
    expected: ':2: connections[0].name: must use only a-z, 0-9, _ and -, e.g. name: jira-cloud',
  },
  {
    name: 'a capitalised deployment',
    text: connectionWith('    deployment: Cloud', BEARER),
    expected: ':4: connections[0].deployment: must be one of cloud, datacenter; did you mean "cloud"?',
  },
  {
    name: 'a TLS version as a number',
    text: connectionWith('    tls: { minVersion: 1.2 }', BEARER),
    expected: ':4: connections[0].tls.minVersion: must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3; did you mean "TLSv1.2"?',
  },
  {
    name: 'a quoted threshold',
    text: connectionWith('    failureThreshold: "3"', BEARER),
    expected: ':4: connections[0].failureThreshold: must be a number: write 3 without quotes',
  },
  {
    name: 'a US date as expiresAt',
    text: connectionWith('    auth: { type: bearer, secret: { env: JIRA_PAT }, expiresAt: 12/31/2026 }'),
    expected: ':4: connections[0].auth.expiresAt: must be a date written YYYY-MM-DD, e.g. 2026-12-31',
  },
  {
    name: 'a port alone as server.listen',
    text: ['server:', '  listen: 9477', ...HEAD, BEARER, ''].join('\n'),
    expected: ':2: server.listen: must be host:port: write listen: "127.0.0.1:9477"',
  },
  {
    name: 'a reserved label name',
    text: connectionWith('    labels: { instance: prod }', BEARER),
    expected: `:4: connections[0].labels.instance: "instance" is reserved by authwatch's metrics; choose another label name`,
  },
  {
    name: 'a typo in a storage key',
    text: ['storage:', '  retension: 30d', ...HEAD, BEARER, ''].join('\n'),
    expected: ':2: storage.retension: unknown key "retension"; did you mean "retention"?',
  },
  {
    name: "Gatus's endpoints instead of connections",
    text: ['endpoints:', '  - name: jira', '    url: https://acme.atlassian.net', BEARER, ''].join('\n'),
    expected: `:1: endpoints: unknown key "endpoints": authwatch's word for Gatus's "endpoints" is "connections"`,
  },
  {
    name: 'connections as a mapping, without "- "',
    text: ['connections:', '  name: jira', '  url: https://acme.atlassian.net', '  auth: { type: bearer, secret: { env: JIRA_PAT } }', ''].join('\n'),
    expected: ':2: connections: must be a list: start each entry with "- "',
  },
  {
    name: 'a key given twice',
    text: connectionWith('    url: https://other.atlassian.net', BEARER),
    expected: ':4: YAML syntax: a key given twice in the same mapping: keep one',
  },
  {
    name: 'a missing colon',
    text: connectionWith('    path /rest/api/2/myself', BEARER),
    expected: ':4: YAML syntax: a line that is not "key: value": is the ":" (and a space) after the key missing?',
  },
  {
    name: 'two documents',
    text: connectionWith(BEARER) + '---\nconnections: []\n',
    expected: ':5: YAML syntax: more than one document (a second ---): the config is one document',
  },
  // The bad input of issue #12.
  {
    name: 'a YAML alias bomb',
    text: ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((key, i) => `${key}: &${key} [${new Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`), ''].join('\n'),
    expected: ":2: YAML aliases expand to too much (Excessive alias count indicates a resource exhaustion attack): authwatch's config needs no anchors or aliases; write the values out",
  },
  {
    name: 'nesting far too deep',
    text: `connections: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`,
    expected: ':1: YAML nests far deeper than any authwatch config (at most 6 levels): is this the right file?',
  },
  {
    name: 'a huge file',
    text: () => Buffer.alloc(17 * 1024 * 1024, '# padding padding padding padding\n'),
    expected: ': the config is 17 MiB, more than the 16 MiB authwatch reads: is --config the right file?',
  },
  {
    name: 'Latin-1 bytes',
    text: Buffer.concat([Buffer.from(connectionWith(BEARER)), Buffer.from('    labels: { team: caf\xe9 }\n', 'latin1')]),
    expected: ':5: byte 0xE9 is not UTF-8: save the config as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE)',
  },
  {
    name: 'a UTF-16 file',
    text: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(connectionWith(BEARER), 'utf16le')]),
    expected: ':1: the config is UTF-16: save it as UTF-8',
  },
  {
    name: 'storage.path under a regular file',
    text: (dir) => ['storage:', `  path: ${join(dir, 'a-file', 'authwatch.db')}`, ...HEAD, BEARER, ''].join('\n'),
    expected: (dir) =>
      `:2: storage.path: ${join(dir, 'a-file')} is a file, not a directory, so ${join(dir, 'a-file', 'authwatch.db')} cannot be created there: choose a path in a directory, e.g. /var/lib/authwatch/authwatch.db`,
  },
  {
    name: 'storage.path naming a directory',
    text: (dir) => ['storage:', `  path: ${join(dir, 'a-dir')}`, ...HEAD, BEARER, ''].join('\n'),
    expected: (dir) => `:2: storage.path: ${join(dir, 'a-dir')} is a directory: give a file path inside it, e.g. storage.path: ${join(dir, 'a-dir')}/authwatch.db`,
  },
  {
    name: 'an empty file',
    text: '',
    expected: ': connections: is empty: authwatch would watch nothing; add at least one connection (name, url, auth), see docs/configuration.md',
  },
  {
    name: 'connections: []',
    text: 'connections: []\n',
    expected: ':1: connections: is empty: authwatch would watch nothing; add at least one connection (name, url, auth), see docs/configuration.md',
  },
];

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'authwatch-e2e-config-errors-'));
  writeFileSync(join(dir, 'a-file'), 'not a directory\n');
  mkdirSync(join(dir, 'a-dir'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`authwatch validate answers each of ${CASES.length} broken configs in one line with exit 2`, () => {
  CASES.forEach((item, index) => {
    test(item.name, async () => {
      const configPath = join(dir, `case-${index}.yaml`);
      writeFileSync(configPath, typeof item.text === 'function' ? item.text(dir) : item.text);
      const result = await runCli(['--config', configPath, 'validate']);
      const expected = typeof item.expected === 'function' ? item.expected(dir) : item.expected;
      const located = expected.startsWith(':') && /^:\d+:/.test(expected);
      const prefix = located || !/^: the config is \d+ MiB/.test(expected) ? 'authwatch: invalid config, nothing started: ' : 'authwatch: ';
      assert.equal(result.stderr, `${prefix}${configPath}${expected}\n`);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.doesNotMatch(result.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
    });
  });
});

test('the same mistakes are what `run` says, and nothing starts', async () => {
  const configPath = join(dir, 'run-timeout.yaml');
  writeFileSync(configPath, connectionWith('    timeout: 15', BEARER));
  const result = await runCli(['--config', configPath, 'run']);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    `authwatch: invalid config, nothing started: ${configPath}:4: connections[0].timeout: 15 has no unit: add one, e.g. timeout: 15s (a duration such as 500ms, 15s, 5m, 1h or 14d)\n`,
  );
});

test('run as a user who may not write the directory of storage.path: exit 2 naming storage.path and the fix', (t) => {
  const setpriv = spawnSync('setpriv', ['--version']);
  if (process.getuid?.() !== 0 || setpriv.error) {
    t.skip('needs root and setpriv(1) to run the CLI as another user (root may write anywhere)');
    return;
  }
  const shared = join(dir, 'shared');
  mkdirSync(join(shared, 'root-only'), { recursive: true });
  for (const path of [dir, shared, join(shared, 'root-only')]) chmodSync(path, 0o755);
  const configPath = join(shared, 'unwritable.yaml');
  writeFileSync(configPath, ['server: { listen: "127.0.0.1:0" }', 'storage:', `  path: ${join(shared, 'root-only', 'db', 'authwatch.db')}`, ...HEAD, BEARER, ''].join('\n'), { mode: 0o644 });
  const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI_PATH, '--config', configPath, 'run'], {
    env: childEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 2, result.stderr);
  assert.equal(
    result.stderr,
    `authwatch: invalid config, nothing started: ${configPath}: storage.path: ${join(shared, 'root-only')} is not writable by this user: give it to the user authwatch runs as (systemd: StateDirectory=authwatch) or choose another storage.path\n`,
  );
  assert.equal(result.stdout, '', 'nothing started, nothing logged');
});
