// Crash and restart of the built daemon on the same database: history and state survive a SIGKILL, a connection that
// was ok before the crash and fails after it is `regressed` (not `failing`), every state change and every incident
// notification happens exactly once; a database written by a newer authwatch is refused without being touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DaemonProcess, runCli, type LogLine } from '../support/cli.js';
import { secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock, type SlackMock } from '../support/slack-mock.js';
import { daemonWorkspace, jiraConnection, type DaemonWorkspace } from '../support/daemon-config.js';
import { generateApiToken } from '../support/jira-mock.js';

interface Recorded {
  probeIds: number[];
  states: Map<string, { state: string; since: string | null; ever_succeeded: number }>;
  /** "connection from→to" of every state_changed event, in order. */
  changes: string[];
  openIncidents: string[];
}

function readRecorded(path: string): Recorded {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      probeIds: (db.prepare('SELECT id FROM probes ORDER BY id').all() as { id: number }[]).map((row) => row.id),
      states: new Map(
        (db.prepare('SELECT name, state, since, ever_succeeded FROM connection_state').all() as { name: string; state: string; since: string | null; ever_succeeded: number }[]).map(
          (row) => [row.name, row],
        ),
      ),
      changes: (db.prepare("SELECT connection, from_state, to_state FROM events WHERE kind = 'state_changed' ORDER BY id").all() as { connection: string; from_state: string; to_state: string }[]).map(
        (row) => `${row.connection} ${row.from_state}→${row.to_state}`,
      ),
      openIncidents: (db.prepare('SELECT connection, kind FROM incidents WHERE resolved_at IS NULL ORDER BY id').all() as { connection: string; kind: string }[]).map(
        (row) => `${row.connection} ${row.kind}`,
      ),
    };
  } finally {
    db.close();
  }
}

function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const changedTo = (connection: string, to: string) => (line: LogLine) => line.msg === 'state changed' && line.connection === connection && line.to === to;
const probed = (connection: string) => (line: LogLine) => line.msg === 'probe' && line.connection === connection;

describe('authwatch run: SIGKILL and restart on the same database', () => {
  let fixture: JiraFixture;
  let slack: SlackMock;
  let workspace: DaemonWorkspace;
  const daemons: DaemonProcess[] = [];
  let env: Record<string, string> = {};
  let flapsTenant = '';

  before(async () => {
    fixture = await startJiraFixture();
    slack = await startSlackMock();
    workspace = daemonWorkspace('authwatch-e2e-restart-');
    const steadyTenant = fixture.tenant({ deployment: 'cloud' });
    flapsTenant = fixture.tenant({ deployment: 'cloud' });
    const neverTenant = fixture.tenant({ deployment: 'cloud' });
    const steady = secretEnv(fixture.jira.tenant(steadyTenant).credentials.apiToken);
    const flaps = secretEnv(fixture.jira.tenant(flapsTenant).credentials.apiToken);
    const never = secretEnv(generateApiToken());
    env = { ...steady.env, ...flaps.env, ...never.env, AUTHWATCH_E2E_SLACK: slack.webhookUrl };
    const caFile = fixture.pki.caFile;
    workspace.write({
      alerting: { slack: { webhookUrl: { env: 'AUTHWATCH_E2E_SLACK' } } },
      connections: [
        jiraConnection(fixture.jira, steadyTenant, { name: 'steady', auth: 'cloud-basic', secret: steady.ref, caFile }),
        jiraConnection(fixture.jira, flapsTenant, { name: 'flaps', auth: 'cloud-basic', secret: flaps.ref, caFile }),
        jiraConnection(fixture.jira, neverTenant, { name: 'never-worked', auth: 'cloud-basic', secret: never.ref, caFile }),
      ],
    });
  });

  after(async () => {
    for (const daemon of daemons) await daemon.kill();
    await slack?.close();
    await fixture?.close();
    workspace?.cleanup();
  });

  function startDaemon(): DaemonProcess {
    const daemon = new DaemonProcess(workspace.configPath, { env });
    daemons.push(daemon);
    return daemon;
  }

  it('keeps history and state across a SIGKILL, and records each state change once', async () => {
    const first = startDaemon();
    await first.url();
    await first.waitForLog(changedTo('steady', 'ok'), 15_000, 'steady → ok');
    await first.waitForLog(changedTo('flaps', 'ok'), 15_000, 'flaps → ok');
    await first.waitForLog(changedTo('never-worked', 'failing'), 15_000, 'never-worked → failing');
    await first.waitForLog((line) => line.msg === 'notification delivered', 15_000, 'the failing incident notified');
    await first.kill();
    assert.equal((await first.wait()).signal, 'SIGKILL');
    assert.ok(!first.logs().some((line) => line.msg === 'authwatch stopped'), 'no clean shutdown happened');

    const beforeCrash = readRecorded(workspace.dbPath);
    assert.equal(beforeCrash.states.get('flaps')?.state, 'ok');
    assert.equal(beforeCrash.states.get('never-worked')?.state, 'failing');
    assert.deepEqual(beforeCrash.openIncidents, ['never-worked failing']);

    // The token flaps uses is revoked while authwatch is down.
    fixture.jira.setCredentials(flapsTenant, { apiToken: generateApiToken() });
    const second = startDaemon();
    await second.url();
    await second.waitForLog(changedTo('flaps', 'regressed'), 15_000, 'flaps → regressed after the restart');
    await second.waitForLog((line) => line.msg === 'notification delivered', 15_000, 'the regression notified');
    // Two more probes of the others, so a wrongly re-recorded change would have happened by now.
    const probesOf = (name: string) => second.logs().filter(probed(name)).length;
    const seenSteady = probesOf('steady');
    const seenNever = probesOf('never-worked');
    await second.waitForLog(() => probesOf('steady') >= seenSteady + 2 && probesOf('never-worked') >= seenNever + 2, 15_000, 'two more probes of steady and never-worked');

    const afterRestart = readRecorded(workspace.dbPath);
    assert.ok(afterRestart.probeIds.length > beforeCrash.probeIds.length, 'the probe history only grows');
    assert.deepEqual(afterRestart.probeIds.slice(0, beforeCrash.probeIds.length), beforeCrash.probeIds, 'every probe recorded before the crash is kept');
    assert.equal(afterRestart.states.get('flaps')?.state, 'regressed', 'ok before the crash, failing after it: a regression');
    assert.equal(afterRestart.states.get('steady')?.state, 'ok');
    assert.equal(afterRestart.states.get('steady')?.since, beforeCrash.states.get('steady')?.since, 'ok since before the crash');
    assert.equal(afterRestart.states.get('never-worked')?.state, 'failing');
    assert.equal(afterRestart.states.get('never-worked')?.since, beforeCrash.states.get('never-worked')?.since, 'failing since before the crash');

    const counts = new Map<string, number>();
    for (const change of afterRestart.changes) counts.set(change, (counts.get(change) ?? 0) + 1);
    assert.deepEqual(
      [...counts].sort(),
      [
        ['flaps ok→regressed', 1],
        ['flaps unknown→ok', 1],
        ['never-worked unknown→failing', 1],
        ['steady unknown→ok', 1],
      ],
      'each state change is recorded exactly once',
    );
    assert.deepEqual(afterRestart.openIncidents.sort(), ['flaps regressed', 'never-worked failing']);
    assert.deepEqual(
      second.logs().filter((line) => line.msg === 'state changed').map((line) => `${String(line.connection)} ${String(line.from)}→${String(line.to)}`),
      ['flaps ok→regressed'],
      'the restarted daemon changed only what changed',
    );

    const headers = slack.requests.map((request) => (request.body as { blocks: { type: string; text?: { text: string } }[] }).blocks.find((block) => block.type === 'header')?.text?.text ?? '');
    assert.equal(headers.filter((header) => header.includes('never-worked:')).length, 1, `one message for never-worked's incident: ${headers.join(' | ')}`);
    assert.equal(headers.filter((header) => header.includes('flaps:')).length, 1, `one message for flaps' regression: ${headers.join(' | ')}`);
    assert.equal(slack.requests.length, 2);

    const stopped = await second.stop();
    assert.equal(stopped.code, 0, second.stderr);
  });

  it('refuses a database from a newer authwatch with one clear line, a non-zero exit and the file untouched', async () => {
    const db = new Database(workspace.dbPath);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, ?)').run('from_the_future', new Date().toISOString());
    db.close();
    assert.ok(!existsSync(`${workspace.dbPath}-wal`), 'the test left no WAL behind');
    const digest = fileDigest(workspace.dbPath);
    const filesBefore = readdirSync(workspace.dir).sort();

    const run = await runCli(['--config', workspace.configPath, 'run'], { env, timeoutMs: 20_000 });
    assert.notEqual(run.code, 0);
    assert.equal(run.signal, null, 'it exited by itself');
    const lines = run.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
    assert.match(lines[0], /^authwatch: database schema version 999 is newer than this authwatch \(knows up to \d+\); upgrade authwatch or use another storage\.path/);
    assert.ok(lines[0].includes(workspace.dbPath), 'it names the file');
    assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!run.stdout.includes('authwatch started'));

    assert.equal(fileDigest(workspace.dbPath), digest, 'the database file is byte for byte the same');
    assert.deepEqual(readdirSync(workspace.dir).sort(), filesBefore, 'no WAL or other file left behind');

    const status = await runCli(['--config', workspace.configPath, 'status'], { env });
    assert.notEqual(status.code, 0);
    assert.match(status.stderr, /schema version 999 is newer than this authwatch/);
  });
});
