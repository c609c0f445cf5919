// deploy/systemd/authwatch.service, checked by this machine's systemd-analyze: it loads cleanly as installed,
// and its hardening scores an overall exposure of at most 2.5 ("OK").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeRun, repoPath, requireTool, runTool } from '../support/deploy-tools.js';
import { makeSystemdRoot, parseExposure, parseUnit, unitExecutables } from '../support/deploy-systemd.js';

const UNIT_NAME = 'authwatch.service';
const UNIT_PATH = repoPath('deploy/systemd', UNIT_NAME);
const unitText = readFileSync(UNIT_PATH, 'utf8');
const MAX_EXPOSURE = 2.5;

// `npm install -g` makes /usr/local/bin/authwatch a link to the package's dist/src/cli/main.js (package.json "bin");
// the built file stands in for it inside the temporary root.
const BUILT_CLI = repoPath('dist/src/cli/main.js');
const INSTALLED_CLI = '/usr/local/bin/authwatch';

test('systemd-analyze verify accepts the unit installed in a root that has the authwatch executable', async (t) => {
  const systemdAnalyze = requireTool('systemd-analyze');
  assert.deepEqual(unitExecutables(unitText)[0], INSTALLED_CLI, 'ExecStart runs the npm-installed CLI, as docs/install.md says');
  const root = makeSystemdRoot(UNIT_NAME, unitText, { [INSTALLED_CLI]: BUILT_CLI });
  t.after(() => rmSync(root, { recursive: true, force: true }));

  const result = await runTool(systemdAnalyze, ['verify', `--root=${root}`, UNIT_NAME]);
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(result.stderr.trim(), '', `verify printed warnings:\n${result.stderr}`);
});

test('systemd-analyze verify rejects the same unit when the authwatch executable is missing (the check is real)', async (t) => {
  const systemdAnalyze = requireTool('systemd-analyze');
  const root = makeSystemdRoot(UNIT_NAME, unitText, { [INSTALLED_CLI]: BUILT_CLI });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  rmSync(join(root, INSTALLED_CLI));

  const result = await runTool(systemdAnalyze, ['verify', `--root=${root}`, UNIT_NAME]);
  assert.notEqual(result.code, 0, describeRun(result));
  assert.match(result.stderr, /\/usr\/local\/bin\/authwatch is not executable/);
});

test(`systemd-analyze security rates the unit's overall exposure at most ${MAX_EXPOSURE}`, async (t) => {
  const systemdAnalyze = requireTool('systemd-analyze');
  const result = await runTool(systemdAnalyze, ['security', '--offline=true', '--no-pager', UNIT_PATH]);
  assert.equal(result.code, 0, describeRun(result));
  const exposure = parseExposure(result.stdout);
  assert.notEqual(exposure, null, `no overall exposure in the output:\n${result.stdout}`);
  t.diagnostic(`systemd-analyze security --offline=true: overall exposure ${exposure} (limit ${MAX_EXPOSURE})`);
  assert.ok(exposure! <= MAX_EXPOSURE, `exposure ${exposure} is above ${MAX_EXPOSURE}:\n${result.stdout}`);

  // systemd-analyze's own gate agrees (--threshold is in tenths).
  const gated = await runTool(systemdAnalyze, ['security', '--offline=true', '--no-pager', `--threshold=${MAX_EXPOSURE * 10}`, UNIT_PATH]);
  assert.equal(gated.code, 0, describeRun(gated));
});

test('the unit keeps the hardening and the settings the install guide relies on', () => {
  const service = new Map<string, string[]>();
  for (const { section, key, value } of parseUnit(unitText)) {
    if (section !== 'Service') continue;
    service.set(key, [...(service.get(key) ?? []), value]);
  }
  const one = (key: string) => service.get(key)?.at(-1);
  assert.equal(one('ExecStart'), `${INSTALLED_CLI} run --config /etc/authwatch/authwatch.yaml`);
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID', 'reload is SIGHUP');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('DynamicUser'), 'yes');
  assert.equal(one('StateDirectory'), 'authwatch', 'the database lives in /var/lib/authwatch (storage.path default)');
  assert.equal(one('ConfigurationDirectory'), 'authwatch');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX');
  assert.equal(service.get('SystemCallFilter')?.[0], '@system-service');
  assert.equal(one('CapabilityBoundingSet'), '');
  assert.equal(service.has('MemoryDenyWriteExecute'), false, "V8's JIT needs writable+executable memory");
  assert.equal(service.has('IPAddressDeny'), false, 'probes must reach Jira wherever it is');

  const install = readFileSync(repoPath('docs/install.md'), 'utf8');
  assert.ok(install.includes(INSTALLED_CLI), 'docs/install.md installs the CLI where ExecStart expects it');
  assert.ok(install.includes('/run/credentials/authwatch.service/'), 'docs/install.md explains how the config refers to LoadCredential files');
});
