// A notifier whose renderer throws (a defect in one channel) must not cost the cycle anything else: the probe
// row, the state change, the incident, the other channels' notifications and the metrics are all recorded, and
// the lost notification is logged and counted as failed. A planner that throws costs only the notifications.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseConfigText, type Config } from '../../src/config/load.js';
import { runCycle, type CycleDeps, type NotificationPlanner } from '../../src/daemon/cycle.js';
import { planNotifications } from '../../src/notify/decide.js';
import { createLogger } from '../../src/log/logger.js';
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';
import { buildNotifiers, type Notifier } from '../../src/notify/registry.js';
import { createProber } from '../../src/probe/prober.js';
import { openStore, type Store } from '../../src/store/store.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { generateApiToken } from '../support/jira-mock.js';

let fixture: JiraFixture;
let dir: string;
before(async () => {
  fixture = await startJiraFixture();
  dir = mkdtempSync(join(tmpdir(), 'authwatch-render-failure-'));
});
after(async () => {
  await fixture.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A Slack notifier with a renderer defect: it throws, and must never be asked to deliver. */
const brokenSlack: Notifier = {
  channel: 'slack',
  target: 'webhook',
  render: () => {
    throw new Error('renderer defect: cannot read properties of undefined');
  },
  deliver: async () => assert.fail('a notification that could not be rendered was delivered'),
};

function setUp(name: string) {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const user = fixture.jira.tenant(tenant);
  const config: Config = parseConfigText(
    JSON.stringify({
      alerting: { alertmanager: { urls: ['http://127.0.0.1:9'] } },
      connections: [
        {
          name: 'conn',
          url: fixture.jira.tenantUrl(tenant),
          deployment: 'cloud',
          auth: { type: 'basic', username: user.user.emailAddress, secret: user.credentials.apiToken },
          tls: { caFile: fixture.pki.caFile },
          failureThreshold: 1,
        },
      ],
    }),
  );
  const store: Store = openStore(join(dir, `${name}.db`));
  const metrics = new AuthwatchMetrics({ defaultMetrics: false });
  const logged: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logged.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const logger = createLogger({ level: 'debug', stream });
  const notifiers = [...buildNotifiers(config.alerting), brokenSlack];
  let at = Date.parse('2026-03-01T10:00:00Z');
  const cycle = async (planner: NotificationPlanner = (input) => planNotifications(input, { notifiers, alerting: config.alerting })) => {
    at += 60_000;
    const now = new Date(at);
    const connection = config.connections[0];
    store.upsertConnections(config.connections, now);
    metrics.setConnections(config.connections);
    const deps: CycleDeps = { store, metrics, logger, planNotifications: planner, alerting: config.alerting, now: () => now, onEnqueued: () => {}, isCurrent: () => true };
    const prober = createProber(connection, { fingerprintKey: store.fingerprintKey(), now: () => now });
    try {
      return await runCycle(deps, connection, prober);
    } finally {
      prober.close();
      await nextTurn(); // the log lines reach the stream
    }
  };
  const revoke = () => fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
  return { store, metrics, logged, cycle, revoke };
}

async function counter(metrics: AuthwatchMetrics, channel: string, result: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const match = new RegExp(`^authwatch_notifications_total\\{channel="${channel}",result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

test('a renderer that throws: the probe, the state change, the incident and the other channels are recorded; the lost notification is logged and counted', async () => {
  const h = setUp('render-throws');
  await h.cycle();
  assert.equal(h.store.loadState('conn').state, 'ok');
  h.revoke();
  const result = await h.cycle();
  assert.equal(result.kind, 'recorded');

  const [probe] = h.store.recentProbes('conn', 1);
  assert.equal(probe.outcome, 'basic_auth_rejected', 'the probe row is stored');
  const state = h.store.loadState('conn');
  assert.equal(state.state, 'regressed', 'the state change is stored');
  assert.deepEqual(h.store.openIncidents('conn').map((incident) => incident.kind), ['regressed'], 'the incident is opened');
  const rows = h.store.pendingOutbox(new Date('9999-01-01T00:00:00Z'), undefined, 100);
  assert.ok(rows.some((row) => row.channel === 'alertmanager' && row.kind === 'open'), 'Alertmanager still hears of the incident');
  assert.equal(rows.filter((row) => row.channel === 'slack').length, 0, 'no row for the notification that could not be rendered');

  assert.equal(await counter(h.metrics, 'slack', 'failed'), 1, 'the lost notification is counted as failed');
  assert.match(await h.metrics.registry.metrics(), /^authwatch_probes_total\{outcome="basic_auth_rejected"\} 1$/m, 'the metrics follow the probe');
  const error = h.logged.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'notification could not be rendered; not sent');
  assert.ok(error, `the failure is logged: ${h.logged.join('')}`);
  assert.equal(error.channel, 'slack');
  assert.match(JSON.stringify(error), /renderer defect/);
});

test('a planner that throws: the probe and the state change are still recorded, the error logged', async () => {
  const h = setUp('plan-throws');
  await h.cycle();
  h.revoke();
  const result = await h.cycle(() => {
    throw new Error('planning defect');
  });
  assert.equal(result.kind, 'recorded');
  assert.equal(h.store.recentProbes('conn', 1)[0].outcome, 'basic_auth_rejected');
  assert.equal(h.store.loadState('conn').state, 'regressed');
  assert.ok(h.logged.some((line) => line.includes('notifications could not be planned') && line.includes('planning defect')));
});
