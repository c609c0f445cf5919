// deploy/authwatch.example.yaml: the built CLI accepts it, it shows every way integrations authenticate, and the
// credentials it names are the ones docs/install.md loads with LoadCredential=.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/load.js';
import type { SecretRef } from '../../src/config/schema.js';
import { slackSecretRefs } from '../../src/notify/slack/destinations.js';
import { describeRun, repoPath, runTool } from '../support/deploy-tools.js';

const EXAMPLE = repoPath('deploy/authwatch.example.yaml');
const CLI = repoPath('dist/src/cli/main.js');
const CREDENTIALS_DIR = '/run/credentials/authwatch.service/';

function validate(configPath: string) {
  return runTool(process.execPath, [CLI, '--config', configPath, 'validate']);
}

test('authwatch validate accepts the example config without warnings', async () => {
  const result = await validate(EXAMPLE);
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /valid, 6 connections/);
  // The corporate CA file the example points at exists only on a real host; anything else would be a real warning.
  const warnings = result.stderr.split('\n').filter((line) => line !== '' && !/tls\.caFile \/etc\/authwatch\/corp-ca\.pem is not readable/.test(line));
  assert.deepEqual(warnings, [], 'no literal secrets, nothing to warn about');
});

test('authwatch validate rejects the example with one mistake in it (exit 2, with the line)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-example-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const broken = join(dir, 'authwatch.yaml');
  const text = readFileSync(EXAMPLE, 'utf8');
  writeFileSync(broken, text.replace('failureThreshold: 1 ', 'failureTreshold: 1 '));
  const result = await validate(broken);
  assert.equal(result.code, 2, describeRun(result));
  const line = text.split('\n').findIndex((l) => l.includes('failureThreshold: 1 ')) + 1;
  assert.match(result.stderr, new RegExp(`authwatch\\.yaml:${line}: connections\\[\\d\\]`));
});

test('the example covers Cloud token, scoped token via the gateway, OAuth 2.0, DC PAT, DC password and a pre-built header', () => {
  const config = loadConfigFile(EXAMPLE);
  const has = (description: string, match: (c: (typeof config.connections)[number]) => boolean) =>
    assert.ok(config.connections.some(match), `no connection for ${description}`);
  has('Cloud API token', (c) => c.deployment === 'cloud' && c.url.endsWith('.atlassian.net') && c.auth.type === 'basic');
  has('Cloud scoped token through the gateway', (c) => /^https:\/\/api\.atlassian\.com\/ex\/jira\/[0-9a-f-]{36}$/.test(c.url) && c.auth.type === 'basic');
  has('OAuth 2.0 client credentials to the gateway', (c) => c.auth.type === 'oauth2' && c.url.startsWith('https://api.atlassian.com/ex/jira/'));
  has('Data Center personal access token', (c) => c.deployment === 'datacenter' && c.auth.type === 'bearer');
  has('Data Center username and password', (c) => c.deployment === 'datacenter' && c.auth.type === 'basic');
  has('pre-built Authorization header', (c) => c.auth.type === 'header');
  assert.ok(config.alerting.slack && config.alerting.alertmanager, 'alerting shows both channels');
});

test('every credential file in the example is one docs/install.md loads with LoadCredential=', () => {
  const config = loadConfigFile(EXAMPLE);
  const refs: SecretRef[] = slackSecretRefs(config.alerting.slack!).map(({ ref }) => ref);
  for (const { auth } of config.connections) refs.push(auth.type === 'oauth2' ? auth.clientSecret : auth.secret);
  const install = readFileSync(repoPath('docs/install.md'), 'utf8');
  for (const ref of refs) {
    assert.notEqual(typeof ref, 'string', 'no literal secrets in the example');
    if (typeof ref === 'string' || !('file' in ref)) continue;
    assert.ok(ref.file.startsWith(CREDENTIALS_DIR), `${ref.file} is a systemd credential`);
    const name = ref.file.slice(CREDENTIALS_DIR.length);
    assert.match(install, new RegExp(`LoadCredential(Encrypted)?=${name}:`), `docs/install.md loads credential ${name}`);
  }
});
