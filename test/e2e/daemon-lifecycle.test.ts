// The built daemon's lifecycle at its edges: a listen address that is taken stops the start before any probe;
// a reload that the database refuses (another writer holds it) keeps the old config running; a SIGHUP during the
// shutdown is ignored instead of killing the process; authwatch_outbox_pending only has the configured channels.
// Connections point at local ports that refuse or never answer: no Jira is needed for any of this.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { DaemonProcess, eventually, runCli } from '../support/cli.js';
import { daemonWorkspace, samplesOf, scrape, valueOf, type DaemonWorkspace } from '../support/daemon-config.js';

const SECRET_ENV = 'AUTHWATCH_LIFECYCLE_TOKEN';
const env = { [SECRET_ENV]: 'lifecycle-test-token-a1b2c3' };

/** A TCP server on 127.0.0.1: `silent` accepts and never answers (a probe hangs until its timeout). */
async function tcpServer(): Promise<{ server: Server; port: number; sockets: Set<Socket>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (probes to it fail at once with ECONNREFUSED). */
async function closedPort(): Promise<number> {
  const { port, close } = await tcpServer();
  await close();
  return port;
}

function connection(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    deployment: 'datacenter',
    auth: { type: 'bearer', secret: { env: SECRET_ENV } },
    ...extra,
  };
}

function probeCount(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM probes').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('authwatch run: lifecycle', () => {
  it('exits at once with one clear line when server.listen is taken, without probing', async (t) => {
    const occupied = await tcpServer();
    const workspace: DaemonWorkspace = daemonWorkspace('authwatch-e2e-lifecycle-');
    t.after(async () => {
      await occupied.close();
      workspace.cleanup();
    });
    workspace.write({ listen: `127.0.0.1:${occupied.port}`, connections: [connection('refused', await closedPort())] });

    // Before the fix the probes kept running after the failed start, so the process never exited (killed at the timeout).
    const result = await runCli(['--config', workspace.configPath, 'run'], { env, timeoutMs: 15_000 });
    assert.equal(result.signal, null, `the daemon did not exit by itself\n${result.stdout}`);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], new RegExp(`^authwatch: cannot listen on 127\\.0\\.0\\.1:${occupied.port} .*already in use`));
    assert.ok(!result.stdout.includes('"msg":"probe"'), 'no probe may run');
    assert.equal(probeCount(workspace.dbPath), 0, 'no probe row may be written');
  });

  it('a reload the database refuses (another writer holds it) is reported and the old config keeps running', async (t) => {
    const workspace = daemonWorkspace('authwatch-e2e-lifecycle-');
    const refused = await closedPort();
    // "kept" probes rarely: each of its writes waits out the 5 s busy timeout while the database is held.
    const kept = connection('kept', refused, { schedule: '*/20 * * * * *' });
    const added = connection('added', refused);
    workspace.write({ connections: [kept] });
    const daemon = new DaemonProcess(workspace.configPath, { env });
    let blocker: Database.Database | null = null;
    t.after(async () => {
      blocker?.close();
      await daemon.kill();
      workspace.cleanup();
    });
    const url = await daemon.url();

    blocker = new Database(workspace.dbPath);
    blocker.exec('BEGIN IMMEDIATE');
    workspace.write({ connections: [kept, added] });
    daemon.signal('SIGHUP');
    const failed = await daemon.waitForLog((line) => line.msg === 'config reload failed; the previous config stays in force', 30_000, 'the reload failure');
    assert.equal(failed.level, 'error');
    assert.match(JSON.stringify(failed.error), /SQLITE_BUSY|database is locked/);
    blocker.exec('ROLLBACK');
    blocker.close();
    blocker = null;

    assert.equal(daemon.child.exitCode, null, 'the daemon must survive the failed reload');
    const afterFailure = await scrape(url);
    assert.equal(valueOf(afterFailure.samples, 'authwatch_config_last_reload_successful'), 0);
    assert.deepEqual(
      samplesOf(afterFailure.samples, 'authwatch_connection_info').map((sample) => sample.labels.connection),
      ['kept'],
      'the connection of the refused config must not be scheduled',
    );
    assert.ok(!daemon.logs().some((line) => line.msg === 'probe' && line.connection === 'added'));

    daemon.signal('SIGHUP');
    await daemon.waitForLog((line) => line.msg === 'config reloaded', 15_000, 'the second reload');
    await daemon.waitForLog((line) => line.msg === 'probe' && line.connection === 'added', 15_000, 'the added connection probed');
    assert.equal(valueOf((await scrape(url)).samples, 'authwatch_config_last_reload_successful'), 1);
    assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
  });

  it('a SIGHUP during the shutdown is ignored: the daemon still finishes and exits 0', async (t) => {
    const silent = await tcpServer();
    const workspace = daemonWorkspace('authwatch-e2e-lifecycle-');
    // The probe in flight hangs until its 3 s timeout, which the shutdown waits for: a window for the SIGHUP.
    workspace.write({ connections: [connection('hanging', silent.port, { timeout: '3s' })] });
    const daemon = new DaemonProcess(workspace.configPath, { env });
    t.after(async () => {
      await daemon.kill();
      await silent.close();
      workspace.cleanup();
    });
    await daemon.url();
    await eventually(() => silent.sockets.size > 0, 15_000);

    daemon.signal('SIGTERM');
    await daemon.waitForLog((line) => line.msg === 'SIGTERM: shutting down', 10_000, 'the shutdown to begin');
    daemon.signal('SIGHUP');
    assert.deepEqual(await daemon.wait(), { code: 0, signal: null }, 'before the fix the SIGHUP killed the process');
    const messages = daemon.logs().map((line) => line.msg);
    const ignoredAt = messages.indexOf('SIGHUP ignored: shutting down');
    assert.ok(ignoredAt >= 0, messages.join('\n'));
    assert.ok(ignoredAt < messages.indexOf('authwatch stopped'), 'the SIGHUP came while the shutdown was still running');
    assert.ok(!messages.includes('SIGHUP: reloading the config'));
  });

  it('authwatch_outbox_pending has a series only for the configured channels, also after a reload removes one', async (t) => {
    const workspace = daemonWorkspace('authwatch-e2e-lifecycle-');
    const refused = await closedPort();
    const probed = connection('probed', refused, { schedule: '0 0 * * *' });
    workspace.write({ connections: [probed], alerting: { alertmanager: { urls: [`http://127.0.0.1:${refused}`] } } });
    const daemon = new DaemonProcess(workspace.configPath, { env, args: ['--sweep-interval', '1s'] });
    t.after(async () => {
      await daemon.kill();
      workspace.cleanup();
    });
    const url = await daemon.url();
    await sleep(1500); // at least one sweep after the start
    const pendingChannels = async () => samplesOf((await scrape(url)).samples, 'authwatch_outbox_pending').map((sample) => sample.labels.channel);
    assert.deepEqual(await pendingChannels(), ['alertmanager'], 'Slack is not configured');

    workspace.write({ connections: [probed] });
    daemon.signal('SIGHUP');
    await daemon.waitForLog((line) => line.msg === 'config reloaded', 10_000, 'config reloaded');
    assert.deepEqual(await pendingChannels(), []);
    await sleep(2500); // two sweeps: the removed channel must not come back
    assert.deepEqual(await pendingChannels(), []);
    assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
  });
});
