// Event detection (src/state/events.ts) and the notification each event plans (src/notify/plan.ts), at fixed instants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectEvents, type EventInput, type ExpiryKind } from '../../src/state/events.js';
import { planEventNotification } from '../../src/notify/plan.js';
import { CHANNELS } from '../../src/notify/registry.js';
import type { Outcome } from '../../src/diagnosis/outcome-names.js';
import type { Identity, ProbeObservation, TlsDetails } from '../../src/probe/observation.js';

const NOW = new Date('2025-03-04T10:00:00.000Z');
const DAY_MS = 86_400_000;

function tls(patch: Partial<TlsDetails> = {}): TlsDetails {
  return {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_128_GCM_SHA256',
    subject: 'CN=acme.atlassian.net',
    issuer: 'CN=CA',
    sans: ['DNS:acme.atlassian.net'],
    serial: '01',
    fingerprint256: 'AA:BB',
    notBefore: '2025-01-01T00:00:00.000Z',
    notAfter: '2025-12-01T00:00:00.000Z',
    chainEarliestNotAfter: '2025-12-01T00:00:00.000Z',
    authorized: true,
    authorizationError: null,
    ...patch,
  };
}

function identity(accountId: string): Identity {
  return { accountId, name: null, key: null, emailAddress: null, displayName: null, active: true };
}

function observation(patch: { tls?: Partial<TlsDetails> | null; identity?: Identity | null } = {}): ProbeObservation {
  return {
    connection: 'sf',
    startedAt: NOW.toISOString(),
    url: 'https://acme.atlassian.net/rest/api/3/myself',
    credential: { status: 'ok', problem: null, fingerprint: 'f00d', findings: [] },
    oauth: null,
    error: null,
    http: null,
    identity: patch.identity === undefined ? identity('acc-1') : patch.identity,
    tls: patch.tls === null ? null : tls(patch.tls),
    timings: { dns: 0, connect: 0, tls: 0, request: 0, first_byte: 0, download: 0, total: 0 },
  };
}

function input(patch: Partial<EventInput> & { outcome?: Outcome } = {}): EventInput {
  return {
    observation: observation(),
    outcome: 'ok',
    lastOk: observation(),
    tokenExpiresAt: null,
    openExpiry: new Set<ExpiryKind>(),
    now: NOW,
    certExpiryWarningMs: 14 * DAY_MS,
    tokenExpiryWarningMs: 14 * DAY_MS,
    ...patch,
  };
}

const kinds = (patch: Parameters<typeof input>[0]) => detectEvents(input(patch)).map((event) => `${event.kind}${event.notify ? '!' : ''}`);

test('tls_changed: any difference from the last success is recorded; only a protocol downgrade notifies', () => {
  assert.deepEqual(kinds({}), [], 'the same handshake: nothing');
  assert.deepEqual(kinds({ observation: observation({ tls: { protocol: 'TLSv1.2' } }) }), ['tls_changed!']);
  assert.deepEqual(kinds({ observation: observation({ tls: { cipher: 'OTHER', fingerprint256: 'CC:DD' } }) }), ['tls_changed'], 'a new cipher or certificate is recorded, not notified');
  assert.deepEqual(kinds({ lastOk: observation({ tls: { protocol: 'TLSv1.2' } }) }), ['tls_changed'], 'an upgrade is good news');
  assert.deepEqual(kinds({ observation: observation({ tls: null }) }), [], 'no handshake, nothing to compare');
  assert.deepEqual(kinds({ observation: observation({ tls: { protocol: 'TLSv1.2' } }), outcome: 'basic_auth_rejected' }), [], 'compared on ok probes only');
  const [event] = detectEvents(input({ observation: observation({ tls: { protocol: 'TLSv1.1' } }) }));
  assert.deepEqual(event.details, { protocol: { before: 'TLSv1.3', after: 'TLSv1.1' }, downgrade: true });
});

test('identity_changed: an ok probe as someone else than the last success', () => {
  assert.deepEqual(kinds({ observation: observation({ identity: identity('acc-2') }) }), ['identity_changed!']);
  assert.deepEqual(kinds({ observation: observation({ identity: identity('acc-2') }), outcome: 'identity_mismatch' }), [], 'a mismatch is an auth failure with its own incident, not an event at every probe');
  assert.deepEqual(kinds({ lastOk: null }), [], 'no last success to compare with');
  assert.deepEqual(kinds({ observation: observation({ identity: null }), outcome: 'anonymous' }), []);
});

test('cert_expiring: once when the certificate enters the warning window, resolved when it is renewed', () => {
  const certificate = (notAfter: string, open = false, warning = 14 * DAY_MS) =>
    detectEvents(input({ observation: observation({ tls: { notAfter } }), openExpiry: new Set<ExpiryKind>(open ? ['cert_expiring'] : []), certExpiryWarningMs: warning }))
      .filter((event) => event.kind === 'cert_expiring')
      .map((event) => ({ incident: event.incident, notify: event.notify, daysLeft: event.details.daysLeft }));
  assert.deepEqual(certificate('2025-03-10T06:00:00.000Z'), [{ incident: 'open', notify: true, daysLeft: 5 }], '5 days 20 hours: whole days, rounded down');
  assert.deepEqual(certificate('2025-03-10T06:00:00.000Z', true), [], 'already warned for this occurrence');
  assert.deepEqual(certificate('2025-06-01T00:00:00.000Z', true), [{ incident: 'resolve', notify: false, daysLeft: undefined }], 'renewed');
  assert.deepEqual(certificate('2025-03-30T00:00:00.000Z'), [], 'outside the window');
  assert.deepEqual(certificate('2025-03-01T00:00:00.000Z'), [], 'already expired: that is tls_cert_invalid');
  assert.deepEqual(certificate('2025-03-01T00:00:00.000Z', true), [], 'expired while warned: stays open until renewed');
  assert.deepEqual(certificate('2025-03-10T06:00:00.000Z', false, 0), [], 'a warning of 0 turns it off');
});

test('token_expiring: auth.expiresAt (a date, midnight UTC) inside the warning window, once', () => {
  const token = (tokenExpiresAt: string | null, open = false) =>
    detectEvents(input({ tokenExpiresAt, openExpiry: new Set<ExpiryKind>(open ? ['token_expiring'] : []) }))
      .filter((event) => event.kind === 'token_expiring')
      .map((event) => [event.incident, event.details.daysLeft ?? null]);
  assert.deepEqual(token('2025-03-05'), [['open', 0]]);
  assert.deepEqual(token('2025-03-05', true), []);
  assert.deepEqual(token('2026-03-05', true), [['resolve', null]], 'a new token with a later expiry');
  assert.deepEqual(token(null, true), [['resolve', null]], 'expiresAt removed from the config');
  assert.deepEqual(token('2025-09-01'), []);
});

test('each event plans one notification, keyed on its occurrence', () => {
  const facts = { lastSuccessAt: '2025-03-04T09:55:00.000Z', changes: null };
  const key = (kind: string, details: Record<string, unknown>) => planEventNotification('sf', { kind, details }, facts)?.dedupeKey;
  assert.equal(key('cert_expiring', { notAfter: '2025-03-10T06:00:00.000Z', daysLeft: 5 }), 'sf|cert_expiring|2025-03-10T06:00:00.000Z');
  assert.equal(key('token_expiring', { expiresAt: '2025-03-05', daysLeft: 0 }), 'sf|token_expiring|2025-03-05');
  assert.equal(key('identity_changed', { before: 'acc-1', after: 'acc-2' }), 'sf|identity_changed|acc-1>acc-2');
  assert.equal(key('tls_changed', { protocol: { before: 'TLSv1.3', after: 'TLSv1.2' }, downgrade: true }), 'sf|tls_changed|TLSv1.3>TLSv1.2', 'once per protocol pair');
  const plan = planEventNotification('sf', { kind: 'cert_expiring', details: { notAfter: '2025-03-10T06:00:00.000Z', daysLeft: 5 } }, facts);
  assert.deepEqual(plan?.certificate, { notAfter: '2025-03-10T06:00:00.000Z', daysLeft: 5 });
  assert.deepEqual(plan?.channels, CHANNELS, 'every channel');
  assert.equal(planEventNotification('sf', { kind: 'state_changed', details: {} }, facts), null);
});
