// The HTTP endpoints (docs/http-api.md) on node:http: /metrics, /healthz, /readyz and the read-only JSON API.
// Responses never carry a stack trace; JSON passes through the same masking as the logs as a last defence.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { maskValue, type SecretRegistry } from '../log/mask.js';
import type { ReadModel, StatusReadModel } from './read-model.js';
import { answerStatusPage } from './ui/routes.js';
import { probeRequestRefusal, type ProbeNow } from './probe-now.js';

export interface MetricsSource {
  render(): Promise<string>;
  /** The exposition in pieces, written one by one (AuthwatchMetrics has it); without it, render() in one piece. */
  renderChunks?(): AsyncIterable<string>;
  readonly contentType: string;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics: MetricsSource;
  readModel: ReadModel;
  /** Config loaded and database migrated. */
  isReady(): boolean;
  /** Process and scheduler alive. */
  isAlive(): boolean;
  /** Why the daemon is ready but degraded (e.g. storage failing): /readyz answers 503 with it as JSON; null when healthy. */
  degraded?(): Record<string, unknown> | null;
  logger: Logger;
  /** The daemon's registered secrets, masked out of every JSON response. */
  secrets?: SecretRegistry;
  /** Serves the HTML status page (`/`, `/connections/NAME`, `/static/*`) when set. */
  statusPage?: StatusReadModel;
  /** POST /api/v1/connections/NAME/probe: one probe now, through the daemon's scheduler (absent: 404). */
  probeNow?: ProbeNow;
}

export interface HttpServerHandle {
  /** e.g. http://127.0.0.1:9477 */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to a grace period), then resolves. */
  close(): Promise<void>;
}

export const DEFAULT_PROBE_LIMIT = 20;
export const MAX_PROBE_LIMIT = 1000;
const CLOSE_GRACE_MS = 2000;

export type Route =
  | { kind: 'metrics' }
  | { kind: 'healthz' }
  | { kind: 'readyz' }
  | { kind: 'connections' }
  | { kind: 'probes'; name: string }
  | { kind: 'probe_now'; name: string }
  | { kind: 'not_found' };

const PROBES_PATH = /^\/api\/v1\/connections\/([^/]+)\/(probes|probe)$/;

/** Which endpoint a path is (the method is checked separately). */
export function routeOf(pathname: string): Route {
  switch (pathname) {
    case '/metrics':
      return { kind: 'metrics' };
    case '/healthz':
      return { kind: 'healthz' };
    case '/readyz':
      return { kind: 'readyz' };
    case '/api/v1/connections':
      return { kind: 'connections' };
  }
  const probes = PROBES_PATH.exec(pathname);
  if (probes) {
    try {
      return { kind: probes[2] === 'probe' ? 'probe_now' : 'probes', name: decodeURIComponent(probes[1]) };
    } catch {
      return { kind: 'not_found' };
    }
  }
  return { kind: 'not_found' };
}

export type LimitResult = { ok: true; limit: number } | { ok: false; message: string };

/** `?limit=N`: absent means the default, otherwise a whole number from 1 to MAX_PROBE_LIMIT. */
export function parseLimit(raw: string | null): LimitResult {
  if (raw === null) return { ok: true, limit: DEFAULT_PROBE_LIMIT };
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PROBE_LIMIT) {
    return { ok: false, message: `limit must be a whole number from 1 to ${MAX_PROBE_LIMIT}` };
  }
  return { ok: true, limit: Number(raw) };
}

interface Reply {
  status: number;
  contentType: string;
  body: string;
  /** Sent instead of body, piece by piece with chunked encoding (only asked for when the body is sent, not for HEAD). */
  pieces?: () => AsyncIterable<string>;
  headers?: Record<string, string>;
}

const TEXT = 'text/plain; charset=utf-8';

function text(status: number, body: string): Reply {
  return { status, contentType: TEXT, body: `${body}\n` };
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const json = (status: number, data: unknown): Reply => ({
    status,
    contentType: 'application/json; charset=utf-8',
    body: `${JSON.stringify(maskValue(data, options.secrets))}\n`,
  });

  async function answer(request: IncomingMessage): Promise<Reply> {
    const url = new URL(request.url ?? '/', 'http://authwatch.invalid');
    const route = routeOf(url.pathname);
    if (route.kind === 'probe_now' && !options.probeNow) return json(404, { error: `no such endpoint: ${url.pathname}` });
    if (route.kind === 'not_found') {
      const page = options.statusPage ? await answerStatusPage({ model: options.statusPage, now: new Date(), secrets: options.secrets }, request.method, url) : null;
      return page ?? json(404, { error: `no such endpoint: ${url.pathname}` });
    }
    if (route.kind === 'probe_now') {
      if (request.method !== 'POST') return { ...json(405, { error: `method ${request.method} not allowed; use POST` }), headers: { Allow: 'POST' } };
      const refusal = probeRequestRefusal(request);
      if (refusal) return json(403, { error: refusal });
      const result = await options.probeNow!(route.name);
      if (result === null) return json(404, { error: `no connection named "${route.name.slice(0, 100)}" is configured` });
      if (result === 'unavailable') return json(503, { error: 'authwatch is shutting down' });
      return json(result.result === 'recorded' ? 200 : result.result === 'queued' ? 202 : 409, result);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return { ...json(405, { error: `method ${request.method} not allowed; use GET` }), headers: { Allow: 'GET, HEAD' } };
    }
    switch (route.kind) {
      case 'metrics': {
        const { metrics } = options;
        if (metrics.renderChunks) return { status: 200, contentType: metrics.contentType, body: '', pieces: () => metrics.renderChunks!() };
        return { status: 200, contentType: metrics.contentType, body: await metrics.render() };
      }
      case 'healthz':
        return options.isAlive() ? text(200, 'ok') : text(503, 'not alive');
      case 'readyz': {
        if (!options.isReady()) return text(503, 'not ready');
        const degraded = options.degraded?.() ?? null;
        return degraded ? json(503, degraded) : text(200, 'ready');
      }
      case 'connections':
        return json(200, await options.readModel.listConnections());
      case 'probes': {
        const limit = parseLimit(url.searchParams.get('limit'));
        if (!limit.ok) return json(400, { error: limit.message });
        const probes = await options.readModel.recentProbes(route.name, limit.limit);
        if (probes === null) return json(404, { error: `no connection named "${route.name.slice(0, 100)}" is configured` });
        return json(200, probes);
      }
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await answer(request);
    } catch (error) {
      options.logger.error('HTTP request failed', { method: request.method, path: request.url, error });
      reply = json(500, { error: 'internal error; see the authwatch log' });
    }
    options.logger.debug('HTTP request', { method: request.method, path: request.url, status: reply.status });
    if (response.headersSent || response.destroyed) return;
    if (reply.pieces) return sendPieces(request, response, reply, reply.pieces);
    response.writeHead(reply.status, {
      'Content-Type': reply.contentType,
      'Content-Length': Buffer.byteLength(reply.body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...reply.headers,
    });
    response.end(request.method === 'HEAD' ? undefined : reply.body);
  }

  /**
   * A streamed reply: each piece is written when the socket has taken the previous one, so the event loop serves
   * other requests (and probes) in between. A failure half-way cannot become an error status any more: the
   * connection is cut, so the client sees a failed scrape rather than a short one.
   */
  async function sendPieces(request: IncomingMessage, response: ServerResponse, reply: Reply, pieces: () => AsyncIterable<string>): Promise<void> {
    const headers = { 'Content-Type': reply.contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...reply.headers };
    if (request.method === 'HEAD') {
      response.writeHead(reply.status, headers).end();
      return;
    }
    const iterator = pieces()[Symbol.asyncIterator]();
    let next: IteratorResult<string>;
    try {
      // The first piece before the status: a failure there is still an ordinary 500.
      next = await iterator.next();
    } catch (error) {
      options.logger.error('HTTP request failed', { method: request.method, path: request.url, error });
      const failed = json(500, { error: 'internal error; see the authwatch log' });
      response.writeHead(failed.status, { 'Content-Type': failed.contentType, 'Content-Length': Buffer.byteLength(failed.body) }).end(failed.body);
      return;
    }
    response.writeHead(reply.status, headers);
    try {
      while (!next.done) {
        if (response.destroyed) return void (await iterator.return?.());
        if (!response.write(next.value)) await drained(response);
        next = await iterator.next();
      }
      response.end();
    } catch (error) {
      options.logger.error('HTTP response failed half-way', { method: request.method, path: request.url, error });
      response.destroy();
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

/** Resolves when the response can take more, or is closed (a client that went away never drains). */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new Error(`cannot listen on ${host}:${port} (server.listen): ${reason}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
