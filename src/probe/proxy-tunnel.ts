// The CONNECT through an HTTP proxy: on an open TCP connection to the proxy, `CONNECT host:port` and its answer.
// A 2xx hands the tunnel on (TLS with Jira runs inside it); a refusal is read briefly for its page. Which proxy,
// if any, is decided in proxy.ts.
import http from 'node:http';
import type net from 'node:net';
import type { ProxyObservation } from './observation.js';
import { pickProxyHeaders } from './response.js';

/** A proxy to CONNECT through, with the Proxy-Authorization header (when any) already built. */
export interface TunnelProxy {
  hostname: string;
  port: number;
  url: string;
  source: string;
  authorization: string | null;
  userAgent: string;
}

export interface TunnelResult {
  /** The tunnel to Jira, or null when the proxy refused. */
  socket: net.Socket | null;
  facts: ProxyObservation;
}

/** How much of a proxy's refusal page is read (for its title and the classifier). */
const PROXY_BODY_LIMIT = 16 * 1024;
const REFUSAL_BODY_WAIT_MS = 1000;

/** What is known of a proxy before its CONNECT is answered. */
export function unansweredProxy(proxy: TunnelProxy): ProxyObservation {
  return {
    url: proxy.url, source: proxy.source, credentials: proxy.authorization !== null, tunnel: false, status: null, contentType: null, headers: {}, message: '', connect: null, tunnel_seconds: null,
  };
}

/**
 * Sends `CONNECT host:port` on an open connection to the proxy and reads its answer. Only the CONNECT's head goes
 * to the proxy (Host, User-Agent and, when configured, Proxy-Authorization); the Jira request is written later,
 * inside TLS inside the tunnel. A refusal's body is read up to PROXY_BODY_LIMIT for its title.
 */
export function openTunnel(
  socket: net.Socket,
  proxy: TunnelProxy,
  target: string,
  timeoutMs: number,
): { promise: Promise<TunnelResult>; abort: () => void } {
  const headers: Record<string, string> = { host: target, 'user-agent': proxy.userAgent, 'proxy-connection': 'keep-alive' };
  if (proxy.authorization !== null) headers['proxy-authorization'] = proxy.authorization;
  // No agent: with createConnection and no agent, the request goes out on exactly this socket.
  const request = http.request({ method: 'CONNECT', path: target, headers, createConnection: () => socket });
  const facts = unansweredProxy(proxy);
  const promise = new Promise<TunnelResult>((resolve, reject) => {
    request.once('error', reject);
    request.once('connect', (response: http.IncomingMessage, tunnel: net.Socket, head: Buffer) => {
      request.off('error', reject);
      facts.status = response.statusCode ?? 0;
      const contentType = response.headers['content-type'];
      facts.contentType = (Array.isArray(contentType) ? contentType[0] : contentType) ?? null;
      facts.headers = pickProxyHeaders(response.headers);
      if (facts.status >= 200 && facts.status < 300) {
        facts.tunnel = true;
        if (head.length > 0) tunnel.unshift(head);
        resolve({ socket: tunnel, facts });
        return;
      }
      // Node hands a CONNECT's answer over as an upgrade: the refusal's body is read from the socket here.
      const length = Number(response.headers['content-length'] ?? Number.NaN);
      const chunks: Buffer[] = [head];
      let received = head.length;
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        tunnel.destroy();
        facts.message = Buffer.concat(chunks).subarray(0, PROXY_BODY_LIMIT).toString('utf8');
        resolve({ socket: null, facts });
      };
      // The verdict is the status; a page without Content-Length on a kept-alive connection never ends, so its body
      // is read only briefly (well inside the phase's timeout).
      const timer = setTimeout(done, Math.min(REFUSAL_BODY_WAIT_MS, timeoutMs / 4));
      if ((Number.isFinite(length) && received >= length) || received >= PROXY_BODY_LIMIT) {
        done();
        return;
      }
      tunnel.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if ((Number.isFinite(length) && received >= length) || received >= PROXY_BODY_LIMIT) done();
      });
      tunnel.once('end', done);
      tunnel.once('close', done);
      tunnel.once('error', done);
    });
    request.end();
  });
  return { promise, abort: () => request.destroy() };
}
