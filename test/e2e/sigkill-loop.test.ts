// 22 SIGKILLs at random moments (during start, probes, commits and deliveries) while the connection's auth flips:
// no notification is lost, and the duplicates the crash window between Slack's 200 and the commit of "delivered"
// allows (docs/reliability.md) are counted and printed, not hidden.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertValidSlackPayloads, cloudTenant, outboxAfterMoreProbes, outboxCounts, tempDir, writeConfig } from '../support/notify-e2e.js';

const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';
const KILLS = 22;

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

test(`${KILLS} SIGKILLs at random moments while auth flips: 0 lost notifications, duplicates counted`, async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = tempDir(t);
  const database = join(dir, 'authwatch.db');
  const { tenant, connection, env, token } = cloudTenant(fixture, 'salesforce-to-jira');
  const config = writeConfig({ dir, caFile: fixture.pki.caFile, connections: [connection], slackEnv: WEBHOOK_ENV, reminderInterval: '1h' });
  const daemonEnv = { ...env, [WEBHOOK_ENV]: slack.webhookUrl };
  const start = () => {
    const daemon = new DaemonProcess(config, { env: daemonEnv, logLevel: 'debug' });
    t.after(() => daemon.kill());
    return daemon;
  };
  let broken = false;
  const flip = () => {
    broken = !broken;
    fixture.jira.setCredentials(tenant, { apiToken: broken ? generateApiToken() : token });
  };

  let flips = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const daemon = start();
    // Flip at a random moment of this run (or not), then kill at another one: 0.2 s (still starting) to 3 s.
    const lifetime = 200 + Math.random() * 2800;
    const flipAt = Math.random() < 0.6 ? Math.random() * lifetime : null;
    if (flipAt !== null) {
      await sleep(flipAt);
      flip();
      flips++;
      await sleep(lifetime - flipAt);
    } else {
      await sleep(lifetime);
    }
    await daemon.kill();
  }

  // The last start runs until everything due has been delivered.
  const last = start();
  await last.url();
  await eventually(() => last.logs().filter((line) => line.msg === 'probe').length >= 3, 30_000);
  await eventually(() => outboxCounts(database).slack.pending === 0, 60_000);
  // Two more cycles stored, and whatever they planned delivered too: nothing is left for after the stop.
  await outboxAfterMoreProbes(database, [connection.name], 2);
  await eventually(() => outboxCounts(database).slack.pending === 0, 60_000);
  await last.stop();

  const db = new Database(database, { readonly: true });
  t.after(() => db.close());
  const rows = db.prepare("SELECT id, payload, delivered_at AS deliveredAt, failed_at AS failedAt FROM outbox WHERE channel = 'slack' ORDER BY id").all() as {
    id: number;
    payload: string;
    deliveredAt: string | null;
    failedAt: string | null;
  }[];
  const changes = (db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'state_changed' AND from_state != 'unknown'").get() as { n: number }).n;
  const regressionsWithoutMessage = (
    db
      .prepare(`SELECT count(*) AS n FROM events e WHERE e.kind = 'state_changed' AND e.to_state = 'regressed' AND NOT EXISTS (
          SELECT 1 FROM incidents i JOIN outbox o ON o.incident_id = i.id AND o.kind = 'open' AND o.channel = 'slack' WHERE i.open_event_id = e.id)`)
      .get() as { n: number }
  ).n;

  const sent = slack.requests.map((request) => JSON.stringify(request.body));
  const copies = rows.map((row) => sent.filter((body) => body === JSON.stringify(JSON.parse(row.payload))).length);
  const lost = rows.filter((row, index) => copies[index] === 0 || row.deliveredAt === null).map((row) => row.id);
  const duplicates = copies.reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  const unexplained = sent.filter((body) => !rows.some((row) => JSON.stringify(JSON.parse(row.payload)) === body)).length;
  console.log(
    `# sigkill-loop: ${KILLS} kills, ${flips} auth flips, ${changes} state changes stored, ${rows.length} Slack notifications planned, ` +
      `${slack.requests.length} messages received, ${lost.length} lost, ${duplicates} duplicate(s) (the Slack-200-to-"delivered" crash window)`,
  );

  assert.ok(changes >= 2, `the flips were seen (${changes} state changes)`);
  assert.ok(rows.length >= 2, 'notifications were planned');
  assert.deepEqual(lost, [], 'every planned notification reached Slack and is marked delivered');
  assert.equal(regressionsWithoutMessage, 0, 'every stored regression has its Slack message');
  assert.equal(unexplained, 0, 'Slack got nothing that is not in the outbox');
  assert.equal(rows.filter((row) => row.failedAt !== null).length, 0);
  assertValidSlackPayloads(slack.requests);
});
