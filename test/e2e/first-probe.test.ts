// The first minutes of a running daemon, through the built CLI: with a five-minute schedule every connection is
// probed (and recorded) right after start instead of staying unknown for minutes; after a regression, fixing the
// secret file and `authwatch probe NAME` resolves the incident and sends the resolved message at once; the lockout
// back-off holds a requested probe too; the probe endpoint is POST-only and refuses web pages of other origins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DaemonProcess, eventually, runCli } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock, type SlackMock } from '../support/slack-mock.js';
import { daemonWorkspace, fetchJson, jiraConnection, type DaemonWorkspace } from '../support/daemon-config.js';
import { slackText } from '../support/notify-e2e.js';
import { generateApiToken, generatePat } from '../support/jira-mock.js';
import type { ConnectionView } from '../../src/server/read-model.js';

const FIVE_MINUTES = '*/5 * * * *';
const FIRST_PROBE_DEADLINE_MS = 10_000;

describe('authwatch run with a five-minute schedule, and authwatch probe', () => {
  let fixture: JiraFixture;
  let slack: SlackMock;
  let workspace: DaemonWorkspace;
  let daemon: DaemonProcess;
  let spawnedAt: number;
  let url: string;
  const tenants = { cloud: '', pat: '', dcPassword: '' };
  let cloudToken: string;
  let tokenFile: string;
  const secrets: string[] = [];

  before(async () => {
    fixture = await startJiraFixture();
    slack = await startSlackMock();
    workspace = daemonWorkspace('authwatch-e2e-first-probe-');
    tenants.cloud = fixture.tenant({ deployment: 'cloud' });
    const pat = generatePat();
    tenants.pat = fixture.tenant({ deployment: 'datacenter', credentials: { pat } });
    tenants.dcPassword = fixture.tenant({ deployment: 'datacenter', captchaAfterFailures: 3 });
    cloudToken = fixture.jira.tenant(tenants.cloud).credentials.apiToken;
    tokenFile = join(workspace.dir, 'cloud-token');
    writeFileSync(tokenFile, `${cloudToken}\n`, { mode: 0o600 });
    const patFile = join(workspace.dir, 'pat');
    writeFileSync(patFile, `${pat}\n`, { mode: 0o600 });
    const passwordFile = join(workspace.dir, 'dc-password');
    const wrongPassword = `Wr0ng-Passw0rd-${Date.now().toString(36)}`;
    writeFileSync(passwordFile, `${wrongPassword}\n`, { mode: 0o600 });
    secrets.push(cloudToken, pat, wrongPassword, slack.webhookUrl);

    const caFile = fixture.pki.caFile;
    workspace.write({
      defaults: { schedule: FIVE_MINUTES },
      alerting: { slack: { webhookUrl: { env: 'AUTHWATCH_E2E_SLACK' } } },
      connections: [
        jiraConnection(fixture.jira, tenants.cloud, { name: 'cloud', auth: 'cloud-basic', secret: { file: tokenFile }, caFile }),
        jiraConnection(fixture.jira, tenants.pat, { name: 'dc-pat', auth: 'dc-pat', secret: { file: patFile }, caFile }),
        jiraConnection(fixture.jira, tenants.dcPassword, { name: 'dc-password', auth: 'dc-basic', secret: { file: passwordFile }, caFile }),
      ],
    });
    spawnedAt = Date.now();
    daemon = new DaemonProcess(workspace.configPath, { env: { AUTHWATCH_E2E_SLACK: slack.webhookUrl } });
    url = await daemon.url();
  });

  after(async () => {
    await daemon?.kill();
    await slack?.close();
    await fixture?.close();
    workspace?.cleanup();
  });

  const probe = (...args: string[]) => runCli(['--config', workspace.configPath, 'probe', '--url', url, ...args]);

  it(`has a recorded probe of every connection within ${FIRST_PROBE_DEADLINE_MS / 1000} s of start`, async () => {
    const connections = await eventually(
      async () => {
        const views = await fetchJson<ConnectionView[]>(`${url}/api/v1/connections`);
        return views.every((view) => view.lastProbeAt !== null) ? views : null;
      },
      Math.max(0, spawnedAt + FIRST_PROBE_DEADLINE_MS - Date.now()),
      100,
    );
    const states = Object.fromEntries(connections.map((view) => [view.name, view.lastOutcome?.outcome]));
    assert.deepEqual(states, { cloud: 'ok', 'dc-pat': 'ok', 'dc-password': 'auth_rejected' });
    assert.equal(fixture.jira.requests(tenants.cloud).length, 1, 'one first probe, then the schedule');
  });

  it('after a regression, fixing the secret file and `authwatch probe` resolves the incident and sends the resolved message', async () => {
    writeFileSync(tokenFile, `${generateApiToken()}\n`); // a wrong token pasted into the credential file
    const failed = await probe('cloud');
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /^cloud\s+✗ basic_auth_rejected\s+ok\s+401 /m);
    const regressed = await probe('cloud');
    assert.equal(regressed.code, 1, regressed.stderr);
    assert.match(regressed.stdout, /^cloud\s+✗ basic_auth_rejected\s+ok → regressed\s/m);
    const [opened] = await slack.waitForRequests(1, 15_000);
    assert.match(slackText(opened.body), /cloud: auth regressed/);

    writeFileSync(tokenFile, `${cloudToken}\n`); // fixed
    const fixedAt = Date.now();
    const resolved = await probe('cloud');
    assert.equal(resolved.code, 0, resolved.stdout + resolved.stderr);
    assert.match(resolved.stdout, /^cloud\s+ok\s+regressed → ok\s/m);
    const [, closing] = await slack.waitForRequests(2, 15_000);
    assert.match(slackText(closing.body), /cloud: auth works again/);
    assert.ok(closing.receivedAt >= fixedAt);
    const view = (await fetchJson<ConnectionView[]>(`${url}/api/v1/connections`)).find((connection) => connection.name === 'cloud');
    assert.equal(view?.state, 'ok', 'the API shows the recorded probe');
    const changes = daemon.logs().filter((line) => line.msg === 'state changed' && line.connection === 'cloud').map((line) => `${String(line.from)}→${String(line.to)}`);
    assert.deepEqual(changes, ['unknown→ok', 'ok→regressed', 'regressed→ok']);
  });

  it('a requested probe of a connection in lockout back-off is not sent, and says until when', async () => {
    const before = fixture.jira.requests(tenants.dcPassword).length;
    const held = await probe('dc-password');
    assert.equal(held.code, 1);
    assert.match(held.stdout, /^dc-password\s+skipped\s+unknown\s+lockout back-off until \d{4}-\d\d-\d\dT[\d:.]+Z: probing now would count as another failed login$/m);
    assert.equal(fixture.jira.requests(tenants.dcPassword).length, before, 'no request reached Jira');
    assert.equal(fixture.jira.tenant(tenants.dcPassword).failedBasicLogins, 1);
  });

  it('probes every connection without names; --json gives the API answer', async () => {
    const all = await probe('--json');
    const answers = JSON.parse(all.stdout) as { connection: string; result: string }[];
    assert.deepEqual(answers.map((answer) => `${answer.connection}:${answer.result}`), ['cloud:recorded', 'dc-pat:recorded', 'dc-password:skipped']);
    assert.equal(all.code, 1, 'not all ok: one is held by the back-off');
  });

  it('the endpoint takes POST only, refuses a web page of another origin, and names an unknown connection', async () => {
    const get = await fetch(`${url}/api/v1/connections/cloud/probe`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const before = fixture.jira.requests(tenants.cloud).length;
    const crossSite = await fetch(`${url}/api/v1/connections/cloud/probe`, { method: 'POST', headers: { Origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    assert.match(((await crossSite.json()) as { error: string }).error, /another origin/);
    assert.equal(fixture.jira.requests(tenants.cloud).length, before, 'nothing was probed');
    const unknown = await fetch(`${url}/api/v1/connections/nope/probe`, { method: 'POST' });
    assert.equal(unknown.status, 404);
    const cli = await probe('nope');
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /no connection named nope in .* \(known: cloud, dc-pat, dc-password\)/);
  });

  it('no daemon: one line saying where it looked', async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const { port } = free.address() as AddressInfo;
    await new Promise((resolve) => free.close(resolve));
    const result = await runCli(['--config', workspace.configPath, 'probe', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `authwatch: no daemon answers at http://127.0.0.1:${port} (ECONNREFUSED): is "authwatch run" running with this config? (or give its address with --url)\n`);
  });

  it('no secret in the logs', () => {
    for (const secret of secrets) assert.ok(!daemon.stdout.includes(secret) && !daemon.stderr.includes(secret), 'a secret was logged');
  });
});
