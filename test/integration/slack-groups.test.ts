// The Slack grouping pass with its real parts at fixed instants: probes over HTTPS against the simulated Jira,
// the cycle, the SQLite store and the pass itself. Each group message is written to the outbox exactly once,
// however often (and after however many restarts) the pass runs; every incident is still recorded on its own.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, type Config } from '../../src/config/load.js';
import { runCycle, type CycleDeps } from '../../src/daemon/cycle.js';
import { planNotifications } from '../../src/notify/decide.js';
import { flushSlackGroups } from '../../src/daemon/slack-groups.js';
import { generateApiToken } from '../support/jira-mock.js';
import { silentLogger } from '../../src/log/logger.js';
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';
import { buildNotifiers, type Notifier } from '../../src/notify/registry.js';
import { createProber } from '../../src/probe/prober.js';
import { openStore } from '../../src/store/store.js';
import { slackText } from '../support/notify-e2e.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';

let fixture: JiraFixture;
let dir: string;
before(async () => {
  fixture = await startJiraFixture();
  dir = mkdtempSync(join(tmpdir(), 'authwatch-slack-groups-'));
});
after(async () => {
  await fixture.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2030-01-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function setup(count: number) {
  const tenants = Array.from({ length: count }, () => fixture.tenant({ deployment: 'cloud' }));
  const config: Config = parseConfigText(
    JSON.stringify({
      alerting: { slack: { webhookUrl: { env: 'SLACK_URL' }, groupWindow: '30s' }, alertmanager: { urls: ['http://127.0.0.1:9'] }, reminderInterval: '1h' },
      connections: tenants.map((tenant, index) => {
        const snapshot = fixture.jira.tenant(tenant);
        return {
          name: `jsm-sync-${index + 1}`,
          url: fixture.jira.tenantUrl(tenant),
          deployment: 'cloud',
          auth: { type: 'basic', username: snapshot.user.emailAddress, secret: snapshot.credentials.apiToken },
          tls: { caFile: fixture.pki.caFile },
          failureThreshold: 1,
        };
      }),
    }),
  );
  const store = openStore(join(dir, `groups-${tenants[0]}.db`));
  const metrics = new AuthwatchMetrics({ defaultMetrics: false });
  metrics.setConnections(config.connections);
  store.upsertConnections(config.connections, at(0));
  const notifiers: Notifier[] = buildNotifiers(config.alerting, { env: { SLACK_URL: 'http://127.0.0.1:9/services/x' } });
  const cycle = async (index: number, time: Date) => {
    const connection = config.connections[index];
    const deps: CycleDeps = {
      store,
      metrics,
      logger: silentLogger,
      planNotifications: (input) => planNotifications(input, { notifiers, alerting: config.alerting }),
      alerting: config.alerting,
      now: () => time,
      onEnqueued: () => {},
      isCurrent: () => true,
    };
    const prober = createProber(connection, { fingerprintKey: store.fingerprintKey(), now: () => time });
    try {
      await runCycle(deps, connection, prober);
    } finally {
      prober.close();
    }
  };
  const slackRows = () => store.pendingOutbox(new Date('9999-01-01T00:00:00Z'), 'slack', 1000);
  return { tenants, config, store, notifiers, cycle, slackRows, flush: (time: Date, previous: Date | null = null) => flushSlackGroups(store, config, notifiers, time, previous) };
}

test('three connections break together, a fourth later, all recover: announce, joined, reminder, resolved — each once', async () => {
  const h = setup(4);
  for (let index = 0; index < 4; index++) await h.cycle(index, at(0));
  const tokens = h.tenants.map((tenant) => fixture.jira.tenant(tenant).credentials.apiToken);
  for (const tenant of h.tenants.slice(0, 3)) fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  for (let index = 0; index < 3; index++) await h.cycle(index, at(60 + index));

  assert.equal(h.store.openIncidents().length, 3, 'three incidents, each recorded on its own');
  assert.equal(h.slackRows().length, 0, 'no per-connection Slack row while grouping is on');
  assert.equal(h.store.pendingOutbox(at(99_999), 'alertmanager', 100).filter((row) => row.kind === 'open').length, 3, 'Alertmanager still gets every incident');
  assert.equal(h.flush(at(89)), 0, 'inside the window');
  assert.equal(h.flush(at(90)), 1, 'the window ends: the announcement');
  for (const time of [at(90), at(91), at(95)]) assert.equal(h.flush(time), 0, 'written once, however often the pass runs');
  const [announcement] = h.slackRows();
  assert.equal(announcement.dedupeKey, 'slack-group:1|announce|slack|webhook');
  const text = slackText(announcement.payload);
  assert.match(text, /3 connections on 127\.0\.0\.1:\d+: auth regressed/);
  for (const name of ['jsm-sync-1', 'jsm-sync-2', 'jsm-sync-3']) assert.ok(text.includes(name));

  fixture.jira.setCredentials(h.tenants[3], { apiToken: generateApiToken() });
  await h.cycle(3, at(180));
  assert.equal(h.flush(at(209)), 0);
  assert.equal(h.flush(at(210)), 1, 'a window after it opened, the fourth joins the outage');
  const joined = h.slackRows()[1];
  assert.match(slackText(joined.payload), /1 more connection on .*: auth regressed/);
  assert.match(slackText(joined.payload), /`jsm-sync-4` joins the outage/);

  // A restart: the pass starts without a previous time; the group and what was told are in the database.
  const reopened = openStore(h.store.path);
  try {
    assert.equal(flushSlackGroups(reopened, h.config, h.notifiers, at(211), null), 0, 'nothing again after a restart');
  } finally {
    reopened.close();
  }

  assert.equal(h.flush(at(3600), at(3000)), 0, 'the first reminder slot is due at the group opening + 1h');
  assert.equal(h.flush(at(3661), at(3600)), 1, 'one reminder for the group, not one per connection');
  assert.match(slackText(h.slackRows()[2].payload), /4 connections on .*: auth still failing after 1h/);

  h.tenants.forEach((tenant, index) => fixture.jira.setCredentials(tenant, { apiToken: tokens[index] }));
  for (let index = 0; index < 4; index++) await h.cycle(index, at(4000 + index));
  assert.equal(h.store.openIncidents().length, 0);
  assert.equal(h.flush(at(4004)), 1, 'all recovered: resolved at once');
  assert.equal(h.flush(at(4100)), 0);
  const resolved = h.slackRows()[3];
  assert.match(slackText(resolved.payload), /all 4 connections work again/);
  assert.deepEqual(h.slackRows().map((row) => row.kind), ['open', 'open', 'reminder', 'resolve']);

  // The group is closed: the same cause later is a new outage, announced on its own.
  fixture.jira.setCredentials(h.tenants[0], { apiToken: generateApiToken() });
  await h.cycle(0, at(5000));
  assert.equal(h.flush(at(5030)), 1);
  const single = h.slackRows()[4];
  assert.equal(single.dedupeKey, 'slack-group:2|announce|slack|webhook');
  assert.match(slackText(single.payload), /jsm-sync-1: auth regressed/, 'a group of one reads like the message about one connection');
  assert.match(slackText(single.payload), /What the server answered/);
  h.store.close();
});

test('switching grouping on does not announce incidents that were already notified one by one', async () => {
  const h = setup(1);
  await h.cycle(0, at(0));
  fixture.jira.setCredentials(h.tenants[0], { apiToken: generateApiToken() });
  const ungrouped = { ...h.config, alerting: { ...h.config.alerting, slack: { ...h.config.alerting.slack!, groupWindowMs: 0 } } };
  const deps = buildNotifiers(ungrouped.alerting, { env: { SLACK_URL: 'http://127.0.0.1:9/services/x' } });
  const metrics = new AuthwatchMetrics({ defaultMetrics: false });
  const connection = ungrouped.connections[0];
  const prober = createProber(connection, { fingerprintKey: h.store.fingerprintKey(), now: () => at(60) });
  try {
    await runCycle(
      { store: h.store, metrics, logger: silentLogger, planNotifications: (input) => planNotifications(input, { notifiers: deps, alerting: ungrouped.alerting }), alerting: ungrouped.alerting, now: () => at(60), onEnqueued: () => {}, isCurrent: () => true },
      connection,
      prober,
    );
  } finally {
    prober.close();
  }
  assert.equal(h.slackRows().length, 1, 'notified on its own while grouping was off');
  assert.equal(h.flush(at(600)), 0, 'not announced again once grouping is on');
  h.store.close();
});
