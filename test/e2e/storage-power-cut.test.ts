// A power cut right after a state change was notified, on a real file system: the database lives on a loop-file
// ext4 mounted with errors=remount-ro and a 10-minute journal commit interval, so nothing reaches the device
// unless it was fsynced. Right after Slack received the regression, ext4 is made to fail
// (/sys/fs/ext4/<dev>/trigger_fs_error): the journal aborts, the file system turns read-only and every page not
// yet written back is lost, as in a power cut. The daemon is SIGKILLed, the file system unmounted and mounted
// again (journal replay): the database must open intact, with the state change and its notification in it.
// In between, the read-only file system is the "file system turns read-only" fault: /readyz says so.
// (device-mapper's dm-flakey would be the other way to drop writes; this kernel has no device-mapper.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { loopExt4, mountSkipReason, type LoopExt4 } from '../support/mounts.js';
import { startSlackMock } from '../support/slack-mock.js';
import { cloudTenant, metricValue, scrape, slackText, writeConfig } from '../support/notify-e2e.js';

const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';

function skipReason(): string | null {
  const reason = mountSkipReason();
  if (reason) return reason;
  if (!existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control) to put an ext4 file system on';
  return null;
}
const skip = skipReason();
if (skip) console.log(`# storage-power-cut: skipped: ${skip}`);

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

test('a file system that drops unflushed pages right after a notified state change: the database opens intact, with it', { skip: skip ?? false }, async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-power-cut-'));
  const data = join(dir, 'data');
  let disk: LoopExt4 | null = null;
  let daemon: DaemonProcess | null = null;
  t.after(async () => {
    await daemon?.kill();
    try {
      disk?.detach();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  disk = loopExt4(join(dir, 'disk.img'), data, 64 * 1024 * 1024, 'errors=remount-ro,commit=600');
  if (!existsSync(join(disk.sysfs, 'trigger_fs_error'))) return t.skip(`this kernel has no ${disk.sysfs}/trigger_fs_error`);

  const database = join(data, 'authwatch.db');
  const { tenant, connection, env } = cloudTenant(fixture, 'salesforce-to-jira');
  const config = writeConfig({ dir, databasePath: database, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV, reminderInterval: '1h' });
  daemon = new DaemonProcess(config, { env: { ...env, [WEBHOOK_ENV]: slack.webhookUrl } });
  const url = await daemon.url();
  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe');
  fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  const [message] = await slack.waitForRequests(1, 20_000);
  // The power cut: the moment Slack has the message.
  writeFileSync(join(disk.sysfs, 'trigger_fs_error'), '1');
  // The file system is read-only now: the daemon keeps probing and says its storage is failing.
  const degraded = await eventually(async () => {
    const response = await fetch(`${url}/readyz`);
    return response.status === 503 ? ((await response.json()) as { storage: { kind: string } }) : null;
  }, 20_000);
  assert.ok(['readonly', 'io'].includes(degraded.storage.kind), `kind ${degraded.storage.kind}`);
  console.log(`# storage-power-cut: the read-only file system shows as storage kind "${degraded.storage.kind}"`);
  assert.equal(metricValue(await scrape(url), 'authwatch_storage_up'), 0);
  await daemon.kill();
  assert.match(slackText(message.body), /salesforce-to-jira: auth regressed/);

  disk.unmount();
  disk.mount();
  const db = new Database(database);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const state = db.prepare('SELECT state FROM connection_state WHERE name = ?').get('salesforce-to-jira') as { state: string } | undefined;
    assert.equal(state?.state, 'regressed', 'the notified state change survived');
    const changes = db.prepare("SELECT from_state AS fromState, to_state AS toState FROM events WHERE kind = 'state_changed' ORDER BY id").all();
    assert.deepEqual(changes, [
      { fromState: 'unknown', toState: 'ok' },
      { fromState: 'ok', toState: 'regressed' },
    ]);
    const outbox = db.prepare("SELECT payload, delivered_at AS deliveredAt FROM outbox WHERE channel = 'slack'").all() as { payload: string; deliveredAt: string | null }[];
    assert.equal(outbox.length, 1, 'the notification row survived');
    assert.deepEqual(JSON.parse(outbox[0].payload), message.body, 'the message Slack got');
    // "delivered" is written after Slack's 200; whether it made it before the cut decides a resend after restart.
    console.log(`# storage-power-cut: delivered mark ${outbox[0].deliveredAt ? 'survived' : 'was lost: the message is sent again after the restart'}`);
  } finally {
    db.close();
  }
});
