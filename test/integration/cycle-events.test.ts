// The daemon's cycle with its real parts (probe over HTTPS against the simulated Jira, classifier, state machine,
// SQLite store, notification planning and the notifiers' renderers): events and their notifications happen
// exactly once per occurrence, however many probes see the same thing.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, type Config, type Connection } from '../../src/config/load.js';
import { runCycle, type CycleDeps } from '../../src/daemon/cycle.js';
import { planNotifications } from '../../src/notify/decide.js';
import { silentLogger } from '../../src/log/logger.js';
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';
import { buildNotifiers } from '../../src/notify/registry.js';
import { createProber } from '../../src/probe/prober.js';
import { openStore, type Store } from '../../src/store/store.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import type { JiraMock } from '../support/jira-mock.js';

const DAY_MS = 86_400_000;
let fixture: JiraFixture;
let dir: string;

before(async () => {
  fixture = await startJiraFixture();
  dir = mkdtempSync(join(tmpdir(), 'authwatch-cycle-'));
});
after(async () => {
  await fixture.close();
  rmSync(dir, { recursive: true, force: true });
});

function configFor(server: JiraMock, tenant: string, extra: Record<string, unknown> = {}, alerting: Record<string, unknown> = {}): Config {
  const user = server.tenant(tenant);
  return parseConfigText(
    JSON.stringify({
      alerting: { slack: { webhookUrl: { env: 'SLACK_URL' } }, alertmanager: { urls: ['http://127.0.0.1:9'] }, ...alerting },
      connections: [
        {
          name: 'conn',
          url: server.tenantUrl(tenant),
          deployment: 'cloud',
          auth: { type: 'basic', username: user.user.emailAddress, secret: user.credentials.apiToken },
          tls: { caFile: fixture.pki.caFile },
          failureThreshold: 1,
          ...extra,
        },
      ],
    }),
  );
}

interface Harness {
  store: Store;
  cycle(config: Config, at: Date): Promise<void>;
  events(kind?: string): { kind: string; details: string }[];
  outbox(): { channel: string; kind: string; payload: string }[];
}

function harness(name: string): Harness {
  const store = openStore(join(dir, `${name}.db`));
  const metrics = new AuthwatchMetrics({ defaultMetrics: false });
  return {
    store,
    async cycle(config, at) {
      const connection: Connection = config.connections[0];
      store.upsertConnections(config.connections, at);
      metrics.setConnections(config.connections);
      const notifiers = buildNotifiers(config.alerting, { env: { SLACK_URL: 'http://127.0.0.1:9/services/x' } });
      const deps: CycleDeps = {
        store,
        metrics,
        logger: silentLogger,
        planNotifications: (input) => planNotifications(input, { notifiers, alerting: config.alerting }),
        alerting: config.alerting,
        now: () => at,
        onEnqueued: () => {},
        isCurrent: () => true,
      };
      const prober = createProber(connection, { fingerprintKey: store.fingerprintKey(), now: () => at });
      try {
        await runCycle(deps, connection, prober);
      } finally {
        prober.close();
      }
    },
    events(kind) {
      const { events } = store.history('conn', new Date(0), 1000);
      return events.filter((event) => !kind || event.kind === kind).map((event) => ({ kind: event.kind, details: JSON.stringify(event.details) }));
    },
    outbox() {
      return store
        .pendingOutbox(new Date('9999-01-01T00:00:00Z'), undefined, 1000)
        .map((item) => ({ channel: item.channel, kind: item.kind, payload: JSON.stringify(item.payload) }));
    },
  };
}

test('a certificate inside the warning window: one cert_expiring event and one notification per channel, however many probes', async () => {
  const soon = await fixture.pki.issue({ name: 'soon', sans: ['DNS:localhost', 'IP:127.0.0.1'], notAfter: new Date(Date.now() + 3 * DAY_MS) });
  const server = await fixture.serve(soon);
  const tenant = fixture.tenant({ deployment: 'cloud' }, server);
  const h = harness('cert');
  const config = configFor(server, tenant);
  for (let probe = 0; probe < 4; probe++) await h.cycle(config, new Date(Date.now() + probe * 60_000));

  const expiring = h.events('cert_expiring');
  assert.equal(expiring.length, 1, 'one event for one certificate');
  assert.match(expiring[0].details, /"daysLeft":2/);
  const rows = h.outbox().filter((row) => row.kind === 'event');
  assert.deepEqual(rows.map((row) => row.channel).sort(), ['alertmanager', 'slack']);
  assert.match(rows.find((row) => row.channel === 'slack')!.payload, /expir/i);
  assert.match(rows.find((row) => row.channel === 'alertmanager')!.payload, /AuthwatchCertExpiring/);
  h.store.close();
});

test('auth.expiresAt inside the warning window: one token_expiring notification; none when it is far away', async () => {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const h = harness('token');
  const inFiveDays = new Date(Date.now() + 5 * DAY_MS).toISOString().slice(0, 10);
  const far = new Date(Date.now() + 200 * DAY_MS).toISOString().slice(0, 10);
  const farConfig = configFor(fixture.jira, tenant, {});
  const farAuth = { ...farConfig.connections[0], auth: { ...farConfig.connections[0].auth, expiresAt: far }, tokenExpiresAt: far };
  await h.cycle({ ...farConfig, connections: [farAuth] }, new Date());
  assert.equal(h.events('token_expiring').length, 0);

  const soonAuth = { ...farAuth, auth: { ...farAuth.auth, expiresAt: inFiveDays }, tokenExpiresAt: inFiveDays };
  for (let probe = 1; probe <= 3; probe++) await h.cycle({ ...farConfig, connections: [soonAuth] }, new Date(Date.now() + probe * 60_000));
  assert.equal(h.events('token_expiring').length, 1);
  assert.equal(h.outbox().filter((row) => row.kind === 'event' && row.channel === 'slack').length, 1);
  h.store.close();
});

test('a TLS protocol downgrade since the last success is recorded and notified once; an unchanged handshake records nothing', async () => {
  const tenant = fixture.tenant({ deployment: 'cloud' });
  const h = harness('tls');
  const config = configFor(fixture.jira, tenant);
  await h.cycle(config, new Date());
  await h.cycle(config, new Date(Date.now() + 60_000));
  assert.equal(h.events('tls_changed').length, 0, 'same server, same handshake');

  // The same site now negotiates TLS 1.2 (as if a proxy in front of it had been reconfigured).
  const capped = configFor(fixture.jira, tenant, { tls: { caFile: fixture.pki.caFile, maxVersion: 'TLSv1.2' } });
  await h.cycle(capped, new Date(Date.now() + 120_000));
  await h.cycle(capped, new Date(Date.now() + 180_000));
  const changed = h.events('tls_changed');
  assert.equal(changed.length, 1, 'the change is recorded against the last success once');
  assert.match(changed[0].details, /"downgrade":true/);
  assert.match(changed[0].details, /TLSv1\.3.*TLSv1\.2/);
  const notified = h.outbox().filter((row) => row.kind === 'event' && row.channel === 'slack');
  assert.equal(notified.length, 1);
  assert.match(notified[0].payload, /TLSv1\.3.*TLSv1\.2/);
  h.store.close();
});

test('the credentials now authenticate as someone else: identity_changed, once', async () => {
  const first = fixture.tenant({ deployment: 'cloud' });
  const second = fixture.tenant({ deployment: 'cloud' });
  const h = harness('identity');
  await h.cycle(configFor(fixture.jira, first), new Date());
  await h.cycle(configFor(fixture.jira, second), new Date(Date.now() + 60_000));
  await h.cycle(configFor(fixture.jira, second), new Date(Date.now() + 120_000));
  const changed = h.events('identity_changed');
  assert.equal(changed.length, 1);
  assert.ok(changed[0].details.includes(fixture.jira.tenant(second).user.accountId));
  assert.equal(h.outbox().filter((row) => row.kind === 'event' && row.channel === 'slack').length, 1);
  h.store.close();
});
