// The JSON API over a real SQLite store: what `curl /api/v1/...` shows after real probe cycles were recorded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateChangedEvent } from '../../src/state/events.js';
import { openStore, type Store } from '../../src/store/store.js';
import { advance } from '../../src/state/machine.js';
import { outcomeClass, type Outcome } from '../../src/diagnosis/outcome-names.js';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';
import type { Connection } from '../../src/config/load.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import { startHttpServer } from '../../src/server/http.js';
import { readModelOverStore } from '../../src/server/store-read-model.js';
import type { ConnectionView, ProbeView } from '../../src/server/read-model.js';
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';
import { silentLogger } from '../../src/log/logger.js';
import { testConnection } from '../support/connections.js';

const root = mkdtempSync(join(tmpdir(), 'authwatch-server-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function connection(name: string, deployment: 'cloud' | 'datacenter'): Connection {
  if (deployment === 'cloud') return testConnection(name);
  const url = `https://jira-${name}.acme.internal`;
  return testConnection(name, { deployment, url, probeUrl: `${url}/rest/api/3/myself` });
}

function observation(name: string, startedAt: string, outcome: Outcome): ProbeObservation {
  const ok = outcome === 'ok';
  return {
    connection: name,
    startedAt,
    url: `https://${name}.atlassian.net/rest/api/3/myself`,
    credential: { status: 'ok', problem: null, fingerprint: ok ? '0123456789abcdef' : 'fedcba9876543210', findings: [] },
    oauth: null,
    error: null,
    http: {
      status: ok ? 200 : 401,
      contentType: ok ? 'application/json' : 'text/plain',
      headers: ok ? { 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5' } : { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
      message: ok ? '{"accountId":"5b10ac8d82e05b22cc7d4ef5"}' : 'Basic authentication with passwords is deprecated',
      json: null,
      bodyBytes: 50,
      bodyTruncated: false,
    },
    identity: null,
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      subject: 'CN=*.atlassian.net',
      issuer: 'CN=Test CA',
      sans: ['DNS:*.atlassian.net'],
      serial: '0A',
      fingerprint256: 'AB:CD',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2026-06-01T00:00:00.000Z',
      chainEarliestNotAfter: '2026-05-01T00:00:00.000Z',
      authorized: true,
      authorizationError: null,
    },
    timings: { dns: 0.001, connect: 0.01, tls: 0.02, request: 0.0001, first_byte: 0.1, download: 0.001, total: 0.14 },
  };
}

function recordProbe(store: Store, name: string, startedAt: string, outcome: Outcome): void {
  const { next, change } = advance(store.loadState(name), { outcome, at: startedAt }, { failureThreshold: 2, recoveryThreshold: 1, lockoutBackoff: false });
  store.recordCycle({
    observation: observation(name, startedAt, outcome),
    diagnosis: { outcome, class: outcomeClass(outcome), detail: outcome === 'ok' ? '200 as bot@acme.com' : '401 text/plain "Basic authentication with passwords is deprecated"' },
    next,
    events: change ? [stateChangedEvent(change)] : [],
  });
}

test('the API shows recorded states, outcomes with explanations, TLS and probes newest first; removed connections keep their probes', async () => {
  const store = openStore(join(root, 'authwatch.db'));
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new AuthwatchMetrics({ defaultMetrics: false }),
    readModel: readModelOverStore(store),
    isAlive: () => true,
    isReady: () => true,
    logger: silentLogger,
  });
  try {
    store.upsertConnections([connection('salesforce', 'cloud'), connection('legacy', 'datacenter')], at(0));
    recordProbe(store, 'salesforce', at(0), 'ok');
    recordProbe(store, 'salesforce', at(1), 'basic_auth_rejected');
    recordProbe(store, 'salesforce', at(2), 'basic_auth_rejected');

    const connections = (await (await fetch(`${server.url}/api/v1/connections`)).json()) as ConnectionView[];
    assert.deepEqual(
      connections.map((view) => view.name),
      ['legacy', 'salesforce'],
    );
    const [legacy, salesforce] = connections;
    assert.deepEqual(legacy, {
      name: 'legacy',
      url: 'https://jira-legacy.acme.internal',
      deployment: 'datacenter',
      authType: 'basic',
      state: 'unknown',
      since: null,
      lastOutcome: null,
      lastProbeAt: null,
      lastSuccessAt: null,
      consecutiveFailures: 0,
      tls: null,
    });
    const guide = describeOutcome('basic_auth_rejected', 'cloud');
    assert.deepEqual(salesforce, {
      name: 'salesforce',
      url: 'https://salesforce.atlassian.net',
      deployment: 'cloud',
      authType: 'basic',
      state: 'regressed',
      since: at(2),
      lastOutcome: {
        outcome: 'basic_auth_rejected',
        class: 'auth',
        detail: '401 text/plain "Basic authentication with passwords is deprecated"',
        title: guide.title,
        explanation: guide.explanation,
        remediation: guide.remediation,
      },
      lastProbeAt: at(2),
      lastSuccessAt: at(0),
      consecutiveFailures: 2,
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', notAfter: '2026-06-01T00:00:00.000Z', authorized: true },
    });

    const probes = (await (await fetch(`${server.url}/api/v1/connections/salesforce/probes?limit=2`)).json()) as ProbeView[];
    assert.deepEqual(
      probes.map((probe) => [probe.at, probe.outcome, probe.httpStatus, probe.credentialFingerprint]),
      [
        [at(2), 'basic_auth_rejected', 401, 'fedcba9876543210'],
        [at(1), 'basic_auth_rejected', 401, 'fedcba9876543210'],
      ],
    );
    assert.deepEqual(probes[0].headers, { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' });
    assert.equal(probes[0].message, 'Basic authentication with passwords is deprecated');
    assert.deepEqual(await (await fetch(`${server.url}/api/v1/connections/legacy/probes`)).json(), []);
    assert.equal((await fetch(`${server.url}/api/v1/connections/nobody/probes`)).status, 404);

    store.upsertConnections([connection('legacy', 'datacenter')], at(3));
    const afterRemoval = (await (await fetch(`${server.url}/api/v1/connections`)).json()) as ConnectionView[];
    assert.deepEqual(
      afterRemoval.map((view) => view.name),
      ['legacy'],
    );
    const history = await fetch(`${server.url}/api/v1/connections/salesforce/probes`);
    assert.equal(history.status, 200);
    assert.equal(((await history.json()) as ProbeView[]).length, 3);
  } finally {
    await server.close();
    store.close();
  }
});
