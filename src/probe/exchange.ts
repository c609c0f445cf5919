// The HTTP half of a probe: one GET with node:http(s) over a connection that is already open (and verified), no
// retries, no redirects, per-phase timeouts, and the body read only up to a limit.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { ProbeError } from './observation.js';
import { errorFrom, probeError } from './probe-error.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ExchangeRequest {
  /** Parsed once per connection by the prober. */
  url: URL;
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

/** The same message as a got TimeoutError's, naming the phase. */
function timeoutError(phase: 'send' | 'response' | 'read', timeoutMs: number): ProbeError {
  return probeError('ETIMEDOUT', `Timeout awaiting '${phase}' for ${timeoutMs}ms`, phase);
}

/**
 * One GET with node:http(s) on the socket it is given: without an Agent, the client writes the request on exactly
 * the socket createConnection returns. No redirects or retries (node:http has neither), no decompression (no
 * Accept-Encoding is sent). send, response (first byte) and read (the whole body) each get timeoutMs.
 */
export function exchange(request: ExchangeRequest): Promise<ExchangeResult> {
  const limit = request.maxBodyBytes ?? MAX_BODY_BYTES;
  const t = request.timeoutMs;
  const url = request.url;
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': request.userAgent };
  if (request.authorization !== null) headers.authorization = request.authorization;
  const startedAt = performance.now();
  let sentAt: number | null = null;
  let firstByteAt: number | null = null;
  const socket = request.socket;

  return new Promise<ExchangeResult>((resolve) => {
    let response: ExchangeResponse | null = null;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    let outgoing: http.ClientRequest | null = null;

    const finish = (error: ProbeError | null): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      const endedAt = performance.now();
      if (response) response.body = Buffer.concat(chunks).subarray(0, limit);
      outgoing?.destroy();
      socket.destroy();
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
    const phase = (name: 'send' | 'response' | 'read'): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(timeoutError(name, t)), t);
    };

    const client = url.protocol === 'https:' ? https : http;
    try {
      outgoing = client.request({
        method: 'GET',
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers,
        createConnection: () => socket,
      } as https.RequestOptions);
    } catch (error) {
      // A header node:http refuses (a secret with a line break): nothing was written.
      finish(errorFrom(error));
      return;
    }
    phase('send');
    outgoing.once('finish', () => {
      sentAt = performance.now();
      if (!settled && firstByteAt === null) phase('response');
    });
    outgoing.once('error', (error: unknown) => finish(errorFrom(error)));
    outgoing.once('response', (incoming: http.IncomingMessage) => {
      firstByteAt = performance.now();
      if (sentAt === null) sentAt = firstByteAt;
      response = { status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.alloc(0), truncated: false };
      phase('read');
      incoming.on('data', (chunk: Buffer) => {
        if (settled) return;
        chunks.push(chunk);
        received += chunk.length;
        if (received > limit && response) {
          // Stop reading: the rest of a huge body is never buffered.
          response.truncated = true;
          finish(null);
        }
      });
      incoming.once('end', () => finish(null));
      incoming.once('error', (error: unknown) => finish(errorFrom(error)));
      // Closed before the end of the body without an error event.
      incoming.once('close', () => finish(probeError('ECONNRESET', 'aborted')));
    });
    outgoing.end();
  });
}
