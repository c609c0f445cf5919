// The built `authwatch run` against an HTTPS simulated Jira, every second, failureThreshold 2: a connection that
// worked and then got 401 ends `regressed`, one that never worked `failing`, one whose server went away
// `unreachable`; /metrics, the JSON API, `authwatch status`, `authwatch history` and the SQLite rows agree. Also: the
// Data Center lockout back-off, `promtool check metrics` on the live output, no secret anywhere, and a clean SIGTERM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DaemonProcess, eventually, runCli, type LogLine } from '../support/cli.js';
import { secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock, SLACK_WEBHOOK_PATH, type SlackMock } from '../support/slack-mock.js';
import { daemonWorkspace, fetchJson, fetchText, jiraConnection, samplesOf, scrape, valueOf, type DaemonWorkspace, type Sample } from '../support/daemon-config.js';
import { generateApiToken, generatePat, type JiraMock } from '../support/jira-mock.js';
import type { ConnectionView, ProbeView } from '../../src/server/read-model.js';

const AUTH_STATES = ['unknown', 'ok', 'failing', 'regressed', 'unreachable'];
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
/** How long the Data Center basic-auth connection is watched for a second request that must not come. */
const LOCKOUT_WATCH_MS = 12_000;

interface ProbeRow {
  id: number;
  connection: string;
  started_at: string;
  outcome: string;
  tls_protocol: string | null;
  tls_cipher: string | null;
  tls_fingerprint256: string | null;
  tls_not_after: string | null;
}
interface StateRow {
  name: string;
  state: string;
  since: string | null;
  last_outcome: string | null;
  last_success_at: string | null;
  consecutive_failures: number;
}
interface EventRow {
  connection: string;
  kind: string;
  from_state: string | null;
  to_state: string | null;
}
interface DbSnapshot {
  probes: ProbeRow[];
  states: Map<string, StateRow>;
  events: EventRow[];
}

function readDatabase(path: string): DbSnapshot {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const read = db.transaction(() => ({
      probes: db.prepare('SELECT id, connection, started_at, outcome, tls_protocol, tls_cipher, tls_fingerprint256, tls_not_after FROM probe_history ORDER BY id').all() as ProbeRow[],
      states: new Map(
        (db.prepare('SELECT name, state, since, last_outcome, last_success_at, consecutive_failures FROM connection_state').all() as StateRow[]).map((row) => [row.name, row]),
      ),
      events: db.prepare('SELECT connection, kind, from_state, to_state FROM events ORDER BY id').all() as EventRow[],
    }));
    return read();
  } finally {
    db.close();
  }
}

function probeTotals(samples: Sample[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const sample of samplesOf(samples, 'authwatch_probes_total')) {
    if (sample.value > 0) totals.set(sample.labels.outcome, sample.value);
  }
  return totals;
}

function rowTotals(probes: ProbeRow[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const probe of probes) totals.set(probe.outcome, (totals.get(probe.outcome) ?? 0) + 1);
  return totals;
}

function sorted(map: Map<string, number>): [string, number][] {
  return [...map].sort(([a], [b]) => a.localeCompare(b));
}

describe('authwatch run: states, agreement of every view, lockout safety, no secrets, clean stop', () => {
  let fixture: JiraFixture;
  let secondJira: JiraMock;
  let slack: SlackMock;
  let workspace: DaemonWorkspace;
  let daemon: DaemonProcess;
  let url: string;
  const startedAt = Date.now();
  /** Everything any output showed, grepped for secrets at the end. */
  const seen: { what: string; text: string | Buffer }[] = [];
  const secrets: { what: string; value: string }[] = [];
  const tenants = { regresses: '', neverWorked: '', goesDown: '', dcPassword: '', dcPat: '' };

  before(async () => {
    fixture = await startJiraFixture();
    secondJira = await fixture.startServer({ key: fixture.pki.good.key, cert: fixture.pki.good.cert });
    slack = await startSlackMock();
    workspace = daemonWorkspace('authwatch-e2e-run-');

    const cloudToken = `ATATT3xFfGF0${'RegressToken'}${generateApiToken().slice(24)}`;
    const wrongCloudToken = generateApiToken();
    const goesDownToken = generateApiToken();
    const dcPassword = `Wr0ng-Dc-Passw0rd-${Date.now().toString(36)}`;
    const wrongPat = generatePat();
    tenants.regresses = fixture.tenant({ deployment: 'cloud', credentials: { apiToken: cloudToken } });
    tenants.neverWorked = fixture.tenant({ deployment: 'cloud' });
    tenants.goesDown = fixture.tenant({ deployment: 'cloud', credentials: { apiToken: goesDownToken } }, secondJira);
    tenants.dcPassword = fixture.tenant({ deployment: 'datacenter', captchaAfterFailures: 3 });
    tenants.dcPat = fixture.tenant({ deployment: 'datacenter' });

    const regressesSecret = secretEnv(cloudToken);
    const neverSecret = secretEnv(wrongCloudToken);
    const downSecret = secretEnv(goesDownToken);
    const patSecret = secretEnv(wrongPat);
    const passwordFile = join(workspace.dir, 'dc-password');
    writeFileSync(passwordFile, `${dcPassword}\n`, { mode: 0o600 });
    const env = { ...regressesSecret.env, ...neverSecret.env, ...downSecret.env, ...patSecret.env, AUTHWATCH_E2E_SLACK: slack.webhookUrl };

    const user = (server: JiraMock, tenant: string) => server.tenant(tenant).user;
    const basic = (username: string, secret: string) => Buffer.from(`${username}:${secret}`).toString('base64');
    secrets.push(
      { what: 'Cloud API token', value: cloudToken },
      { what: 'Cloud API token (middle)', value: cloudToken.slice(30, 60) },
      { what: 'Cloud basic header', value: basic(user(fixture.jira, tenants.regresses).emailAddress, cloudToken) },
      { what: 'wrong Cloud API token', value: wrongCloudToken },
      { what: 'wrong Cloud basic header', value: basic(user(fixture.jira, tenants.neverWorked).emailAddress, wrongCloudToken) },
      { what: 'second server API token', value: goesDownToken },
      { what: 'DC password', value: dcPassword },
      { what: 'DC basic header', value: basic(user(fixture.jira, tenants.dcPassword).name, dcPassword) },
      { what: 'DC PAT', value: wrongPat },
      { what: 'Slack webhook URL', value: slack.webhookUrl },
      { what: 'Slack webhook path', value: SLACK_WEBHOOK_PATH },
      { what: 'Slack webhook token', value: SLACK_WEBHOOK_PATH.split('/').pop()! },
    );

    const caFile = fixture.pki.caFile;
    workspace.write({
      alerting: { slack: { webhookUrl: { env: 'AUTHWATCH_E2E_SLACK' } } },
      metrics: { detail: true },
      connections: [
        jiraConnection(fixture.jira, tenants.regresses, { name: 'regresses', auth: 'cloud-basic', secret: regressesSecret.ref, caFile }),
        jiraConnection(fixture.jira, tenants.neverWorked, { name: 'never-worked', auth: 'cloud-basic', secret: neverSecret.ref, caFile }),
        jiraConnection(secondJira, tenants.goesDown, { name: 'goes-down', auth: 'cloud-basic', secret: downSecret.ref, caFile }),
        jiraConnection(fixture.jira, tenants.dcPassword, { name: 'dc-password', auth: 'dc-basic', secret: { file: passwordFile }, caFile }),
        jiraConnection(fixture.jira, tenants.dcPat, { name: 'dc-pat', auth: 'dc-pat', secret: patSecret.ref, caFile }),
      ],
    });
    daemon = new DaemonProcess(workspace.configPath, { env });
    url = await daemon.url();
  });

  after(async () => {
    await daemon?.kill();
    await slack?.close();
    await fixture?.close();
    workspace?.cleanup();
  });

  const probeLog = (connection: string, outcome: string) => (line: LogLine) => line.msg === 'probe' && line.connection === connection && line.outcome === outcome;
  const changedTo = (connection: string, to: string) => (line: LogLine) => line.msg === 'state changed' && line.connection === connection && line.to === to;

  it('ends in regressed, failing and unreachable', async () => {
    await daemon.waitForLog(probeLog('regresses', 'ok'), 15_000, 'an ok probe of regresses');
    await daemon.waitForLog(probeLog('goes-down', 'ok'), 15_000, 'an ok probe of goes-down');
    fixture.jira.setCredentials(tenants.regresses, { apiToken: generateApiToken() });
    await secondJira.stop();

    await daemon.waitForLog(changedTo('regresses', 'regressed'), 15_000, 'regresses → regressed');
    await daemon.waitForLog(changedTo('never-worked', 'failing'), 15_000, 'never-worked → failing');
    await daemon.waitForLog(changedTo('goes-down', 'unreachable'), 15_000, 'goes-down → unreachable');
    await daemon.waitForLog(changedTo('dc-pat', 'failing'), 15_000, 'dc-pat → failing');
    assert.ok(daemon.logs().some(probeLog('regresses', 'basic_auth_rejected')), 'the revoked token is diagnosed as basic_auth_rejected');
    assert.ok(daemon.logs().some(probeLog('goes-down', 'connect_error')), 'the stopped server is a connect_error');
    const changes = daemon.logs().filter((line) => line.msg === 'state changed');
    assert.ok(changes.every((line) => line.level === 'warn'), 'state changes are logged as warnings');
  });

  it('/metrics, /api/v1/connections, authwatch status --json and the SQLite rows agree', async () => {
    const expected: Record<string, string> = { regresses: 'regressed', 'never-worked': 'failing', 'goes-down': 'unreachable', 'dc-pat': 'failing', 'dc-password': 'unknown' };

    // Counters move every second; a database read between two identical scrapes saw the same probes as both.
    const { samples, metricsText, db } = await eventually(async () => {
      const first = await scrape(url);
      const rows = readDatabase(workspace.dbPath);
      const second = await scrape(url);
      const stable = JSON.stringify(sorted(probeTotals(first.samples))) === JSON.stringify(sorted(probeTotals(second.samples)));
      return stable ? { samples: second.samples, metricsText: second.text, db: rows } : null;
    }, 20_000, 50);
    seen.push({ what: '/metrics', text: metricsText });
    assert.deepEqual(sorted(probeTotals(samples)), sorted(rowTotals(db.probes)), 'authwatch_probes_total equals the probe rows per outcome');

    const apiConnections = await fetchJson<ConnectionView[]>(`${url}/api/v1/connections`);
    seen.push({ what: '/api/v1/connections', text: JSON.stringify(apiConnections) });
    const status = await runCli(['--config', workspace.configPath, 'status', '--json'], { env: {} });
    seen.push({ what: 'status --json', text: status.stdout + status.stderr });
    assert.equal(status.code, 0, status.stderr);
    const statusRows = (JSON.parse(status.stdout) as { connections: { name: string; state: string; lastOutcome: string | null; lastSuccessAt: string | null; since: string | null; tls: { protocol: string | null } | null }[] }).connections;

    assert.deepEqual(apiConnections.map((view) => view.name).sort(), Object.keys(expected).sort());
    assert.deepEqual(statusRows.map((row) => row.name).sort(), Object.keys(expected).sort());
    for (const [name, state] of Object.entries(expected)) {
      const row = db.states.get(name);
      assert.ok(row, `a connection_state row for ${name}`);
      const view = apiConnections.find((candidate) => candidate.name === name)!;
      const statusRow = statusRows.find((candidate) => candidate.name === name)!;
      assert.equal(row.state, state, `${name}: database state`);
      assert.equal(view.state, state, `${name}: API state`);
      assert.equal(statusRow.state, state, `${name}: status --json state`);
      for (const candidate of AUTH_STATES) {
        assert.equal(valueOf(samples, 'authwatch_auth_state', { connection: name, state: candidate }), candidate === state ? 1 : undefined, `${name}: authwatch_auth_state{state="${candidate}"}`);
      }

      const lastOutcome = samplesOf(samples, 'authwatch_last_outcome_info', { connection: name });
      assert.equal(lastOutcome.length, 1, `${name}: exactly one authwatch_last_outcome_info series`);
      assert.equal(lastOutcome[0].labels.outcome, row.last_outcome, `${name}: metric outcome = database last_outcome`);
      assert.equal(view.lastOutcome?.outcome, row.last_outcome, `${name}: API last outcome`);
      assert.equal(statusRow.lastOutcome, row.last_outcome, `${name}: status last outcome`);

      assert.equal(view.since, row.since, `${name}: API since`);
      assert.equal(statusRow.since, row.since, `${name}: status since`);
      assert.equal(view.lastSuccessAt, row.last_success_at, `${name}: API last success`);
      assert.equal(statusRow.lastSuccessAt, row.last_success_at, `${name}: status last success`);
      const lastSuccessMetric = valueOf(samples, 'authwatch_last_success_timestamp_seconds', { connection: name });
      if (row.last_success_at === null) assert.equal(lastSuccessMetric, undefined, `${name}: no last-success series before a success`);
      else assert.equal(lastSuccessMetric, Date.parse(row.last_success_at) / 1000, `${name}: last-success metric`);
    }
    assert.equal(db.states.get('regresses')!.last_outcome, 'basic_auth_rejected');
    assert.equal(db.states.get('goes-down')!.last_outcome, 'connect_error');
    assert.notEqual(db.states.get('regresses')!.last_success_at, null, 'regresses did succeed once');
    assert.equal(db.states.get('never-worked')!.last_success_at, null, 'never-worked never succeeded');

    // TLS details: recorded on every probe that reached the server, and the same in metrics, API and status.
    const leaf = new X509Certificate(fixture.pki.good.cert);
    const handshaken = db.probes.filter((probe) => probe.outcome !== 'connect_error');
    assert.ok(handshaken.length >= 5);
    for (const probe of handshaken) {
      assert.match(probe.tls_protocol ?? '', /^TLSv1\.[23]$/, `probe ${probe.id} protocol`);
      assert.ok(probe.tls_cipher, `probe ${probe.id} cipher`);
      assert.equal(probe.tls_fingerprint256, leaf.fingerprint256, `probe ${probe.id} leaf fingerprint`);
      assert.equal(probe.tls_not_after, new Date(leaf.validTo).toISOString(), `probe ${probe.id} leaf notAfter`);
    }
    const lastRegresses = db.probes.filter((probe) => probe.connection === 'regresses').at(-1)!;
    assert.equal(valueOf(samples, 'authwatch_tls_version_info', { connection: 'regresses', version: lastRegresses.tls_protocol! }), 1);
    assert.equal(samplesOf(samples, 'authwatch_tls_version_info', { connection: 'regresses' }).length, 1);
    assert.equal(valueOf(samples, 'authwatch_tls_cipher_info', { connection: 'regresses', cipher: lastRegresses.tls_cipher! }), 1);
    assert.equal(valueOf(samples, 'authwatch_tls_cert_not_after_timestamp_seconds', { connection: 'regresses' }), Date.parse(leaf.validTo) / 1000);
    const regressesView = apiConnections.find((view) => view.name === 'regresses')!;
    assert.equal(regressesView.tls?.protocol, lastRegresses.tls_protocol);
    assert.equal(regressesView.tls?.notAfter, lastRegresses.tls_not_after);
    assert.equal(statusRows.find((row) => row.name === 'regresses')!.tls?.protocol, lastRegresses.tls_protocol);

    // The database file and its WAL as they are while the daemon writes.
    seen.push({ what: 'database file (running)', text: readFileSync(workspace.dbPath) });
    if (existsSync(`${workspace.dbPath}-wal`)) seen.push({ what: 'database WAL (running)', text: readFileSync(`${workspace.dbPath}-wal`) });
  });

  it('/api/v1/connections/{name}/probes?limit=3 lists the newest three, newest first; /healthz and /readyz answer 200', async () => {
    const probes = await fetchJson<ProbeView[]>(`${url}/api/v1/connections/regresses/probes?limit=3`);
    seen.push({ what: 'probes API', text: JSON.stringify(probes) });
    assert.equal(probes.length, 3);
    const times = probes.map((probe) => Date.parse(probe.at));
    assert.ok(times[0] > times[1] && times[1] > times[2], `newest first: ${probes.map((probe) => probe.at).join(', ')}`);
    const rows = readDatabase(workspace.dbPath).probes.filter((probe) => probe.connection === 'regresses' && Date.parse(probe.started_at) <= times[0]);
    assert.deepEqual(
      probes.map((probe) => [probe.at, probe.outcome]),
      rows.slice(-3).reverse().map((row) => [row.started_at, row.outcome]),
      'the three newest recorded probes at the time of the request',
    );
    assert.equal(probes[0].outcome, 'basic_auth_rejected');
    assert.equal(probes[0].httpStatus, 401);

    assert.equal((await fetchText(`${url}/healthz`)).status, 200);
    assert.equal((await fetchText(`${url}/readyz`)).status, 200);
  });

  it('authwatch history NAME --json shows the state changes', async () => {
    const history = await runCli(['--config', workspace.configPath, 'history', 'regresses', '--json'], { env: {} });
    seen.push({ what: 'history --json', text: history.stdout + history.stderr });
    assert.equal(history.code, 0, history.stderr);
    const parsed = JSON.parse(history.stdout) as { connection: string; probes: { outcome: string }[]; events: { kind: string; from: string | null; to: string | null }[] };
    assert.equal(parsed.connection, 'regresses');
    const changes = parsed.events.filter((event) => event.kind === 'state_changed').map((event) => `${event.from}→${event.to}`);
    assert.deepEqual(changes.sort(), ['ok→regressed', 'unknown→ok'].sort());
    assert.ok(parsed.probes.some((probe) => probe.outcome === 'ok'));
    assert.ok(parsed.probes.some((probe) => probe.outcome === 'basic_auth_rejected'));

    const down = await runCli(['--config', workspace.configPath, 'history', 'goes-down', '--json'], { env: {} });
    seen.push({ what: 'history goes-down', text: down.stdout + down.stderr });
    const downChanges = (JSON.parse(down.stdout) as { events: { kind: string; from: string; to: string }[] }).events
      .filter((event) => event.kind === 'state_changed')
      .map((event) => `${event.from}→${event.to}`);
    assert.deepEqual(downChanges.sort(), ['ok→unreachable', 'unknown→ok'].sort());
  });

  it('promtool check metrics passes on the live /metrics output', async () => {
    const { text } = await scrape(url);
    assert.ok(text.includes('authwatch_auth_state{connection="regresses",state="regressed"} 1'), 'the scrape is of the daemon in its final states');
    assert.ok(text.includes('authwatch_tls_cipher_info{connection="regresses"'), 'with metrics.detail, the detail series too');
    const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (result.error) assert.fail(`cannot run ${PROMTOOL}: install it with "apt-get install prometheus" or set PROMTOOL`);
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '', 'promtool reports nothing');
    assert.equal(result.status, 0);
  });

  it('Data Center basic auth with a wrong password is tried once and backs off; a wrong PAT keeps being probed', async () => {
    const first = fixture.jira.requests(tenants.dcPassword)[0];
    assert.ok(first, 'the DC basic-auth connection was probed');
    const patBefore = fixture.jira.requests(tenants.dcPat).length;
    const wait = first.at.getTime() + LOCKOUT_WATCH_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

    const requests = fixture.jira.requests(tenants.dcPassword);
    assert.equal(requests.length, 1, `one request in ${LOCKOUT_WATCH_MS / 1000} s, got ${requests.map((r) => r.at.toISOString()).join(', ')}`);
    assert.equal(requests[0].authorization, 'basic');
    assert.equal(requests[0].status, 401);
    const tenant = fixture.jira.tenant(tenants.dcPassword);
    assert.equal(tenant.lockedOut, false, 'the account is not locked out');
    assert.equal(tenant.failedBasicLogins, 1);
    const skipped = daemon.logs().filter((line) => line.msg === 'probe skipped: lockout back-off' && line.connection === 'dc-password');
    assert.ok(skipped.length >= 5, `the scheduler kept ticking and skipped (${skipped.length} skips logged)`);

    const pat = fixture.jira.requests(tenants.dcPat);
    assert.ok(pat.length >= 8, `the wrong PAT is probed on schedule (${pat.length} requests)`);
    assert.ok(pat.length > patBefore, 'and still is');
    assert.ok(pat.every((request) => request.authorization === 'bearer' && request.status === 401));
  });

  it('SIGTERM exits 0 after "authwatch stopped" and leaves a checkpointed, intact database', async () => {
    const result = await daemon.stop();
    assert.equal(result.code, 0, daemon.stderr);
    assert.equal(result.signal, null);
    const logs = daemon.logs();
    assert.equal(logs.at(-1)?.msg, 'authwatch stopped');
    assert.ok(logs.some((line) => line.msg === 'SIGTERM: shutting down'));
    const wal = `${workspace.dbPath}-wal`;
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL is checkpointed into the database');
    seen.push({ what: 'database file (stopped)', text: readFileSync(workspace.dbPath) });

    const db = new Database(workspace.dbPath, { readonly: true, fileMustExist: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('no secret in logs, database, /metrics, API responses, CLI output or Slack messages', (t) => {
    assert.ok(slack.requests.length >= 3, `Slack was notified (${slack.requests.length} messages), so the webhook URL was in use`);
    assert.ok(daemon.logs().some((line) => line.msg === 'notification delivered'));
    const haystacks = [
      { what: 'daemon stdout', text: daemon.stdout },
      { what: 'daemon stderr', text: daemon.stderr },
      { what: 'Slack message bodies', text: JSON.stringify(slack.requests.map((request) => request.body)) },
      ...seen,
    ];
    const found: string[] = [];
    for (const haystack of haystacks) {
      const bytes = Buffer.isBuffer(haystack.text) ? haystack.text : Buffer.from(haystack.text);
      for (const secret of secrets) if (bytes.includes(secret.value)) found.push(`${secret.what} in ${haystack.what}`);
    }
    assert.deepEqual(found, []);
    t.diagnostic(`daemon ran ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  });
});
