import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiToken } from '../support/jira-mock.js';
import { openStore } from '../../src/store/store.js';
import { DaemonProcess, eventually } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock } from '../support/slack-mock.js';
import { assertNoWebhook, assertValidSlackPayloads, cloudTenant, outboxAfterMoreProbes, slackText, tempDir, writeConfig } from '../support/notify-e2e.js';

// Outage-aware Slack, end to end: when one cause breaks many connections at once, the team gets one message
// naming the cause and every connection, one when it is over, and a connection that breaks later for the same
// cause is added to that outage instead of paging on its own.
const WEBHOOK_ENV = 'AUTHWATCH_E2E_SLACK_WEBHOOK';
// Test-sized: every connection is probed every second, so 30 flips land within about a second of each other.
const GROUP_WINDOW_MS = 6000;

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

function openIncidents(database: string): number {
  const store = openStore(database, { readonly: true });
  try {
    return store.openIncidents().length;
  } finally {
    store.close();
  }
}

/** The Slack groups not closed yet, with their members, as the daemon's database holds them. */
function openGroups(database: string) {
  const store = openStore(database, { readonly: true });
  try {
    return store.slackGroups().openGroups();
  } finally {
    store.close();
  }
}

test('30 connections on one host flip to 401 together: one message with the cause and the 30, a 31st later joins it, one resolved message', async (t) => {
  const slack = await startSlackMock();
  t.after(() => slack.close());
  const dir = tempDir(t);
  const database = join(dir, 'authwatch.db');
  const tenants = Array.from({ length: 31 }, (_, index) => cloudTenant(fixture, `crm-sync-${String(index + 1).padStart(2, '0')}`));
  const env = Object.assign({ [WEBHOOK_ENV]: slack.webhookUrl }, ...tenants.map((tenant) => tenant.env)) as Record<string, string>;
  const config = writeConfig({
    dir,
    caFile: fixture.pki.caFile,
    connections: tenants.map((tenant) => tenant.connection),
    slack: { webhookUrl: { env: WEBHOOK_ENV }, groupWindow: `${GROUP_WINDOW_MS}ms` },
  });
  const start = () => {
    const started = new DaemonProcess(config, { env, args: ['--sweep-interval', '1s'] });
    t.after(() => started.stop());
    return started;
  };
  let daemon = start();
  const okProbes = (name: string) => daemon.logs().filter((line) => line.msg === 'probe' && line.connection === name && line.outcome === 'ok').length;
  await eventually(() => tenants.every((tenant) => okProbes(tenant.connection.name) >= 1), 30_000);

  const [first30, late] = [tenants.slice(0, 30), tenants[30]];
  // The site turns the integrations' tokens away (say, an admin revoked the shared app's tokens).
  for (const tenant of first30) fixture.jira.setCredentials(tenant.tenant, { apiToken: generateApiToken() });
  const [announcement] = await slack.waitForRequests(1, 30_000);
  const text = slackText(announcement.body);
  const host = new URL(fixture.jira.baseUrl).host;
  assert.match(text, new RegExp(`30 connections on ${host.replace(/\./g, '\\.')}: auth regressed`));
  assert.match(text, /`basic_auth_rejected`/);
  assert.match(text, /\*What to do\*/);
  for (const tenant of first30) assert.ok(text.includes(`\`${tenant.connection.name}\``), `${tenant.connection.name} is named`);
  assert.ok(!text.includes(late.connection.name), 'the connection that still works is not listed');
  assert.equal(text.match(/\*What to do\*/g)?.length, 1, 'the diagnosis once');
  await eventually(() => openIncidents(database) === 30, 10_000);

  // A crash after the delivery was recorded, and a restart, neither repeat the announcement nor forget the group.
  await daemon.waitForLog((line) => line.msg === 'notification delivered' && line.channel === 'slack', 10_000, 'the announcement recorded as delivered');
  const crashed = daemon;
  await crashed.kill();
  daemon = start();
  await daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'basic_auth_rejected', 20_000, 'probes after the restart');

  // More than a window after the group opened (the "2 minutes later", scaled to the test's window):
  // the 31st breaks for the same cause and is added to the outage, not paged on its own.
  await sleep(GROUP_WINDOW_MS + 1000);
  assert.equal(slack.requests.length, 1, 'nothing more while the 30 stay broken');
  fixture.jira.setCredentials(late.tenant, { apiToken: generateApiToken() });
  const [, joined] = await slack.waitForRequests(2, 30_000);
  const joinedText = slackText(joined.body);
  assert.match(joinedText, new RegExp(`1 more connection on ${host.replace(/\./g, '\\.')}: auth regressed`));
  assert.match(joinedText, /joins the outage/);
  assert.ok(joinedText.includes(late.connection.name));
  assert.doesNotMatch(joinedText, /crm-sync-01/, 'the follow-up names only the newcomer');
  await eventually(() => openIncidents(database) === 31, 10_000);

  // A new token is set on every site matching the configured ones: everything recovers.
  for (const tenant of tenants) fixture.jira.setCredentials(tenant.tenant, { apiToken: tenant.token });
  const [, , resolved] = await slack.waitForRequests(3, 30_000);
  const resolvedText = slackText(resolved.body);
  assert.match(resolvedText, /all 31 connections work again/);
  assert.match(resolvedText, /\*Resolved after /);
  await eventually(() => openIncidents(database) === 0, 10_000);
  // The group is closed, so no group message can follow; one more cycle of each connection is stored, so whatever
  // the cycles planned is in the outbox: anything more would be a row there.
  await eventually(() => openGroups(database).length === 0, 10_000);
  const outbox = await outboxAfterMoreProbes(database, tenants.map((tenant) => tenant.connection.name), 1);
  assert.equal(slack.requests.length, 3, 'one announcement, one join, one resolution');
  assert.deepEqual(outbox.slack, { pending: 0, delivered: 3, failed: 0 });

  const store = openStore(database, { readonly: true });
  try {
    const history = tenants.map((tenant) => store.history(tenant.connection.name, '1970-01-01T00:00:00Z', 100).events.filter((event) => event.to === 'regressed').length);
    assert.deepEqual(history, tenants.map(() => 1), 'every connection recorded its own incident');
  } finally {
    store.close();
  }
  assertValidSlackPayloads(slack.requests);
  for (const output of [crashed.stdout + crashed.stderr, daemon.stdout + daemon.stderr]) {
    assertNoWebhook(output, slack.webhookUrl);
    for (const tenant of tenants) assert.ok(!output.includes(tenant.token), 'no API token in the log');
  }
});

test('connections of two teams regress at once: each team\'s destination gets only its own connections', async (t) => {
  const crm = await startSlackMock();
  const billing = await startSlackMock();
  const fallback = await startSlackMock();
  t.after(() => Promise.all([crm.close(), billing.close(), fallback.close()]));
  const dir = tempDir(t);
  const make = (name: string, team: string) => {
    const tenant = cloudTenant(fixture, name);
    return { ...tenant, connection: { ...tenant.connection, labels: { team } } };
  };
  const tenants = [make('crm-a', 'crm'), make('crm-b', 'crm'), make('crm-c', 'crm'), make('billing-a', 'billing'), make('billing-b', 'billing')];
  const env = Object.assign({ SLACK_DEFAULT: fallback.webhookUrl, SLACK_CRM: crm.webhookUrl, SLACK_BILLING: billing.webhookUrl }, ...tenants.map((tenant) => tenant.env)) as Record<string, string>;
  const config = writeConfig({
    dir,
    caFile: fixture.pki.caFile,
    connections: tenants.map((tenant) => tenant.connection),
    slack: {
      webhookUrl: { env: 'SLACK_DEFAULT' },
      groupWindow: '2s',
      routes: [
        { name: 'crm', match: { team: 'crm' }, webhookUrl: { env: 'SLACK_CRM' } },
        { name: 'billing', match: { team: 'billing' }, webhookUrl: { env: 'SLACK_BILLING' } },
      ],
    },
  });
  const daemon = new DaemonProcess(config, { env, args: ['--sweep-interval', '1s'] });
  t.after(() => daemon.stop());
  const okProbes = (name: string) => daemon.logs().filter((line) => line.msg === 'probe' && line.connection === name && line.outcome === 'ok').length;
  await eventually(() => tenants.every((tenant) => okProbes(tenant.connection.name) >= 1), 30_000);

  for (const tenant of tenants) fixture.jira.setCredentials(tenant.tenant, { apiToken: generateApiToken() });
  const [crmMessage] = await crm.waitForRequests(1, 30_000);
  const [billingMessage] = await billing.waitForRequests(1, 30_000);
  // Every one of the five is in a group and announced, so no join message is due; one more cycle of each is stored,
  // so whatever the cycles planned is in the outbox: a message to any destination beyond the two would be a row there.
  const database = join(dir, 'authwatch.db');
  await eventually(() => {
    const members = openGroups(database).flatMap((group) => group.members);
    return members.length === tenants.length && members.every((member) => member.announcedAt !== null);
  }, 10_000);
  const outbox = await outboxAfterMoreProbes(database, tenants.map((tenant) => tenant.connection.name), 1);
  assert.deepEqual(outbox.slack, { pending: 0, delivered: 2, failed: 0 });
  assert.equal(crm.requests.length, 1);
  assert.equal(billing.requests.length, 1);
  assert.equal(fallback.requests.length, 0, 'the default destination gets nothing that a route took');
  const crmText = slackText(crmMessage.body);
  const billingText = slackText(billingMessage.body);
  assert.match(crmText, /3 connections on .*: auth regressed/);
  assert.match(billingText, /2 connections on .*: auth regressed/);
  for (const name of ['crm-a', 'crm-b', 'crm-c']) {
    assert.ok(crmText.includes(name));
    assert.ok(!billingText.includes(name), `${name} is not in billing's message`);
  }
  for (const name of ['billing-a', 'billing-b']) {
    assert.ok(billingText.includes(name));
    assert.ok(!crmText.includes(name), `${name} is not in crm's message`);
  }
  assertValidSlackPayloads([...crm.requests, ...billing.requests]);
  for (const mock of [crm, fallback, billing]) assertNoWebhook(daemon.stdout + daemon.stderr, mock.webhookUrl);
});
