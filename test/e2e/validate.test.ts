// Config errors as a user meets them (`authwatch validate` / `check` on a broken file), plus the small commands
// around the config: `schema`, `--version`, and an unknown command. The built CLI as a process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../support/cli.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authwatch-e2e-validate-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function assertNoStackTrace(result: CliResult): void {
  assert.doesNotMatch(result.stderr + result.stdout, /^\s+at .+:\d+:\d+\)?$/m, 'a stack trace was printed');
}

const URL_PASSWORD = 'Sup3rS3cret-in-url';

// Six mistakes, each on its own line; every other line is valid.
const BROKEN_CONFIG = `# authwatch config with six mistakes
storage:
  path: /tmp/authwatch-never-created.db
  retention: 90 days
defaults:
  schedule: "*/5 * * *"
  timeout: 15s
connections:
  - name: salesforce-to-jira
    url: https://acme.atlassian.net
    auth:
      type: basic
      username: integration@acme.com
      secret: { env: SF_TOKEN }
    colour: blue
  - name: salesforce-to-jira
    url: https://acme-sandbox.atlassian.net
    auth: { type: bearer, secret: { env: SANDBOX_TOKEN } }
  - name: scriptrunner
    url: http://jira.internal.example.com
    auth: { type: bearer, secret: { env: SR_PAT } }
  - name: legacy-sync
    url: https://svc-sync:${URL_PASSWORD}@jira.internal.example.com
    auth: { type: bearer, secret: { env: SYNC_PAT } }
`;

/** 1-based line of the first line containing `text`, so the expectations follow the config above. */
function lineOf(text: string): number {
  const index = BROKEN_CONFIG.split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `"${text}" is in the config`);
  return index + 1;
}

describe('a config with six mistakes', () => {
  let configPath: string;
  let expected: { line: number; path: string; message: RegExp }[];

  before(async () => {
    configPath = join(dir, 'broken.yaml');
    await writeFile(configPath, BROKEN_CONFIG);
    expected = [
      { line: lineOf('retention: 90 days'), path: 'storage.retention', message: /^must be a duration such as 500ms, 15s, 5m, 1h or 14d: write retention: 90d$/ },
      { line: lineOf('schedule: "*/5 * * *"'), path: 'defaults.schedule', message: /^must be a cron expression with 5 fields, or 6 with seconds first/ },
      { line: lineOf('colour: blue'), path: 'connections[0].colour', message: /^unknown key "colour" \(allowed here: name, url, deployment, path, auth, .*\)$/ },
      {
        line: lineOf('acme-sandbox') - 1,
        path: 'connections[1].name',
        message: /^duplicate connection name "salesforce-to-jira" \(first used by connections\[0\]\)$/,
      },
      { line: lineOf('http://jira.internal'), path: 'connections[2].url', message: /^must use https \(plain http is allowed only to a loopback address\)$/ },
      { line: lineOf('svc-sync:'), path: 'connections[3].url', message: /^must not contain user:password@; put credentials under auth$/ },
    ];
  });

  function assertAllProblemsReported(result: CliResult): void {
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.equal(result.stdout, '', 'nothing was checked or started');
    assertNoStackTrace(result);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'authwatch: invalid config, nothing started (6 problems):');
    assert.equal(lines.length, 1 + expected.length, result.stderr);
    expected.forEach((want, index) => {
      const prefix = `${configPath}:${want.line}: ${want.path}: `;
      const line = lines[index + 1];
      assert.ok(line.startsWith(prefix), `expected "${prefix}…", got "${line}"`);
      assert.match(line.slice(prefix.length), want.message);
    });
    assert.ok(!result.stderr.includes(URL_PASSWORD), 'the password in the URL is not repeated');
  }

  test('validate reports all six, each with its line and YAML path, and exits 2', async () => {
    assertAllProblemsReported(await runCli(['--config', configPath, 'validate']));
  });

  test('check refuses the same config the same way, before probing anything', async () => {
    assertAllProblemsReported(await runCli(['--config', configPath, 'check']));
  });
});

describe('config files that are fine or absent', () => {
  test('validate on a good config exits 0 and says how many connections it has', async () => {
    const configPath = join(dir, 'good.yaml');
    await writeFile(
      configPath,
      [
        'connections:',
        '  - name: salesforce-to-jira',
        '    url: https://acme.atlassian.net',
        '    auth: { type: basic, username: integration@acme.com, secret: { env: SF_TOKEN } }',
        '  - name: scriptrunner',
        '    url: https://jira.acme.internal',
        '    auth: { type: bearer, secret: { file: /run/credentials/authwatch.service/scriptrunner } }',
        '    schedule: "*/30 * * * * *"',
        '',
      ].join('\n'),
    );
    const result = await runCli(['--config', configPath, 'validate']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${configPath}: valid, 2 connections\n`);
    assert.equal(result.stderr, '', 'secrets are not read by validate, so an unset variable is no error');
  });

  test('the shipped example config is valid', async () => {
    const example = new URL('../../../deploy/authwatch.example.yaml', import.meta.url);
    const result = await runCli(['--config', example.pathname, 'validate']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /: valid, \d+ connections?\n$/);
  });

  for (const command of ['validate', 'check']) {
    test(`${command} with a missing config file exits 2 naming the path and --config`, async () => {
      const missing = join(dir, 'no-such-dir', 'authwatch.yaml');
      const result = await runCli(['--config', missing, command]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assertNoStackTrace(result);
      assert.ok(result.stderr.includes(missing), result.stderr);
      assert.match(result.stderr, /file not found/);
      assert.match(result.stderr, /--config/);
    });
  }

  test('without --config the default path is named', async (t) => {
    if (existsSync('/etc/authwatch/authwatch.yaml')) {
      t.skip('this machine has a real /etc/authwatch/authwatch.yaml');
      return;
    }
    const result = await runCli(['validate']);
    assert.equal(result.code, 2);
    assert.ok(result.stderr.includes('/etc/authwatch/authwatch.yaml'), result.stderr);
    assert.match(result.stderr, /--config/);
  });
});

describe('schema, version and unknown commands', () => {
  const JSON_SCHEMA_KEYWORDS = new Set([
    '$schema', '$id', '$ref', '$defs', '$comment', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly',
    'type', 'enum', 'const', 'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
    'multipleOf', 'properties', 'patternProperties', 'additionalProperties', 'propertyNames', 'required', 'minProperties', 'maxProperties',
    'items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains', 'anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else',
  ]);
  const JSON_TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
  type Schema = Record<string, any>;

  /** Every keyword is a JSON Schema 2020-12 keyword, types are JSON types, required keys are declared properties. */
  function assertWellFormed(schema: Schema, where: string): void {
    for (const [keyword, value] of Object.entries(schema)) {
      assert.ok(JSON_SCHEMA_KEYWORDS.has(keyword), `${where}: "${keyword}" is not a JSON Schema keyword`);
      if (keyword === 'type') for (const type of [value].flat()) assert.ok(JSON_TYPES.has(type), `${where}: type "${type}"`);
    }
    if (Array.isArray(schema.required)) {
      for (const key of schema.required) assert.ok(schema.properties && key in schema.properties, `${where}: required "${key}" is declared`);
    }
    for (const [name, sub] of Object.entries<Schema>(schema.properties ?? {})) assertWellFormed(sub, `${where}.${name}`);
    for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
      (schema[keyword] ?? []).forEach((sub: Schema, index: number) => assertWellFormed(sub, `${where}.${keyword}[${index}]`));
    }
    if (schema.items && typeof schema.items === 'object') assertWellFormed(schema.items, `${where}[]`);
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') assertWellFormed(schema.additionalProperties, `${where}{}`);
  }

  test('schema prints a well-formed JSON Schema that rejects unknown top-level keys and lists the auth types', async () => {
    const result = await runCli(['schema']);
    assert.equal(result.code, 0, result.stderr);
    const schema = JSON.parse(result.stdout) as Schema;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.type, 'object');
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(schema.properties).sort(), ['alerting', 'connections', 'defaults', 'metrics', 'server', 'storage']);
    assertWellFormed(schema, '#');

    const connection = schema.properties.connections.items as Schema;
    assert.equal(connection.additionalProperties, false);
    const authVariants = (connection.properties.auth.oneOf ?? connection.properties.auth.anyOf) as Schema[];
    const authTypes = authVariants.flatMap((variant) => variant.properties.type.enum ?? [variant.properties.type.const]);
    assert.deepEqual(authTypes.sort(), ['basic', 'bearer', 'header', 'oauth2']);
    for (const variant of authVariants) assert.equal(variant.additionalProperties, false, `auth ${variant.properties.type.const} rejects unknown keys`);
    assert.deepEqual(connection.properties.deployment.enum, ['cloud', 'datacenter']);
  });

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${pkg.version}\n`);
  });

  test('an unknown command exits 2 and names it', async () => {
    const result = await runCli(['chekc']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: unknown command 'chekc'/);
    assertNoStackTrace(result);
  });

  test('an unknown option exits 2 and names it', async () => {
    const result = await runCli(['check', '--jsn']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--jsn'/);
    assertNoStackTrace(result);
  });
});
