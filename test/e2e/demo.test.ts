// `authwatch demo` is the README's first command: it must work on a fresh machine with no Jira, show a regression
// happen with the notification it produces, serve /metrics and the API while it runs, and stop cleanly on Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { CLI_PATH, childEnv, eventually, runCli } from '../support/cli.js';

test('demo: check table, one line per notification, the regression in full, the recovery; Ctrl-C exits 0', async (t) => {
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
  // One screen: everything before the regression fits in 40 lines, one line per notification sent so far.
  const beforeRegression = stdout.slice(0, stdout.indexOf('state cloud-api-token: ok → regressed')).split('\n');
  assert.ok(beforeRegression.length <= 40, `${beforeRegression.length} lines before the regression:\n${describeOutput()}`);
  const slackLines = beforeRegression.filter((line) => /^\d\d:\d\d:\d\d {2}Slack ← /.test(line));
  assert.equal(slackLines.length, 7, 'the seven connections that never worked: one line each');
  assert.ok(slackLines.every((line) => / — [a-z_]+ \(/.test(line)), 'each line names the outcome');
  assert.doesNotMatch(beforeRegression.join('\n'), /│/, 'no message in full before the regression');
  // The regression in full, then the recovery.
  await waitFor(/Slack ← cloud-api-token: auth regressed — basic_auth_rejected.*\n(?:\s+│ .*\n)*?\s+│ .*credential unchanged/, 20_000);
  await waitFor(/state cloud-api-token: regressed → ok/, 40_000);
  await waitFor(/Slack ← cloud-api-token: auth works again/, 20_000);

  child.kill('SIGINT');
  const [code] = (await closed) as [number | null];
  assert.equal(code, 0, describeOutput());
  assert.match(stdout, /stopping…/);
  assert.equal(existsSync(configPath), false, 'the demo removes its temporary files');
  assert.doesNotMatch(stderr, /Error|at .*\.js:\d+/, 'no stack trace');
});

test('demo with its port taken fails at once, before the check, and names --listen', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => taken.close(resolve)));
  const listen = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
  const result = await runCli(['demo', '--listen', listen]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '', 'nothing was checked');
  assert.equal(
    result.stderr,
    `authwatch demo: cannot listen on ${listen}: the address is already in use (another authwatch, or a demo still running?); choose another address with --listen, e.g. --listen 127.0.0.1:0\n`,
  );
});

test('demo on a terminal under a shell (as npm run demo starts it): Ctrl-C is read as a key and the shell exits 0', async (t) => {
  // script(1) gives the demo a terminal; Ctrl-C typed there would send SIGINT to the whole process group, and the
  // shell npm runs a script in dies of it (npm then exits 130) unless the demo reads Ctrl-C as a key.
  const command = `sh -c '"${process.execPath}" "${CLI_PATH}" demo --listen 127.0.0.1:0 --schedule "*/1 * * * * *"; echo "shell sees exit $?"'`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const closed = once(child, 'close');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await eventually(() => output.includes('Each notification the daemon sends'), 60_000).catch(() => assert.fail(`the demo did not start:\n${output}`));
  child.stdin.write('\x03');
  await eventually(() => output.includes('shell sees exit'), 30_000).catch(() => assert.fail(`the demo did not stop:\n${output}`));
  assert.match(output, /stopping…/);
  assert.match(output, /shell sees exit 0/);
  child.stdin.end();
  await closed;
});
