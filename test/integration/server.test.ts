import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { startHttpServer, type HttpServerHandle, type HttpServerOptions } from '../../src/server/http.js';
import type { ConnectionView, ProbeView, ReadModel } from '../../src/server/read-model.js';
import { AuthwatchMetrics } from '../../src/metrics/metrics.js';
import { createLogger, SecretRegistry } from '../../src/log/logger.js';

const SECRET = 'ATATT3xFfGF0-leaked-token-value';

/** An in-memory read model that behaves like the store-backed one: newest first, at most `limit`, null for unknown names. */
class MemoryReadModel implements ReadModel {
  constructor(
    readonly connections: ConnectionView[],
    readonly probes: Map<string, ProbeView[]>,
  ) {}
  listConnections(): ConnectionView[] {
    return this.connections;
  }
  async recentProbes(name: string, limit: number): Promise<ProbeView[] | null> {
    const probes = this.probes.get(name);
    if (!probes) return null;
    return [...probes].sort((a, b) => b.at.localeCompare(a.at)).slice(0, limit);
  }
}

function probeAt(minute: number, overrides: Partial<ProbeView> = {}): ProbeView {
  return {
    at: new Date(Date.UTC(2026, 2, 1, 10, minute)).toISOString(),
    outcome: 'ok',
    class: 'ok',
    detail: '200 application/json as 5b10ac8d82e05b22cc7d4ef5',
    httpStatus: 200,
    errorCode: null,
    message: '{"accountId":"5b10ac8d82e05b22cc7d4ef5"}',
    headers: { 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5' },
    timings: { dns: 0.003, connect: 0.01, tls: 0.03, request: 0.001, first_byte: 0.2, download: 0.001, total: 0.25 },
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', notAfter: '2026-12-01T00:00:00.000Z', authorized: true },
    credentialFingerprint: '3f2a9c1b7d4e6f08',
    ...overrides,
  };
}

const regressed: ConnectionView = {
  name: 'salesforce-to-jira',
  url: 'https://acme.atlassian.net',
  deployment: 'cloud',
  authType: 'basic',
  state: 'regressed',
  since: '2026-03-01T10:05:00.000Z',
  lastOutcome: {
    outcome: 'basic_auth_rejected',
    class: 'auth',
    detail: `401 text/plain "Basic authentication with passwords is deprecated" (sent Authorization: Basic ${Buffer.from(`bot@acme.com:${SECRET}`).toString('base64')})`,
    title: 'Basic auth rejected',
    explanation: 'Jira Cloud refused the email/API token pair.',
    remediation: ['Create a new API token.'],
  },
  lastProbeAt: '2026-03-01T10:05:00.000Z',
  lastSuccessAt: '2026-03-01T10:00:00.000Z',
  consecutiveFailures: 2,
  tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', notAfter: '2026-12-01T00:00:00.000Z', authorized: true },
};
const unknownYet: ConnectionView = {
  name: 'dc-legacy',
  url: 'https://jira.acme.internal',
  deployment: 'datacenter',
  authType: 'bearer',
  state: 'unknown',
  since: null,
  lastOutcome: null,
  lastProbeAt: null,
  lastSuccessAt: null,
  consecutiveFailures: 0,
  tls: null,
};

const probes = new Map<string, ProbeView[]>([
  ['salesforce-to-jira', Array.from({ length: 25 }, (_, minute) => probeAt(minute))],
  ['dc-legacy', []],
]);

let alive = true;
let ready = false;
let logOutput = '';
const logStream = new PassThrough();
logStream.on('data', (chunk: Buffer) => {
  logOutput += chunk.toString('utf8');
});
const secrets = new SecretRegistry();
secrets.register(SECRET);
const logger = createLogger({ level: 'debug', stream: logStream, secrets });
const metrics = new AuthwatchMetrics({ defaultMetrics: false });
metrics.setConnections([{ name: 'salesforce-to-jira', url: 'https://acme.atlassian.net', deployment: 'cloud', auth: { type: 'basic' }, labels: {}, tokenExpiresAt: null }]);

function serverOptions(overrides: Partial<HttpServerOptions> = {}): HttpServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    metrics,
    readModel: new MemoryReadModel([regressed, unknownYet], probes),
    isAlive: () => alive,
    isReady: () => ready,
    logger,
    secrets,
    ...overrides,
  };
}

const servers: HttpServerHandle[] = [];
async function start(overrides: Partial<HttpServerOptions> = {}): Promise<HttpServerHandle> {
  const server = await startHttpServer(serverOptions(overrides));
  servers.push(server);
  return server;
}
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function getJson(url: string): Promise<{ status: number; body: unknown; contentType: string | null }> {
  const response = await fetch(url);
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.json() };
}

test('GET /metrics serves the Prometheus text format', async () => {
  const server = await start();
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(await response.text(), /^authwatch_auth_state\{connection="salesforce-to-jira",state="unknown"\} 1$/m);
});

test('/metrics is streamed in pieces (chunked), HEAD gets the headers only, a failing first piece is a 500', async () => {
  const many = new AuthwatchMetrics({ defaultMetrics: false });
  many.setConnections(Array.from({ length: 2000 }, (_, index) => ({ name: `integration-${index}`, url: 'https://acme.atlassian.net', deployment: 'cloud' as const, auth: { type: 'basic' as const }, labels: {}, tokenExpiresAt: null })));
  const server = await start({ metrics: many });
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  assert.equal(response.headers.get('content-length'), null);
  assert.equal(await response.text(), await many.render());

  const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');

  const broken = { contentType: many.contentType, render: () => Promise.reject(new Error('collect failed')), renderChunks: () => (async function* () { yield* []; throw new Error('collect failed'); })() };
  const failing = await start({ metrics: broken });
  const refused = await fetch(`${failing.url}/metrics`);
  assert.equal(refused.status, 500);
  assert.deepEqual(await refused.json(), { error: 'internal error; see the authwatch log' });
});

test('/healthz follows liveness and /readyz follows readiness', async () => {
  const server = await start();
  ready = false;
  let response = await fetch(`${server.url}/readyz`);
  assert.equal(response.status, 503);
  assert.equal(await response.text(), 'not ready\n');
  ready = true;
  response = await fetch(`${server.url}/readyz`);
  assert.equal(response.status, 200);

  response = await fetch(`${server.url}/healthz`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'ok\n');
  alive = false;
  response = await fetch(`${server.url}/healthz`);
  assert.equal(response.status, 503);
  alive = true;
});

test('GET /api/v1/connections lists every connection with state, last outcome and TLS summary, secrets masked', async () => {
  const server = await start();
  const { status, body, contentType } = await getJson(`${server.url}/api/v1/connections`);
  assert.equal(status, 200);
  assert.equal(contentType, 'application/json; charset=utf-8');
  const [first, second] = body as ConnectionView[];
  assert.deepEqual(second, unknownYet);
  assert.deepEqual({ ...first, lastOutcome: null }, { ...regressed, lastOutcome: null });
  assert.equal(first.lastOutcome?.detail, '401 text/plain "Basic authentication with passwords is deprecated" (sent Authorization: Basic ***)');
  assert.equal(JSON.stringify(body).includes(SECRET), false);
});

test('GET /api/v1/connections/{name}/probes returns the newest first, 20 by default, up to limit', async () => {
  const server = await start();
  const base = `${server.url}/api/v1/connections/salesforce-to-jira/probes`;
  const byDefault = (await getJson(base)).body as ProbeView[];
  assert.equal(byDefault.length, 20);
  assert.equal(byDefault[0].at, '2026-03-01T10:24:00.000Z');
  assert.equal(byDefault[19].at, '2026-03-01T10:05:00.000Z');
  assert.deepEqual(
    ((await getJson(`${base}?limit=3`)).body as ProbeView[]).map((probe) => probe.at),
    ['2026-03-01T10:24:00.000Z', '2026-03-01T10:23:00.000Z', '2026-03-01T10:22:00.000Z'],
  );
  assert.equal(((await getJson(`${base}?limit=1000`)).body as ProbeView[]).length, 25);
  assert.deepEqual((await getJson(`${server.url}/api/v1/connections/dc-legacy/probes`)).body, []);
});

test('a bad limit is 400 and an unknown connection is 404, both as JSON', async () => {
  const server = await start();
  for (const limit of ['0', '1001', 'abc', '-1', '2.5', '']) {
    const { status, body } = await getJson(`${server.url}/api/v1/connections/salesforce-to-jira/probes?limit=${limit}`);
    assert.equal(status, 400, `limit=${limit}`);
    assert.deepEqual(body, { error: 'limit must be a whole number from 1 to 1000' });
  }
  const missing = await getJson(`${server.url}/api/v1/connections/no-such-thing/probes`);
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: 'no connection named "no-such-thing" is configured' });
});

test('unknown paths are 404 JSON and other methods are 405 with Allow', async () => {
  const server = await start();
  const notFound = await getJson(`${server.url}/api/v1/nothing`);
  assert.equal(notFound.status, 404);
  assert.deepEqual(notFound.body, { error: 'no such endpoint: /api/v1/nothing' });
  const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.deepEqual(await post.json(), { error: 'method POST not allowed; use GET' });
  const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('a failing read model is a 500 with no stack trace or secret in the response, and a masked log line', async () => {
  const failing: ReadModel = {
    listConnections: () => {
      throw new Error(`database error while reading ${SECRET}`);
    },
    recentProbes: async () => {
      throw new TypeError('boom');
    },
  };
  const server = await start({ readModel: failing });
  for (const path of ['/api/v1/connections', '/api/v1/connections/x/probes']) {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 500);
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), { error: 'internal error; see the authwatch log' });
    assert.doesNotMatch(text, /at |database error|boom/);
  }
  assert.match(logOutput, /"msg":"HTTP request failed"/);
  assert.match(logOutput, /database error while reading \*\*\*/);
  assert.equal(logOutput.includes(SECRET), false);
});

test('close() stops listening, also with a keep-alive client connected', async () => {
  const server = await startHttpServer(serverOptions());
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  await server.close();
  await assert.rejects(fetch(`${server.url}/healthz`));
});

test('a port already in use is a clear error', async () => {
  const server = await start();
  await assert.rejects(startHttpServer(serverOptions({ port: server.port })), /cannot listen on 127\.0\.0\.1:\d+ \(server\.listen\): the address is already in use/);
});
