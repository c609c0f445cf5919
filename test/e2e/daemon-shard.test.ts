// `authwatch run --shard I/N`: replicas reading the same config each probe and export their own share, and
// together every connection exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess, eventually } from '../support/cli.js';
import { secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { daemonWorkspace, jiraConnection, samplesOf, scrape, type DaemonWorkspace } from '../support/daemon-config.js';
import { shardOf } from '../../src/daemon/shard.js';

let fixture: JiraFixture;
const workspaces: DaemonWorkspace[] = [];
const daemons: DaemonProcess[] = [];

before(async () => {
  fixture = await startJiraFixture();
});
after(async () => {
  await Promise.all(daemons.map((daemon) => daemon.kill()));
  await fixture.close();
  for (const workspace of workspaces) workspace.cleanup();
});

test('two replicas with --shard 1/2 and 2/2 split the connections without overlap or gap', async () => {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const secret = secretEnv(fixture.jira.tenant(tenant).credentials.apiToken);
  const names = Array.from({ length: 8 }, (_, index) => `conn-${index}`);
  const connections = names.map((name) => jiraConnection(fixture.jira, tenant, { name, auth: 'cloud-basic', secret: secret.ref, caFile: fixture.pki.caFile }));

  const urls: string[] = [];
  for (const shard of ['1/2', '2/2']) {
    const workspace = daemonWorkspace('authwatch-e2e-shard-');
    workspaces.push(workspace);
    workspace.write({ connections });
    const daemon = new DaemonProcess(workspace.configPath, { env: secret.env, args: ['--shard', shard] });
    daemons.push(daemon);
    urls.push(await daemon.url());
  }

  const exported = await Promise.all(
    urls.map((url) =>
      eventually(async () => {
        const { samples } = await scrape(url);
        const probed = samplesOf(samples, 'authwatch_last_probe_timestamp_seconds').map((sample) => sample.labels.connection);
        const configured = samplesOf(samples, 'authwatch_connection_info').map((sample) => sample.labels.connection);
        return probed.length === configured.length && probed.length > 0 ? configured.sort() : null;
      }, 20_000),
    ),
  );
  assert.deepEqual([...exported[0], ...exported[1]].sort(), [...names].sort(), 'together the replicas cover every connection once');
  assert.deepEqual(exported[0], names.filter((name) => shardOf(name, 2) === 1).sort());
  assert.deepEqual(exported[1], names.filter((name) => shardOf(name, 2) === 2).sort());
});
