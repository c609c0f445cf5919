import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { MemoryOutbox } from '../../src/notify/memory-outbox.js';
import { buildNotifiers, outboxEntriesFor } from '../../src/notify/registry.js';
import { postToAlertmanager } from '../../src/notify/alertmanager/client.js';
import { renderAlertmanagerAlerts, type AlertmanagerAlert } from '../../src/notify/alertmanager/render.js';
import type { AlertingConfig } from '../../src/config/load.js';
import type { Notification } from '../../src/notify/types.js';
import { startAlertmanagerMock } from '../support/alertmanager-mock.js';
import { startAlertmanager } from '../support/alertmanager-real.js';
import { regression, resolved } from '../support/slack-notifications.js';

function alerting(urls: string[]): AlertingConfig {
  return { slack: null, alertmanager: { urls }, reminderIntervalMs: 0, certExpiryWarningMs: 0, tokenExpiryWarningMs: 0, dashboardUrl: 'https://grafana.example.com/d/authwatch' };
}

/** Renders through the registry and delivers through the dispatcher, as the daemon does. */
async function send(urls: string[], notifications: Notification[], now = new Date()) {
  const notifiers = buildNotifiers(alerting(urls), { timeoutMs: 5000 });
  const outbox = new MemoryOutbox();
  notifications.forEach((n, index) => {
    for (const entry of outboxEntriesFor(notifiers, n, { dedupeKey: `n${index}`, channels: ['alertmanager'] }, { now })) outbox.enqueue(entry, now);
  });
  const dispatcher = new Dispatcher({ outbox, notifiers: () => notifiers, retry: { initialDelayMs: 50 } });
  const summary = await dispatcher.runOnce();
  return { outbox, summary };
}

test('POST {url}/api/v2/alerts with a JSON array of alerts, to every configured Alertmanager', async () => {
  const a = await startAlertmanagerMock();
  const b = await startAlertmanagerMock();
  try {
    b.script({ status: 503, body: 'not ready' });
    const { outbox, summary } = await send([a.url, `${b.url}/`], [regression()]);
    assert.deepEqual(summary, { delivered: 1, retried: 1, failed: 0 }, 'each Alertmanager is its own delivery');
    assert.equal(a.requests.length, 1);
    const [request] = a.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/api/v2/alerts');
    assert.match(String(request.headers['content-type']), /^application\/json/);
    const alerts = request.body as AlertmanagerAlert[];
    assert.ok(Array.isArray(alerts) && alerts.length === 1);
    assert.deepEqual(Object.keys(alerts[0]).sort(), ['annotations', 'endsAt', 'generatorURL', 'labels', 'startsAt']);
    assert.equal(alerts[0].labels.alertname, 'AuthwatchAuthRegressed');
    assert.ok(Date.parse(alerts[0].endsAt) > Date.now(), 'a firing alert ends in the future');
    assert.equal(b.requests[0].path, '/api/v2/alerts');
    assert.deepEqual(outbox.list().map((row) => [row.target, row.status, row.lastError]), [
      [a.url, 'delivered', null],
      [`${b.url}/`, 'pending', 'Alertmanager answered HTTP 503 not ready'],
    ]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a 400 from Alertmanager is rejected, not retried', async () => {
  const am = await startAlertmanagerMock();
  try {
    am.script({ status: 400, body: '"at least one label pair required"' });
    const result = await postToAlertmanager(am.url, [], { timeoutMs: 2000 });
    assert.deepEqual(result, { kind: 'rejected', reason: 'Alertmanager answered HTTP 400 "at least one label pair required"' });
  } finally {
    await am.close();
  }
});

test('credentials in an Alertmanager URL never show up in a reason', async () => {
  const result = await postToAlertmanager('http://admin:s3cretpass@127.0.0.1:1', [], { timeoutMs: 500 });
  assert.equal(result.kind, 'retry');
  assert.ok(!JSON.stringify(result).includes('s3cretpass'));
});

interface ApiAlert {
  labels: Record<string, string>;
  startsAt: string;
  status: { state: string };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return (await response.json()) as T;
}

test('the real Alertmanager: one alert with the documented labels, deduplicated across replicas, gone when resolved', async () => {
  const am = await startAlertmanager();
  try {
    // replica A and replica B observe the same incident a little apart and render their own annotations
    const replicaA = regression();
    const replicaB = regression();
    replicaB.incident = { ...replicaB.incident!, openedAt: '2025-03-04T10:15:30.000Z' };
    replicaB.http!.headers['x-arequestid'] = 'seen-by-replica-b';
    const first = await send([am.url], [replicaA]);
    assert.deepEqual(first.summary, { delivered: 1, retried: 0, failed: 0 }, am.output());

    const alerts = await getJson<ApiAlert[]>(`${am.url}/api/v2/alerts`);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].labels, {
      alertname: 'AuthwatchAuthRegressed',
      connection: 'salesforce-to-jira',
      deployment: 'cloud',
      integration: 'salesforce',
      severity: 'critical',
      source: 'authwatch',
      team: 'crm',
    });
    assert.equal(alerts[0].status.state, 'active');

    const second = await send([am.url], [replicaB]);
    assert.deepEqual(second.summary, { delivered: 1, retried: 0, failed: 0 });
    const groups = await getJson<{ alerts: ApiAlert[]; labels: Record<string, string> }[]>(`${am.url}/api/v2/alerts/groups`);
    assert.equal(groups.length, 1, 'one group');
    assert.equal(groups[0].alerts.length, 1, 'one alert: identical labels from both replicas');
    assert.equal(groups[0].alerts[0].startsAt, '2025-03-04T10:15:00.000Z', 'Alertmanager keeps the earliest startsAt');

    const resolve = await send([am.url], [resolved()]);
    assert.deepEqual(resolve.summary, { delivered: 1, retried: 0, failed: 0 });
    assert.deepEqual(await getJson<ApiAlert[]>(`${am.url}/api/v2/alerts?active=true`), [], 'no longer active');
  } finally {
    await am.stop();
  }
});

test('the real Alertmanager accepts every kind of alert authwatch renders', async () => {
  const am = await startAlertmanager();
  try {
    const base = regression();
    const kinds: Notification[] = [
      base,
      { ...base, kind: 'tls_changed', incident: null },
      { ...base, kind: 'cert_expiring', incident: null, certificate: { notAfter: '2030-01-01T00:00:00.000Z', daysLeft: 3, subject: 'CN=acme' } },
      { ...base, kind: 'token_expiring', incident: null, token: { expiresAt: '2030-01-01', daysLeft: 3 } },
      { ...base, kind: 'identity_changed', incident: null },
      { ...base, kind: 'test', incident: null, connection: null },
    ];
    const now = new Date();
    for (const n of kinds) {
      const result = await postToAlertmanager(am.url, renderAlertmanagerAlerts(n, { dashboardUrl: null, now }), { timeoutMs: 5000 });
      assert.deepEqual(result, { kind: 'delivered' }, `${n.kind}: ${am.output()}`);
    }
    const names = (await getJson<ApiAlert[]>(`${am.url}/api/v2/alerts`)).map((alert) => alert.labels.alertname).sort();
    assert.deepEqual(names, [
      'AuthwatchAuthRegressed',
      'AuthwatchCertExpiringSoon',
      'AuthwatchIdentityChanged',
      'AuthwatchTest',
      'AuthwatchTlsChanged',
      'AuthwatchTokenExpiringSoon',
    ]);
  } finally {
    await am.stop();
  }
});
