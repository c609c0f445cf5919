import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderAlertmanagerAlerts, withFiringWindow, ALERTMANAGER_TIMING } from '../../src/notify/alertmanager/render.js';
import { alertsEndpoint } from '../../src/notify/alertmanager/client.js';
import type { Notification } from '../../src/notify/types.js';
import { regression, resolved } from '../support/slack-notifications.js';

const NOW = new Date('2025-03-04T10:16:00.000Z');

test('a regression becomes one firing AuthwatchAuthRegressed alert with the documented labels', () => {
  const [alert, ...rest] = renderAlertmanagerAlerts(regression(), { dashboardUrl: 'https://grafana.example.com/d/authwatch', now: NOW });
  assert.equal(rest.length, 0);
  assert.deepEqual(alert.labels, {
    team: 'crm',
    integration: 'salesforce',
    alertname: 'AuthwatchAuthRegressed',
    source: 'authwatch',
    connection: 'salesforce-to-jira',
    deployment: 'cloud',
    severity: 'critical',
  });
  assert.equal(alert.startsAt, '2025-03-04T10:15:00.000Z', 'startsAt is when the incident opened');
  assert.equal(alert.endsAt, new Date(NOW.getTime() + ALERTMANAGER_TIMING.firingValidityMs).toISOString());
  assert.equal(alert.generatorURL, 'https://grafana.example.com/d/authwatch');
  assert.equal(alert.annotations.outcome, 'basic_auth_rejected');
  assert.equal(alert.annotations.summary, 'salesforce-to-jira: auth regressed (basic_auth_rejected)');
  assert.equal(alert.annotations.dashboard, 'https://grafana.example.com/d/authwatch');
  assert.match(alert.annotations.remediation, /^1\. Check that the username is the account email\.\n2\. /);
  assert.match(alert.annotations.description, /credential unchanged/);
  assert.match(alert.annotations.description, /TLS protocol changed: TLSv1\.3 → TLSv1\.2/);
  assert.match(alert.annotations.description, /HTTP 401/);
});

test('labels are identical whichever replica renders, whenever: nothing time- or host-dependent', () => {
  const a = renderAlertmanagerAlerts(regression(), { dashboardUrl: null, now: NOW })[0];
  const later = regression();
  later.kind = 'incident_reminder';
  later.at = '2025-03-04T11:00:00.000Z';
  later.http!.headers['x-arequestid'] = 'another-request';
  const b = renderAlertmanagerAlerts(later, { dashboardUrl: null, now: new Date('2025-03-04T11:00:05.000Z') })[0];
  assert.deepEqual(a.labels, b.labels);
  assert.equal(a.startsAt, b.startsAt);
  assert.equal('generatorURL' in a, false, 'no generatorURL without a dashboard');
});

test('configured labels cannot override authwatch labels', () => {
  const n = regression();
  n.connection!.labels = { alertname: 'Mine', severity: 'low', source: 'me', team: 'crm' };
  const [alert] = renderAlertmanagerAlerts(n, { dashboardUrl: null, now: NOW });
  assert.equal(alert.labels.alertname, 'AuthwatchAuthRegressed');
  assert.equal(alert.labels.severity, 'critical');
  assert.equal(alert.labels.source, 'authwatch');
  assert.equal(alert.labels.team, 'crm');
});

test('a resolved incident ends at the resolve time, with the same labels as its firing alert', () => {
  const [firing] = renderAlertmanagerAlerts(regression(), { dashboardUrl: null, now: NOW });
  const [done] = renderAlertmanagerAlerts(resolved(), { dashboardUrl: null, now: new Date('2025-03-04T12:21:00.000Z') });
  assert.deepEqual(done.labels, firing.labels);
  assert.equal(done.startsAt, '2025-03-04T10:15:00.000Z');
  assert.equal(done.endsAt, '2025-03-04T12:20:00.000Z');
  assert.match(done.annotations.summary, /resolved after 2h 5m/);
});

test('alert names and severities per incident state and event', () => {
  const base = regression();
  const of = (patch: Partial<Notification>) => renderAlertmanagerAlerts({ ...base, ...patch }, { dashboardUrl: null, now: NOW })[0].labels;
  const names = [
    of({ incident: { state: 'failing', openedAt: base.at, resolvedAt: null } }),
    of({ incident: { state: 'unreachable', openedAt: base.at, resolvedAt: null } }),
    of({ kind: 'tls_changed', incident: null }),
    of({ kind: 'cert_expiring', incident: null, certificate: { notAfter: '2025-03-10T00:00:00.000Z', daysLeft: 5, subject: null } }),
    of({ kind: 'token_expiring', incident: null, token: { expiresAt: '2025-03-10', daysLeft: 5 } }),
    of({ kind: 'identity_changed', incident: null }),
    { ...of({ kind: 'test', incident: null, connection: null }) },
  ].map((labels) => `${labels.alertname}/${labels.severity}/${labels.connection ?? '-'}`);
  assert.deepEqual(names, [
    'AuthwatchNeverAuthenticated/warning/salesforce-to-jira',
    'AuthwatchUnreachable/warning/salesforce-to-jira',
    'AuthwatchTlsChanged/warning/salesforce-to-jira',
    'AuthwatchCertExpiringSoon/warning/salesforce-to-jira',
    'AuthwatchTokenExpiringSoon/warning/salesforce-to-jira',
    'AuthwatchIdentityChanged/warning/salesforce-to-jira',
    'AuthwatchTest/info/-',
  ]);
});

test('a retried firing alert is re-stamped at send time so it does not arrive already expired', () => {
  const alerts = renderAlertmanagerAlerts(regression(), { dashboardUrl: null, now: NOW });
  const sendTime = new Date('2025-03-04T14:00:00.000Z');
  const [sent] = withFiringWindow(alerts, sendTime, 900_000);
  assert.equal(sent.endsAt, '2025-03-04T14:15:00.000Z');
  assert.equal(sent.startsAt, alerts[0].startsAt);
});

test('the v2 endpoint keeps a path prefix', () => {
  assert.equal(alertsEndpoint('http://127.0.0.1:9093'), 'http://127.0.0.1:9093/api/v2/alerts');
  assert.equal(alertsEndpoint('https://am.example.com/alertmanager/'), 'https://am.example.com/alertmanager/api/v2/alerts');
});
