// SIGHUP on the built daemon: a valid new config adds and removes connections without a restart (the removed one's
// series leave /metrics, its history stays in the database); an invalid one is rejected with its problems logged
// and the old config keeps probing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess, eventually, runCli, type LogLine } from '../support/cli.js';
import { secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { configYaml, daemonWorkspace, fetchJson, jiraConnection, samplesOf, scrape, valueOf, type DaemonWorkspace } from '../support/daemon-config.js';
import type { ConnectionView } from '../../src/server/read-model.js';

function connectionsIn(samples: { labels: Record<string, string> }[]): string[] {
  return [...new Set(samples.map((sample) => sample.labels.connection).filter((name): name is string => name !== undefined))].sort();
}

describe('authwatch run: SIGHUP reload', () => {
  let fixture: JiraFixture;
  let workspace: DaemonWorkspace;
  let daemon: DaemonProcess;
  let url: string;
  let env: Record<string, string> = {};
  let entries: Record<string, Record<string, unknown>> = {};

  before(async () => {
    fixture = await startJiraFixture();
    workspace = daemonWorkspace('authwatch-e2e-reload-');
    const caFile = fixture.pki.caFile;
    for (const name of ['keep', 'dropped', 'added']) {
      const tenant = fixture.tenant({ deployment: 'cloud' });
      const secret = secretEnv(fixture.jira.tenant(tenant).credentials.apiToken);
      env = { ...env, ...secret.env };
      entries[name] = jiraConnection(fixture.jira, tenant, { name, auth: 'cloud-basic', secret: secret.ref, caFile });
    }
    workspace.write({ connections: [entries.keep, entries.dropped] });
    daemon = new DaemonProcess(workspace.configPath, { env });
    url = await daemon.url();
  });

  after(async () => {
    await daemon?.kill();
    await fixture?.close();
    workspace?.cleanup();
  });

  const okProbe = (connection: string) => (line: LogLine) => line.msg === 'probe' && line.connection === connection && line.outcome === 'ok';

  it('a valid config adds one connection and removes another; the removed series disappear', async () => {
    await daemon.waitForLog(okProbe('keep'), 15_000, 'keep probed');
    await daemon.waitForLog(okProbe('dropped'), 15_000, 'dropped probed');
    const initial = await scrape(url);
    assert.deepEqual(connectionsIn(samplesOf(initial.samples, 'authwatch_connection_info')), ['dropped', 'keep']);
    assert.ok(connectionsIn(initial.samples).includes('dropped'));
    const loadedAt = valueOf(initial.samples, 'authwatch_config_last_reload_timestamp_seconds')!;
    const keepProbedBefore = valueOf(initial.samples, 'authwatch_last_probe_timestamp_seconds', { connection: 'keep' })!;

    workspace.write({ connections: [entries.keep, entries.added] });
    daemon.signal('SIGHUP');
    const reloaded = await daemon.waitForLog((line) => line.msg === 'config reloaded', 10_000, 'config reloaded');
    assert.equal(reloaded.connections, 2);
    await daemon.waitForLog(okProbe('added'), 15_000, 'the added connection probed');

    const { samples, text } = await eventually(async () => {
      const scraped = await scrape(url);
      const keepProbedAgain = valueOf(scraped.samples, 'authwatch_last_probe_timestamp_seconds', { connection: 'keep' })! > keepProbedBefore;
      return valueOf(scraped.samples, 'authwatch_auth_state', { connection: 'added', state: 'ok' }) === 1 && keepProbedAgain ? scraped : null;
    }, 10_000);
    assert.deepEqual(connectionsIn(samples), ['added', 'keep'], 'no series of the removed connection is left');
    assert.ok(!text.includes('"dropped"'), 'the removed connection appears nowhere in /metrics');
    assert.deepEqual(connectionsIn(samplesOf(samples, 'authwatch_connection_info')), ['added', 'keep']);
    assert.equal(valueOf(samples, 'authwatch_probe_success', { connection: 'added' }), 1);
    assert.ok(valueOf(samples, 'authwatch_last_probe_timestamp_seconds', { connection: 'keep' })! > keepProbedBefore, 'the kept connection keeps being probed');
    assert.equal(valueOf(samples, 'authwatch_auth_state', { connection: 'keep', state: 'ok' }), 1, 'the kept connection keeps its state');
    assert.equal(valueOf(samples, 'authwatch_config_last_reload_successful'), 1);
    assert.ok(valueOf(samples, 'authwatch_config_last_reload_timestamp_seconds')! > loadedAt);

    const api = await fetchJson<ConnectionView[]>(`${url}/api/v1/connections`);
    assert.deepEqual(api.map((view) => view.name).sort(), ['added', 'keep']);
    const droppedProbesSeen = daemon.logs().filter((line) => line.msg === 'probe' && line.connection === 'dropped').length;
    const history = await runCli(['--config', workspace.configPath, 'history', 'dropped', '--json'], { env });
    assert.equal(history.code, 0, history.stderr);
    const recorded = (JSON.parse(history.stdout) as { probes: unknown[] }).probes.length;
    assert.equal(recorded, droppedProbesSeen, "the removed connection's history stays in the database");
  });

  it('an invalid config is rejected with its problems and the old config keeps running', async () => {
    const before = await scrape(url);
    const lastLoad = valueOf(before.samples, 'authwatch_config_last_reload_timestamp_seconds');
    const broken = configYaml({ connections: [entries.keep, { ...entries.added, schedule: 'every now and then', retries: 3 }] }, workspace.dbPath);
    workspace.writeRaw(broken);
    const rejectedBefore = daemon.logs().length;
    daemon.signal('SIGHUP');
    const rejected = await daemon.waitForLog((line) => line.msg.startsWith('config reload rejected'), 10_000, 'config reload rejected');
    assert.equal(rejected.level, 'error');
    assert.match(rejected.msg, /previous config stays in force/);
    const problems = String(rejected.problems);
    assert.match(problems, /connections\[1\]\.schedule/, problems);
    assert.match(problems, /connections\[1\]\.retries|"retries"/, problems);
    assert.match(problems, /authwatch\.yaml:\d+/, 'problems name the file and line');
    assert.ok(!daemon.logs().slice(rejectedBefore).some((line) => line.msg === 'config reloaded'));

    const probesOf = (name: string) => daemon.logs().filter(okProbe(name)).length;
    const keepSeen = probesOf('keep');
    const addedSeen = probesOf('added');
    await daemon.waitForLog(() => probesOf('keep') >= keepSeen + 2 && probesOf('added') >= addedSeen + 2, 15_000, 'probes continuing on the old config');

    const { samples } = await scrape(url);
    assert.equal(valueOf(samples, 'authwatch_config_last_reload_successful'), 0);
    assert.equal(valueOf(samples, 'authwatch_config_last_reload_timestamp_seconds'), lastLoad, 'the config in force is still the one loaded before');
    assert.deepEqual(connectionsIn(samplesOf(samples, 'authwatch_connection_info')), ['added', 'keep']);
    assert.equal(daemon.child.exitCode, null, 'still running');

    const stopped = await daemon.stop();
    assert.equal(stopped.code, 0, daemon.stderr);
  });
});
