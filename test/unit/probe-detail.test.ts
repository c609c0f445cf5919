import assert from 'node:assert/strict';
import test from 'node:test';
import type { ProbeObservation } from '../../src/probe/observation.js';
import { joinObservation, splitObservation } from '../../src/store/probe-detail.js';

function observation(overrides: Partial<ProbeObservation> = {}, headers: Record<string, string> = {}): ProbeObservation {
  return {
    connection: 'crm',
    startedAt: '2026-12-01T10:00:00.000Z',
    url: 'https://acme.atlassian.net/rest/api/3/myself',
    credential: { status: 'ok', problem: null, fingerprint: 'ab12', findings: [] },
    oauth: null,
    error: null,
    http: { status: 200, contentType: 'application/json', headers: { 'x-aaccountid': '5b10', ...headers }, message: '{"accountId":"5b10"}', json: { accountId: '5b10' }, bodyBytes: 20, bodyTruncated: false },
    identity: { accountId: '5b10', name: null, key: null, emailAddress: null, displayName: 'Bot', active: true },
    tls: {
      protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', subject: 'CN=acme.atlassian.net', issuer: 'CN=CA', sans: ['DNS:acme.atlassian.net'],
      serial: '01', fingerprint256: 'AA:BB', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z',
      chainEarliestNotAfter: '2027-01-01T00:00:00.000Z', authorized: true, authorizationError: null,
    },
    timings: { dns: 0.001, connect: 0.002, tls: 0.0123456, request: 0.0001, first_byte: 0.05, download: null, total: 0.0654321 },
    ...overrides,
  };
}

const volatile = { 'x-arequestid': '123x456x1', 'atl-traceid': 'f00dcafe', 'x-ratelimit-remaining': '99', 'x-ratelimit-limit': '100' };

test('two probes that saw the same answer share one detail text: start, timings and request ids are not part of it', () => {
  const first = splitObservation(observation({}, volatile), false);
  const second = splitObservation(
    observation({ startedAt: '2026-12-01T10:01:00.000Z', timings: { dns: null, connect: 0.2, tls: 0.3, request: 0, first_byte: 0.4, download: 0, total: 1 } }, { ...volatile, 'x-arequestid': '999x1x1', 'x-ratelimit-remaining': '98' }),
    false,
  );
  assert.equal(first.detail, second.detail);
  assert.notDeepEqual(first.timingsUs, second.timingsUs);
  assert.ok(first.detail.includes('x-ratelimit-limit'), 'the limit itself is the same on every answer and stays in the detail');
});

test('a successful probe reads back as observed, without per-request values and the parsed body; timings to the microsecond', () => {
  const seen = observation({}, volatile);
  const parts = splitObservation(seen, false);
  assert.equal(parts.volatile, null);
  const back = joinObservation('crm', seen.startedAt, parts.detail, parts.volatile, parts.timingsUs);
  assert.deepEqual(back, { ...seen, http: { ...seen.http!, json: null, headers: { 'x-aaccountid': '5b10', 'x-ratelimit-limit': '100' } }, timings: { ...seen.timings, tls: 0.012346, total: 0.065432 } });
});

test('a failing probe keeps its request ids and rate-limit counters, for the support ticket', () => {
  const seen = observation({ http: { status: 401, contentType: 'text/plain', headers: { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED', ...volatile }, message: 'no', json: null, bodyBytes: 2, bodyTruncated: false }, identity: null });
  const parts = splitObservation(seen, true);
  const back = joinObservation('crm', seen.startedAt, parts.detail, parts.volatile, parts.timingsUs);
  assert.deepEqual(back.http?.headers, seen.http!.headers);
  assert.ok(!parts.detail.includes('123x456x1'));
});

test('a proxy, its per-probe timings and a client certificate survive the round trip; a direct probe has neither', () => {
  const proxy = { url: 'http://127.0.0.1:3128', source: 'config', credentials: true, tunnel: true, status: 200, contentType: null, headers: { via: 'squid' }, message: '', connect: 0.003, tunnel_seconds: 0.004 };
  const clientCertificate = { configured: true, requested: true, subject: 'CN=bot', issuer: 'CN=CA', notAfter: '2027-01-01T00:00:00.000Z', fingerprint256: 'CC' };
  const seen = observation({ proxy, clientCertificate, timings: { dns: null, connect: null, tls: null, request: null, first_byte: null, download: null, total: null } });
  const parts = splitObservation(seen, false);
  assert.equal(parts.detail, splitObservation({ ...seen, proxy: { ...proxy, connect: 1, tunnel_seconds: 2 } }, false).detail);
  const back = joinObservation('crm', seen.startedAt, parts.detail, parts.volatile, parts.timingsUs);
  assert.deepEqual(back, { ...seen, http: { ...seen.http!, json: null } });
  const direct = splitObservation(observation(), false);
  assert.equal(joinObservation('crm', seen.startedAt, direct.detail, direct.volatile, direct.timingsUs).proxy, undefined);
});
