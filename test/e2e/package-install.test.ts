// The package as a user installs it (docs/install.md, step 2): `npm pack`, then `npm install -g --prefix …` of the
// tarball into a fresh prefix, and the installed `authwatch` run from an unrelated directory: --version, validate
// on the shipped example config, and the demo started and stopped. The shipped systemd unit then verifies in a
// scratch root where the same documented install put the binary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { childEnv, eventually } from '../support/cli.js';
import { describeRun, repoPath, requireTool, runTool } from '../support/deploy-tools.js';
import { makeSystemdRoot } from '../support/deploy-systemd.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const packageJson = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { name: string; version: string };
const UNIT_NAME = 'authwatch.service';
const UNIT_TEXT = readFileSync(repoPath('deploy/systemd', UNIT_NAME), 'utf8');
const INSTALLED_CLI = '/usr/local/bin/authwatch';

let work: string;
let tarball: string;

/** The install command of docs/install.md (`npm install -g --prefix /usr/local …`), with the prefix given. */
async function installInto(prefix: string) {
  assert.match(readFileSync(repoPath('docs/install.md'), 'utf8'), /^npm install -g --prefix \/usr\/local \.\/authwatch-[\d.]+\.tgz$/m);
  const result = await runTool(NPM, ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, timeoutMs: 300_000 });
  assert.equal(result.code, 0, describeRun(result));
  return result;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'authwatch-pack-'));
  // dist/ is already built by `npm test`; --ignore-scripts keeps prepack from rebuilding it under running tests.
  const packed = await runTool(NPM, ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], { cwd: repoPath('.'), timeoutMs: 120_000 });
  assert.equal(packed.code, 0, describeRun(packed));
  const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
  tarball = join(work, filename);
  assert.ok(existsSync(tarball), `npm pack made ${tarball}`);
});
after(() => rmSync(work, { recursive: true, force: true }));

test(`npm install -g of the packed tarball on Node ${process.version}: --version, validate and demo from an unrelated directory`, async () => {
  const prefix = join(work, 'prefix');
  await installInto(prefix);
  const bin = join(prefix, 'bin', 'authwatch');
  const installed = join(prefix, 'lib', 'node_modules', packageJson.name);
  assert.ok(existsSync(bin), `${bin} exists`);
  const elsewhere = join(work, 'elsewhere');
  mkdirSync(elsewhere);
  const env = childEnv({ PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:${process.env.PATH}` });

  const version = await runTool(bin, ['--version'], { cwd: elsewhere, env });
  assert.equal(version.code, 0, describeRun(version));
  assert.equal(version.stdout.trim(), packageJson.version);

  const validate = await runTool(bin, ['validate', '--config', join(installed, 'deploy', 'authwatch.example.yaml')], { cwd: elsewhere, env });
  assert.equal(validate.code, 0, describeRun(validate));
  assert.match(validate.stdout, /valid, \d+ connections/);

  // Source maps ship only with the sources they point at.
  const maps = [...walk(join(installed, 'dist'))].filter((file) => file.endsWith('.map'));
  assert.ok(maps.length > 0, 'the package ships source maps');
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
    for (const source of sources) assert.ok(existsSync(resolve(dirname(map), source)), `${map} points at ${source}, which the package ships`);
  }
  assert.ok(existsSync(join(installed, 'LICENSE')), 'the package ships its LICENSE');

  const demo = spawn(bin, ['demo', '--listen', '127.0.0.1:0', '--schedule', '*/1 * * * * *'], { cwd: elsewhere, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  demo.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  demo.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = once(demo, 'close');
  try {
    const [, base] = await eventually(() => /(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stdout), 60_000).catch(() =>
      assert.fail(`the installed demo never announced its listener\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`),
    );
    await eventually(async () => (await (await fetch(`${base}/metrics`)).text()).includes('authwatch_auth_state{connection="cloud-api-token",state="ok"} 1'), 30_000);
  } finally {
    demo.kill('SIGINT');
  }
  const [code] = (await closed) as [number | null];
  assert.equal(code, 0, `demo exit ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
});

test('systemd-analyze verify passes on the shipped unit after the documented install into a scratch root', async (t) => {
  const systemdAnalyze = requireTool('systemd-analyze');
  const root = makeSystemdRoot(UNIT_NAME, UNIT_TEXT, { [INSTALLED_CLI]: '/bin/true' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  rmSync(join(root, INSTALLED_CLI)); // the stand-in: what the unit runs must come from the install below
  await installInto(join(root, 'usr', 'local'));
  const cli = join(root, INSTALLED_CLI);
  assert.ok(existsSync(cli), `npm install -g --prefix /usr/local puts the CLI at ${INSTALLED_CLI}`);
  assert.match(realpathSync(cli), /\/usr\/local\/lib\/node_modules\/authwatch\/dist\/src\/cli\/main\.js$/);

  const result = await runTool(systemdAnalyze, ['verify', `--root=${root}`, UNIT_NAME]);
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(result.stderr.trim(), '', `verify printed warnings:\n${result.stderr}`);
});
