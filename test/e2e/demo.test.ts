// `authwatch demo` is the README's first command: it must work on a fresh machine with no Jira, show a regression
// happen with the notification it produces, serve /metrics and the API while it runs, and stop cleanly on Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { CLI_PATH, childEnv, eventually } from '../support/cli.js';

test('demo: check table, then the daemon sees cloud-api-token regress and the Slack message arrives; Ctrl-C exits 0', async (t) => {
  const child = spawn(process.execPath, [CLI_PATH, 'demo', '--listen', '127.0.0.1:0', '--flip-after', '4s', '--schedule', '*/1 * * * * *'], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = once(child, 'close');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const describeOutput = () => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) =>
    eventually(() => pattern.exec(stdout), timeoutMs).catch(() => assert.fail(`no ${pattern} in the demo's output\n${describeOutput()}`));

  await waitFor(/^CONNECTION\s+OUTCOME\s+HTTP\s+TLS\s+LATENCY\s+DIAGNOSIS$/m);
  await waitFor(/\d+ of \d+ connections authenticated\./);
  for (const outcome of ['basic_auth_rejected', 'credential_malformed', 'scope_mismatch', 'tls_handshake_failed', 'basic_auth_disabled', 'redirected', 'credential_missing']) {
    assert.match(stdout, new RegExp(`✗ ${outcome}`), `the check table shows ${outcome}`);
  }
  const [, base] = await waitFor(/(http:\/\/127\.0\.0\.1:\d+)\/metrics/);
  const [, configPath] = await waitFor(/^config: (\S+)/m);

  const metrics = await eventually(async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return text.includes('authwatch_auth_state{connection="cloud-api-token",state="ok"} 1') ? text : null;
  }, 20_000);
  assert.match(metrics, /authwatch_connection_info\{connection="dc-pat"/);
  const api = (await (await fetch(`${base}/api/v1/connections`)).json()) as { name: string }[];
  assert.equal(api.length, 11);
  // One connection through the demo's HTTP proxy, one with a client certificate: both authenticate.
  for (const name of ['dc-via-proxy', 'dc-mtls']) assert.match(stdout, new RegExp(`^${name}\\s+ok\\s+200\\s`, 'm'), `${name} is ok in the check table`);

  await waitFor(/state cloud-api-token: ok → regressed \(basic_auth_rejected/, 40_000);
  await waitFor(/Slack message received:\n(?:.*\n)*?\s+│ .*cloud-api-token.*\n(?:\s+│ .*\n)*?\s+│ .*credential unchanged/, 20_000);

  child.kill('SIGINT');
  const [code] = (await closed) as [number | null];
  assert.equal(code, 0, describeOutput());
  assert.match(stdout, /stopping…/);
  assert.equal(existsSync(configPath), false, 'the demo removes its temporary files');
  assert.doesNotMatch(stderr, /Error|at .*\.js:\d+/, 'no stack trace');
});
