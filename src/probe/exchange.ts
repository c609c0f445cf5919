// The HTTP half of a probe: one GET with got over a connection that is already open (and verified), no
// retries, no redirects, per-phase timeouts, and the body read only up to a limit.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import got, { type RequestFunction } from 'got';
import type { ProbeError } from './observation.js';
import { errorFrom, probeError } from './connect.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ExchangeRequest {
  url: string;
  /** An open socket (TLS already verified for https). It is used for this one request and then closed. */
  socket: Duplex;
  authorization: string | null;
  userAgent: string;
  /** Per phase: send, response (first byte) and read (whole body) each get this long. */
  timeoutMs: number;
  maxBodyBytes?: number;
}

export interface ExchangeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
}

export interface ExchangeResult {
  response: ExchangeResponse | null;
  error: ProbeError | null;
  /** Seconds, from the moment the socket was handed over. */
  timings: { request: number | null; first_byte: number | null; download: number | null };
}

/**
 * got's request function for one pre-opened socket: without an agent, Node's http client writes the request on
 * exactly the socket createConnection returns (no Agent, no pool, nothing built per probe but this closure).
 */
function onSocket(socket: Duplex): RequestFunction {
  const createConnection = (): Duplex => socket;
  return (url, options, callback) =>
    (url.protocol === 'https:' ? https : http).request(url, { ...options, agent: undefined, createConnection } as https.RequestOptions, callback);
}

/** got's TimeoutError names its phase in `event`; other errors have none. */
function exchangeError(error: unknown): ProbeError {
  const base = errorFrom(error);
  const event = (error as { event?: unknown }).event;
  return base.code === 'ETIMEDOUT' && typeof event === 'string' ? probeError(base.code, base.message, event) : base;
}

export function exchange(request: ExchangeRequest): Promise<ExchangeResult> {
  const limit = request.maxBodyBytes ?? MAX_BODY_BYTES;
  const t = request.timeoutMs;
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': request.userAgent };
  if (request.authorization !== null) headers.authorization = request.authorization;
  const startedAt = performance.now();
  let sentAt: number | null = null;
  let firstByteAt: number | null = null;

  const stream = got.stream(request.url, {
    method: 'GET',
    headers,
    request: onSocket(request.socket),
    http2: false,
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    decompress: false,
    timeout: { send: t, response: t, read: t },
  });

  return new Promise<ExchangeResult>((resolve) => {
    let response: ExchangeResponse | null = null;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (error: ProbeError | null): void => {
      if (settled) return;
      settled = true;
      const endedAt = performance.now();
      if (response) response.body = Buffer.concat(chunks).subarray(0, limit);
      stream.destroy();
      request.socket.destroy();
      resolve({
        response,
        error,
        timings: {
          request: sentAt === null ? null : (sentAt - startedAt) / 1000,
          first_byte: firstByteAt === null || sentAt === null ? null : (firstByteAt - sentAt) / 1000,
          download: firstByteAt === null ? null : (endedAt - firstByteAt) / 1000,
        },
      });
    };

    stream.once('request', (clientRequest: http.ClientRequest) => {
      clientRequest.once('finish', () => {
        sentAt = performance.now();
      });
    });
    stream.once('response', (incoming: http.IncomingMessage) => {
      firstByteAt = performance.now();
      response = { status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.alloc(0), truncated: false };
    });
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      received += chunk.length;
      if (received > limit && response) {
        // Stop reading: the rest of a huge body is never buffered.
        response.truncated = true;
        finish(null);
      }
    });
    stream.once('end', () => finish(null));
    stream.once('error', (error: unknown) => finish(exchangeError(error)));
  });
}
