import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiToken } from '../support/jira-mock.js';
import { DaemonProcess, eventually, type LogLine } from '../support/cli.js';
import { startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startAlertmanager } from '../support/alertmanager-real.js';
import { cloudTenant, tempDir, writeConfig } from '../support/notify-e2e.js';

// The real Alertmanager (Debian's prometheus-alertmanager) receiving authwatch's own alerts: firing on a regression,
// resolved on recovery, and one alert — not two — when two authwatch replicas watch the same connection (--shard or unsharded replicas).
interface AmAlert {
  labels: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}
interface AmGroup {
  labels: Record<string, string>;
  alerts: AmAlert[];
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

let fixture: JiraFixture;
before(async () => {
  fixture = await startJiraFixture();
});
after(() => fixture.close());

const delivered = (daemon: DaemonProcess): LogLine[] => daemon.logs().filter((line) => line.msg === 'notification delivered' && line.channel === 'alertmanager');

test(
  'two replicas, one Alertmanager: one firing AuthwatchAuthRegressed alert in one group after the regression, none active after the recovery',
  async (t) => {
    const am = await startAlertmanager();
    t.after(() => am.stop());
    const dir = tempDir(t);
    const { tenant, connection, env, token } = cloudTenant(fixture, 'salesforce-to-jira');
    // Same connections and alerting, separate databases: what two replicas of one config look like.
    const replicas = ['a', 'b'].map((name) => {
      mkdirSync(join(dir, name));
      const config = writeConfig({ dir: join(dir, name), caFile: fixture.pki.caFile, connections: [connection], alertmanagerUrls: [am.url] });
      const daemon = new DaemonProcess(config, { env });
      t.after(() => daemon.stop());
      return daemon;
    });
    await Promise.all(replicas.map((daemon) => daemon.waitForLog((line) => line.msg === 'probe' && line.outcome === 'ok', 20_000, 'a first ok probe')));

    fixture.jira.setCredentials(tenant, { apiToken: generateApiToken() });
    await eventually(() => replicas.every((daemon) => delivered(daemon).length >= 1), 15_000);
    const active = (await getJson<AmAlert[]>(`${am.url}/api/v2/alerts?active=true`)).filter((alert) => alert.labels.source === 'authwatch');
    assert.equal(active.length, 1, `one alert from two replicas: ${JSON.stringify(active)}\n${am.output()}`);
    assert.deepEqual(active[0].labels, {
      alertname: 'AuthwatchAuthRegressed',
      source: 'authwatch',
      connection: 'salesforce-to-jira',
      deployment: 'cloud',
      severity: 'critical',
      team: 'crm',
    });
    assert.equal(active[0].status.state, 'active');
    assert.ok(Date.parse(active[0].endsAt) > Date.now(), 'firing: endsAt in the future');
    const groups = (await getJson<AmGroup[]>(`${am.url}/api/v2/alerts/groups`)).filter((group) => group.labels.alertname === 'AuthwatchAuthRegressed');
    assert.equal(groups.length, 1, 'one group');
    assert.equal(groups[0].alerts.length, 1, 'one alert in it');
    assert.equal(groups[0].labels.connection, 'salesforce-to-jira');

    fixture.jira.setCredentials(tenant, { apiToken: token });
    await eventually(() => replicas.every((daemon) => delivered(daemon).length >= 2), 15_000);
    await eventually(async () => {
      const alerts = await getJson<AmAlert[]>(`${am.url}/api/v2/alerts?active=true`);
      return alerts.every((alert) => alert.labels.alertname !== 'AuthwatchAuthRegressed');
    }, 5000);
    for (const daemon of replicas) {
      assert.deepEqual(
        daemon.logs().filter((line) => line.msg === 'state changed').map((line) => `${String(line.from)}→${String(line.to)}`),
        ['unknown→ok', 'ok→regressed', 'regressed→ok'],
      );
      assert.equal(delivered(daemon).length, 2, 'one firing and one resolved push per replica');
    }
  },
);
