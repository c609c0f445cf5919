import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthwatchMetrics, CONNECTION_METRICS, type MetricsConnection, type MetricsOptions, type ProbeMetrics } from '../../src/metrics/metrics.js';
import { OUTCOMES } from '../../src/diagnosis/outcome-names.js';
import type { TlsDetails } from '../../src/probe/observation.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format's sample lines (enough for the values authwatch writes). */
function parseSamples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

async function samples(metrics: AuthwatchMetrics, name: string, connection?: string): Promise<Sample[]> {
  return parseSamples(await metrics.render()).filter(
    (sample) => sample.name === name && (connection === undefined || sample.labels.connection === connection),
  );
}

async function value(metrics: AuthwatchMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const all = await samples(metrics, name);
  return all.find((sample) => Object.entries(labels).every(([key, expected]) => sample.labels[key] === expected))?.value;
}

const cloud: MetricsConnection = {
  name: 'salesforce-to-jira',
  url: 'https://acme.atlassian.net',
  deployment: 'cloud',
  auth: { type: 'basic' },
  labels: { team: 'crm', integration: 'salesforce' },
  tokenExpiresAt: '2027-05-01',
};
const dc: MetricsConnection = {
  name: 'scriptrunner-dc',
  url: 'https://jira.acme.internal',
  deployment: 'datacenter',
  auth: { type: 'bearer' },
  labels: { team: 'tools' },
  tokenExpiresAt: null,
};

const TLS: TlsDetails = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_128_GCM_SHA256',
  subject: 'CN=acme.atlassian.net',
  issuer: 'CN=Amazon RSA 2048 M02',
  sans: ['DNS:*.atlassian.net'],
  serial: '01',
  fingerprint256: 'AB:CD',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-12-31T00:00:00.000Z',
  chainEarliestNotAfter: '2026-10-01T00:00:00.000Z',
  authorized: true,
  authorizationError: null,
};

function probe(overrides: Partial<ProbeMetrics> = {}): ProbeMetrics {
  return {
    outcome: 'ok',
    httpStatus: 200,
    at: '2026-03-01T10:00:00.000Z',
    timings: { dns: 0.004, connect: 0.02, tls: 0.05, request: 0.001, first_byte: 0.2, download: 0.002, total: 0.277 },
    tls: TLS,
    ...overrides,
  };
}

function fresh(options: MetricsOptions = {}): AuthwatchMetrics {
  return new AuthwatchMetrics({ defaultMetrics: false, version: '1.2.3', nodeVersion: 'v20.20.0', ...options });
}

test('a configured connection has its info, state and expiry series before any probe, but no probe series', async () => {
  const metrics = fresh();
  metrics.setConnections([cloud]);
  assert.deepEqual((await samples(metrics, 'authwatch_connection_info')).map((sample) => sample.labels), [
    { connection: 'salesforce-to-jira', url: 'https://acme.atlassian.net', deployment: 'cloud', auth_type: 'basic', integration: 'salesforce', team: 'crm' },
  ]);
  assert.deepEqual((await samples(metrics, 'authwatch_auth_state')).map((sample) => [sample.labels.state, sample.value]), [['unknown', 1]]);
  assert.equal(await value(metrics, 'authwatch_token_expiry_timestamp_seconds', {}), Date.parse('2027-05-01T00:00:00Z') / 1000);
  for (const name of ['authwatch_probe_success', 'authwatch_http_status_code', 'authwatch_probe_duration_seconds', 'authwatch_last_success_timestamp_seconds']) {
    assert.deepEqual(await samples(metrics, name), [], `${name} before the first probe`);
  }
  assert.deepEqual(await samples(metrics, 'authwatch_build_info'), [
    { name: 'authwatch_build_info', labels: { version: '1.2.3', node_version: 'v20.20.0' }, value: 1 },
  ]);
});

test('a probe sets success, status, every phase, the timestamp, TLS and counts its outcome', async () => {
  const metrics = fresh({ detail: true });
  metrics.setConnections([cloud]);
  metrics.recordProbe('salesforce-to-jira', probe({ timings: { dns: 0.004, connect: 0.02, tls: null, request: 0.001, first_byte: 0.2, download: 0.002, total: 0.3 } }));
  assert.equal(await value(metrics, 'authwatch_probe_success', {}), 1);
  assert.equal(await value(metrics, 'authwatch_http_status_code', {}), 200);
  assert.equal(await value(metrics, 'authwatch_probes_total', { outcome: 'ok' }), 1);
  assert.equal(await value(metrics, 'authwatch_last_probe_timestamp_seconds', {}), Date.parse('2026-03-01T10:00:00Z') / 1000);
  assert.equal(await value(metrics, 'authwatch_probe_duration_seconds', {}), 0.3, 'the total has a metric of its own');
  const phases = Object.fromEntries((await samples(metrics, 'authwatch_probe_phase_duration_seconds')).map((sample) => [sample.labels.phase, sample.value]));
  assert.deepEqual(phases, { dns: 0.004, connect: 0.02, tls: 0, request: 0.001, first_byte: 0.2, download: 0.002 }, 'the parts, without the total');
  assert.equal(await value(metrics, 'authwatch_probe_phase_seconds_count', { phase: 'dns' }), 1, 'the histogram over all probes');
  assert.equal(await value(metrics, 'authwatch_probe_phase_seconds_count', { phase: 'tls' }), undefined, 'a part that did not happen is not observed');
  assert.equal(await value(metrics, 'authwatch_tls_version_info', { version: 'TLSv1.3' }), 1);
  assert.equal(await value(metrics, 'authwatch_tls_cipher_info', { cipher: 'TLS_AES_128_GCM_SHA256' }), 1);
  assert.equal(await value(metrics, 'authwatch_tls_cert_not_after_timestamp_seconds', {}), Date.parse('2026-12-31T00:00:00Z') / 1000);
  assert.equal(await value(metrics, 'authwatch_tls_chain_earliest_not_after_timestamp_seconds', {}), Date.parse('2026-10-01T00:00:00Z') / 1000);
});

test('only the current outcome has a last_outcome_info series', async () => {
  const metrics = fresh({ detail: true });
  metrics.setConnections([cloud, dc]);
  metrics.recordProbe('salesforce-to-jira', probe());
  metrics.recordProbe('salesforce-to-jira', probe({ outcome: 'basic_auth_rejected', httpStatus: 401 }));
  metrics.recordProbe('scriptrunner-dc', probe({ outcome: 'captcha_required', httpStatus: 403 }));
  metrics.recordProbe('salesforce-to-jira', probe({ outcome: 'dns_error', httpStatus: null, tls: null }));
  assert.deepEqual((await samples(metrics, 'authwatch_last_outcome_info')).map((sample) => [sample.labels, sample.value]), [
    [{ connection: 'salesforce-to-jira', outcome: 'dns_error', class: 'network' }, 1],
    [{ connection: 'scriptrunner-dc', outcome: 'captcha_required', class: 'auth' }, 1],
  ]);
  assert.equal(await value(metrics, 'authwatch_http_status_code', { connection: 'salesforce-to-jira' }), 0, 'no response is status 0');
  assert.equal(await value(metrics, 'authwatch_probe_success', { connection: 'salesforce-to-jira' }), 0);
  const counts = Object.fromEntries((await samples(metrics, 'authwatch_probes_total')).filter((sample) => sample.value > 0).map((sample) => [sample.labels.outcome, sample.value]));
  assert.deepEqual(counts, { ok: 1, basic_auth_rejected: 1, dns_error: 1, captcha_required: 1 });
});

test('auth_state has one series, the current state, and no auth_regressed duplicate', async () => {
  const metrics = fresh({ detail: true });
  metrics.setConnections([cloud]);
  metrics.recordState('salesforce-to-jira', { state: 'regressed', consecutiveFailures: 3, lastSuccessAt: '2026-02-28T09:00:00.000Z' });
  const states = Object.fromEntries((await samples(metrics, 'authwatch_auth_state')).map((sample) => [sample.labels.state, sample.value]));
  assert.deepEqual(states, { regressed: 1 });
  assert.deepEqual(await samples(metrics, 'authwatch_auth_regressed'), []);
  assert.equal(await value(metrics, 'authwatch_consecutive_failures', {}), 3);
  assert.equal(await value(metrics, 'authwatch_last_success_timestamp_seconds', {}), Date.parse('2026-02-28T09:00:00Z') / 1000);

  metrics.recordState('salesforce-to-jira', { state: 'ok', consecutiveFailures: 0, lastSuccessAt: '2026-03-01T10:00:00.000Z' });
  const after = (await samples(metrics, 'authwatch_auth_state')).filter((sample) => sample.value === 1);
  assert.deepEqual(after.map((sample) => sample.labels.state), ['ok']);
  assert.equal((await samples(metrics, 'authwatch_auth_state')).length, 1);
});

test('a removed connection loses every series; the others keep theirs', async () => {
  const metrics = fresh({ detail: true, schedulePeriodSeconds: () => 60 });
  metrics.setConnections([cloud, dc]);
  for (const name of [cloud.name, dc.name]) {
    metrics.recordProbe(name, probe());
    metrics.recordState(name, { state: 'ok', consecutiveFailures: 0, lastSuccessAt: '2026-03-01T10:00:00.000Z' });
  }
  metrics.recordProbe(cloud.name, probe({ outcome: 'auth_rejected', httpStatus: 401 }));
  metrics.setConnections([dc]);

  const all = parseSamples(await metrics.render());
  assert.deepEqual(all.filter((sample) => Object.values(sample.labels).includes('salesforce-to-jira')), []);
  const dcNames = new Set(all.filter((sample) => sample.labels.connection === 'scriptrunner-dc').map((sample) => sample.name));
  assert.ok(dcNames.has('authwatch_probe_success') && dcNames.has('authwatch_tls_version_info') && dcNames.has('authwatch_auth_state'));
  assert.deepEqual((await samples(metrics, 'authwatch_connection_info')).map((sample) => sample.labels), [
    { connection: 'scriptrunner-dc', url: 'https://jira.acme.internal', deployment: 'datacenter', auth_type: 'bearer', team: 'tools' },
  ]);

  metrics.recordProbe(cloud.name, probe());
  metrics.recordState(cloud.name, { state: 'ok', consecutiveFailures: 0, lastSuccessAt: null });
  assert.deepEqual(await samples(metrics, 'authwatch_probe_success', cloud.name), [], 'a late probe of a removed connection does not resurrect it');
});

test('a reload that changes a connection updates its info labels and token expiry without touching its history', async () => {
  const metrics = fresh();
  metrics.setConnections([cloud]);
  metrics.recordProbe(cloud.name, probe());
  metrics.setConnections([{ ...cloud, url: 'https://acme-new.atlassian.net', labels: { owner: 'ana' }, tokenExpiresAt: null }]);
  assert.deepEqual((await samples(metrics, 'authwatch_connection_info')).map((sample) => sample.labels), [
    { connection: 'salesforce-to-jira', url: 'https://acme-new.atlassian.net', deployment: 'cloud', auth_type: 'basic', owner: 'ana' },
  ]);
  assert.deepEqual(await samples(metrics, 'authwatch_token_expiry_timestamp_seconds'), []);
  assert.equal(await value(metrics, 'authwatch_last_probe_timestamp_seconds', {}), Date.parse('2026-03-01T10:00:00Z') / 1000, 'the last probe is kept');
});

test('TLS series follow the last handshake: kept when no handshake happened, replaced or removed when one did', async () => {
  const metrics = fresh({ detail: true });
  metrics.setConnections([cloud]);
  metrics.recordProbe(cloud.name, probe());
  metrics.recordProbe(cloud.name, probe({ outcome: 'connect_error', httpStatus: null, tls: null }));
  assert.equal(await value(metrics, 'authwatch_tls_version_info', { version: 'TLSv1.3' }), 1, 'a refused connection says nothing new about TLS');

  metrics.recordProbe(cloud.name, probe({ tls: { ...TLS, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' } }));
  assert.deepEqual((await samples(metrics, 'authwatch_tls_version_info')).map((sample) => sample.labels.version), ['TLSv1.2']);
  assert.deepEqual((await samples(metrics, 'authwatch_tls_cipher_info')).map((sample) => sample.labels.cipher), ['ECDHE-RSA-AES128-GCM-SHA256']);

  metrics.recordProbe(cloud.name, probe({ outcome: 'tls_handshake_failed', httpStatus: null, tls: { ...TLS, protocol: null, cipher: null, notAfter: null, chainEarliestNotAfter: null, authorized: false } }));
  assert.deepEqual(await samples(metrics, 'authwatch_tls_version_info'), []);
  assert.deepEqual(await samples(metrics, 'authwatch_tls_cipher_info'), []);
  assert.deepEqual(await samples(metrics, 'authwatch_tls_cert_not_after_timestamp_seconds'), []);
});

test('notification channels start at zero and a channel no longer configured disappears', async () => {
  const metrics = fresh();
  metrics.setChannels(['slack', 'alertmanager']);
  metrics.notification('slack', 'retried');
  metrics.notification('slack', 'delivered');
  metrics.setOutboxPending('alertmanager', 2);
  assert.equal(await value(metrics, 'authwatch_notifications_total', { channel: 'slack', result: 'delivered' }), 1);
  assert.equal(await value(metrics, 'authwatch_notifications_total', { channel: 'alertmanager', result: 'failed' }), 0);
  assert.equal(await value(metrics, 'authwatch_outbox_pending', { channel: 'alertmanager' }), 2);
  metrics.setChannels(['slack']);
  assert.deepEqual((await samples(metrics, 'authwatch_outbox_pending')).map((sample) => sample.labels.channel), ['slack']);
  assert.deepEqual(new Set((await samples(metrics, 'authwatch_notifications_total')).map((sample) => sample.labels.channel)), new Set(['slack']));
});

test('config reloads: success and the time of the last successful load', async () => {
  const metrics = fresh();
  metrics.configReloaded(true, new Date('2026-03-01T10:00:00Z'));
  metrics.configReloaded(false, new Date('2026-03-01T11:00:00Z'));
  assert.equal(await value(metrics, 'authwatch_config_last_reload_successful', {}), 0);
  assert.equal(await value(metrics, 'authwatch_config_last_reload_timestamp_seconds', {}), Date.parse('2026-03-01T10:00:00Z') / 1000);
});

test('two instances do not share series (own registry, never the global one)', async () => {
  const first = fresh();
  const second = fresh();
  first.setConnections([cloud]);
  assert.deepEqual(await samples(second, 'authwatch_connection_info'), []);
});

test('every outcome is counted from 0 before it first happens, so increase() sees the first failure', async () => {
  const metrics = fresh();
  const before = await samples(metrics, 'authwatch_probes_total');
  assert.deepEqual(before.map((sample) => sample.labels.outcome).sort(), [...OUTCOMES].sort());
  assert.ok(before.every((sample) => sample.value === 0));
  metrics.setConnections([cloud]);
  metrics.recordProbe(cloud.name, probe({ outcome: 'scope_mismatch', httpStatus: 401 }));
  assert.equal(await value(metrics, 'authwatch_probes_total', { outcome: 'scope_mismatch' }), 1);
});

test('the series budget: at most 11 series per connection by default, detail adds the per-probe ones', async () => {
  const perConnection = async (metrics: AuthwatchMetrics) => {
    metrics.setConnections([cloud]);
    metrics.recordProbe(cloud.name, probe());
    metrics.recordState(cloud.name, { state: 'ok', consecutiveFailures: 0, lastSuccessAt: '2026-03-01T10:00:00.000Z' });
    return parseSamples(await metrics.render()).filter((sample) => sample.labels.connection === cloud.name).map((sample) => sample.name);
  };
  const lean = await perConnection(fresh({ schedulePeriodSeconds: () => 300 }));
  assert.equal(lean.length, 11, lean.join(', '));
  for (const name of ['authwatch_http_status_code', 'authwatch_probe_phase_duration_seconds', 'authwatch_tls_cipher_info', 'authwatch_consecutive_failures']) {
    assert.ok(!lean.includes(name), `${name} is detail`);
  }
  const detailed = await perConnection(fresh({ schedulePeriodSeconds: () => 300, detail: true }));
  assert.equal(detailed.length, 11 + 1 + 1 + 6 + 1 + 1);
  // Only a mutual-TLS connection (tls.certFile) has a client certificate to export.
  const withClientCertificate = new Set(['authwatch_tls_client_cert_not_after_timestamp_seconds']);
  assert.deepEqual(new Set(CONNECTION_METRICS.map((metric) => metric.name).filter((name) => !withClientCertificate.has(name))), new Set(detailed));
});

test("next due follows the connection's own schedule, the lockout back-off, and the first probe's spread", async () => {
  let now = Date.parse('2026-03-01T09:59:00Z') / 1000;
  const periods: Record<string, number> = { [cloud.name]: 300, [dc.name]: 365 * 86400 };
  const metrics = fresh({ now: () => now, schedulePeriodSeconds: (name) => periods[name] ?? null });
  metrics.setConnections([cloud, dc]);
  const due = async (name: string) => value(metrics, 'authwatch_probe_next_due_timestamp_seconds', { connection: name });
  assert.equal(await due(cloud.name), now + 300 + 60, 'before the first probe: configured + period + the spread window');
  assert.equal(await due(dc.name), now + 365 * 86400 + 60);
  metrics.recordProbe(cloud.name, probe({ at: '2026-03-01T10:00:00.000Z' }));
  now += 3600;
  assert.equal(await due(cloud.name), Date.parse('2026-03-01T10:05:00Z') / 1000, 'last probe + period, however late it is now');
  metrics.recordState(cloud.name, { state: 'failing', consecutiveFailures: 2, lastSuccessAt: null, backoffUntil: '2026-03-01T11:00:00.000Z' });
  assert.equal(await due(cloud.name), Date.parse('2026-03-01T11:05:00Z') / 1000, 'after a lockout back-off');
});

test('the outbox: pending count and the age of the oldest pending notification, computed at scrape time', async () => {
  let now = Date.parse('2026-03-01T10:00:00Z') / 1000;
  const metrics = fresh({ now: () => now });
  metrics.setChannels(['slack']);
  metrics.setOutboxPending('slack', 2, '2026-03-01T09:50:00.000Z');
  assert.equal(await value(metrics, 'authwatch_outbox_oldest_pending_age_seconds', { channel: 'slack' }), 600);
  now += 60;
  assert.equal(await value(metrics, 'authwatch_outbox_oldest_pending_age_seconds', { channel: 'slack' }), 660);
  metrics.setOutboxPending('slack', 0, null);
  assert.equal(await value(metrics, 'authwatch_outbox_oldest_pending_age_seconds', { channel: 'slack' }), 0);
  metrics.setOutboxPending('alertmanager', 3, '2026-03-01T09:00:00.000Z');
  assert.deepEqual(await samples(metrics, 'authwatch_outbox_pending').then((all) => all.map((sample) => sample.labels.channel)), ['slack'], 'an unconfigured channel gets no series');
});

test('label values with quotes, backslashes and newlines are escaped', async () => {
  const metrics = fresh();
  metrics.setConnections([{ ...cloud, name: 'a"b\\c', labels: { team: 'x\ny' } }]);
  const info = await samples(metrics, 'authwatch_connection_info');
  assert.equal(info.length, 1);
  assert.match(await metrics.render(), /authwatch_connection_info\{connection="a\\"b\\\\c",.*team="x\\ny"\} 1/);
});

test('/metrics in pieces: together the same exposition, each piece whole lines and about the asked size', async () => {
  const metrics = fresh({ schedulePeriodSeconds: () => 60 });
  const connections = Array.from({ length: 300 }, (_, index) => ({ ...cloud, name: `integration-${index}` }));
  metrics.setConnections(connections);
  for (const connection of connections) metrics.recordProbe(connection.name, probe());
  const pieces: string[] = [];
  for await (const piece of metrics.renderChunks(4096)) pieces.push(piece);
  assert.equal(pieces.join(''), await metrics.render());
  assert.ok(pieces.length > 10, `${pieces.length} pieces`);
  for (const piece of pieces) assert.ok(piece.endsWith('\n'), 'a piece ends with a whole line');
  // The first piece is prom-client's registry (the process-wide families); the per-connection ones are cut after
  // the sample that crossed the size: at most one connection's lines of one family over it.
  for (const piece of pieces.slice(1)) assert.ok(piece.length < 4096 + 1024, `a piece of ${piece.length} characters`);
});
