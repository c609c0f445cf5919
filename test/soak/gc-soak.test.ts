// The daemon under garbage-collector pressure: a few hundred connections on a seconds schedule while a full GC is
// forced every 20 ms, then a SIGTERM that must end in exit 0. better-sqlite3 12 aborted the process on Node >= 24.19
// when a collection finalized a statement (`Assertion failed: (env) != nullptr` in RemoveEnvironmentCleanupHook);
// this is the check that catches that kind of crash on every Node version CI runs. The second phase ages the first
// phase's history by two hours and restarts the daemon with a one-second retention, so that start-up upkeep rolls
// its hours up and prunes its rows in many batches, the path where better-sqlite3 12 aborted; `status` and
// `history` read the database under the same pressure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { DaemonProcess, eventually, runCli } from '../support/cli.js';
import { secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { daemonWorkspace, jiraConnection, samplesOf, scrape, type DaemonWorkspace } from '../support/daemon-config.js';

const GC_PRESSURE = fileURLToPath(new URL('../support/gc-pressure.js', import.meta.url));
const CONNECTIONS = 240;
/** The soak lasts until this many full collections ran in the daemon (and every connection was probed twice). */
const COLLECTIONS = 300;
const AGE_MS = 2 * 3_600_000;

let fixture: JiraFixture;
let workspace: DaemonWorkspace;
let daemon: DaemonProcess | undefined;
const pressure = ['--expose-gc', '--import', GC_PRESSURE];

function collectionsSoFar(process: DaemonProcess): number {
  return Math.max(0, ...[...process.stderr.matchAll(/gc-pressure: (\d+) collections/g)].map((match) => Number(match[1])));
}

async function stopCleanly(process: DaemonProcess, phase: string): Promise<number> {
  const { code, signal } = await process.stop();
  const collections = collectionsSoFar(process);
  assert.equal(signal, null, `${phase}: killed by ${signal}:\n${process.stderr.slice(-3000)}`);
  assert.equal(code, 0, `${phase}: exit ${code}:\n${process.stderr.slice(-3000)}`);
  assert.doesNotMatch(process.stderr, /Assertion failed|FATAL ERROR|Segmentation/);
  return collections;
}

before(async () => {
  fixture = await startJiraFixture();
  workspace = daemonWorkspace('authwatch-soak-gc-');
});
after(async () => {
  await daemon?.kill();
  await fixture.close();
  workspace.cleanup();
});

test(`${CONNECTIONS} connections every 2 s under forced garbage collection (${COLLECTIONS} collections) on Node ${process.version}, then SIGTERM exits 0`, async () => {
  const cloud = fixture.tenant({ deployment: 'cloud' });
  const pat = fixture.tenant({ deployment: 'datacenter' });
  const good = secretEnv(fixture.jira.tenant(cloud).credentials.apiToken);
  const wrong = secretEnv('ATATT3xFfGF0-not-the-token-of-this-account');
  const patSecret = secretEnv(fixture.jira.tenant(pat).credentials.pat);
  const connections = Array.from({ length: CONNECTIONS }, (_, index) => {
    const name = `soak-${index}`;
    if (index % 3 === 0) return jiraConnection(fixture.jira, pat, { name, auth: 'dc-pat', secret: patSecret.ref, caFile: fixture.pki.caFile });
    const secret = index % 3 === 1 ? good : wrong;
    return jiraConnection(fixture.jira, cloud, { name, auth: 'cloud-basic', secret: secret.ref, caFile: fixture.pki.caFile });
  });
  workspace.write({ connections, defaults: { schedule: '*/2 * * * * *' } });

  const env = { ...good.env, ...wrong.env, ...patSecret.env };
  daemon = new DaemonProcess(workspace.configPath, { env, logLevel: 'info', nodeArgs: pressure });
  const url = await daemon.url();
  const probesSoFar = async () => samplesOf((await scrape(url)).samples, 'authwatch_probes_total').reduce((sum, sample) => sum + sample.value, 0);

  await eventually(async () => collectionsSoFar(daemon!) >= COLLECTIONS && (await probesSoFar()) >= CONNECTIONS * 2, 180_000, 1_000);
  assert.equal(daemon.child.exitCode, null, `the daemon died during the soak:\n${daemon.stderr.slice(-3000)}`);
  const probed = await probesSoFar();
  const { samples } = await scrape(url);
  const states = new Map(samplesOf(samples, 'authwatch_auth_state').filter((sample) => sample.value === 1).map((sample) => [sample.labels.connection, sample.labels.state]));

  const collections = await stopCleanly(daemon, 'first run');
  console.log(`Node ${process.version}: ${probed} probes, ${collections} garbage collections`);
  assert.ok(collections >= COLLECTIONS, `only ${collections} garbage collections ran`);
  assert.ok(probed >= CONNECTIONS * 2, `only ${probed} probes in the soak`);
  assert.equal(states.get('soak-0'), 'ok', 'a DC PAT connection is ok');
  assert.equal(states.get('soak-1'), 'ok', 'a Cloud API token connection is ok');
  assert.equal(states.get('soak-2'), 'failing', 'a wrong token is failing');

  for (const args of [['status'], ['history', 'soak-1', '--limit', '500']]) {
    const read = await runCli(['--config', workspace.configPath, ...args], { env, nodeArgs: pressure });
    assert.equal(read.signal, null, `${args[0]}: killed by ${read.signal}:\n${read.stderr}`);
    assert.equal(read.code, 0, `${args[0]}: exit ${read.code}:\n${read.stderr}`);
  }

  // Two hours older: their hours are over (by more than the roll-up's 15 minutes), so the upkeep rolls them up
  // before it prunes their raw probes.
  const db = new Database(workspace.dbPath);
  db.exec(`UPDATE probes SET started_ms = started_ms - ${AGE_MS};
    UPDATE probe_details SET first_ms = first_ms - ${AGE_MS}, last_ms = last_ms - ${AGE_MS};
    UPDATE events SET at = strftime('%Y-%m-%dT%H:%M:%fZ', julianday(at) - ${AGE_MS / 86_400_000});
    UPDATE connections SET first_seen = strftime('%Y-%m-%dT%H:%M:%fZ', julianday(first_seen) - ${AGE_MS / 86_400_000});`);
  db.close();
  workspace.write({ connections, defaults: { schedule: '*/2 * * * * *' }, retention: '1s' });
  daemon = new DaemonProcess(workspace.configPath, { env, logLevel: 'info', nodeArgs: pressure });
  // Under forced collections on a busy 2-core machine the upkeep (roll up, then prune) can take tens of seconds.
  const pruned = await daemon.waitForLog((line) => line.msg === 'pruned old rows', 90_000, 'start-up pruning');
  assert.ok(Number(pruned.probes) >= CONNECTIONS * 2, `start-up pruning deleted ${pruned.probes} probes`);
  await sleep(3_000);
  await stopCleanly(daemon, 'restart with pruning');
});
