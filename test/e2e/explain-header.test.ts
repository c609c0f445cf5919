import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The built CLI as a user runs it: `printf … | authwatch explain-header [--deployment …]`.
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const EMAIL = 'fred.integration@example.com';
const SECRET = 'Qz8vLr2KwX5mT9pN4bY7cH1d'; // shaped like a classic Cloud API token

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function explainHeader(stdin: string, args: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'explain-header', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function assertNothingLeaks(run: Run, ...secrets: string[]): void {
  const output = run.stdout + run.stderr;
  for (const secret of secrets) assert.ok(!output.includes(secret), `output contains ${JSON.stringify(secret)}:\n${output}`);
}

test('the `echo user:token | base64` header: trailing_newline, exit 1, the secret never printed', async () => {
  const encoded = b64(`${EMAIL}:${SECRET}\n`);
  // As `echo "Basic $(echo fred:… | base64)" | authwatch explain-header` sends it: the shell's own newline at the end.
  const run = await explainHeader(`Basic ${encoded}\n`, ['--deployment', 'cloud']);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^1 finding \(deployment cloud\):$/m);
  assert.match(run.stdout, /^error\s+trailing_newline\s+The decoded credentials end with a newline/m);
  assert.doesNotMatch(run.stdout, /header value ends with/, "the shell's newline after the header is not reported");
  assertNothingLeaks(run, SECRET, encoded, EMAIL, `${EMAIL}:${SECRET}`);
});

test('a well-formed Cloud header has no findings and exits 0, also when pasted with the header name', async () => {
  const encoded = b64(`${EMAIL}:${SECRET}`);
  const run = await explainHeader(`Authorization: Basic ${encoded}\n`, ['--deployment', 'cloud']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(run.stdout, 'no findings (deployment cloud)\n');
  assertNothingLeaks(run, SECRET, encoded, EMAIL);
});

test('missing colon and Cloud shape warnings are each printed with their code', async () => {
  const tokenOnly = b64(SECRET);
  const missingColon = await explainHeader(`Basic ${tokenOnly}`);
  assert.equal(missingColon.code, 1);
  assert.match(missingColon.stdout, /^error\s+missing_colon\s+/m);
  assertNothingLeaks(missingColon, SECRET, tokenOnly);

  const password = 'Winter2026!pass';
  const usernamePassword = b64(`fredintegration:${password}`);
  const warnings = await explainHeader(`Basic ${usernamePassword}`, ['--deployment', 'cloud']);
  assert.equal(warnings.code, 1);
  assert.match(warnings.stdout, /^2 findings/m);
  assert.match(warnings.stdout, /^warning\s+username_not_email\s+/m);
  assert.match(warnings.stdout, /^warning\s+password_like_secret\s+/m);
  assertNothingLeaks(warnings, password, usernamePassword, 'fredintegration');

  // The same header is fine for Data Center, where it is a username and password.
  const dc = await explainHeader(`Basic ${usernamePassword}`, ['--deployment', 'datacenter']);
  assert.equal(dc.code, 0, dc.stdout);
});

test('a header value that really ends with a newline of its own is reported', async () => {
  const encoded = b64(`${EMAIL}:${SECRET}`);
  const run = await explainHeader(`Basic ${encoded}\n\n`, ['--deployment', 'cloud']);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^error\s+trailing_newline\s+The header value ends with a newline/m);
  assertNothingLeaks(run, SECRET, encoded);
});

test('empty input and an invalid --deployment', async () => {
  const empty = await explainHeader('');
  assert.equal(empty.code, 1);
  assert.match(empty.stdout, /^error\s+empty\s+/m);

  const bad = await explainHeader('Basic Zm9vOmJhcg==', ['--deployment', 'server']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /server/);
  assert.doesNotMatch(bad.stderr, /Zm9vOmJhcg==/);
});
