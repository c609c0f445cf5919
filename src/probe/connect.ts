// Opens the one fresh TCP (+TLS) connection a probe uses, timing dns/connect/tls itself and giving each
// phase its own timeout. The TLS handshake runs with rejectUnauthorized off so the certificate can be read
// even when it fails verification; the socket is handed on only when verification passed, so credentials
// never reach an unverified server.
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { ProbeError, ProxyObservation, TlsDetails } from './observation.js';
import { earliestNotAfter, presentedChain, tlsDetails } from './tls.js';
import { authority } from './proxy.js';
import { pickProxyHeaders } from './response.js';

export interface ConnectTarget {
  hostname: string;
  port: number;
  /** null for plain http (loopback only). */
  tls: {
    secureContext: tls.SecureContext;
    /** Name to verify the certificate against and to send as SNI (unless it is an IP address). */
    serverName: string;
  } | null;
  /** Per phase: dns, connect and tls each get this long. */
  timeoutMs: number;
  /**
   * An HTTP proxy to CONNECT through: dns and connect are then the proxy's, the tunnel is part of connect, and TLS
   * runs inside the tunnel with the Jira server (hostname/port above), so the TLS facts are the server's.
   */
  proxy?: TunnelProxy | null;
  /** The connection's memory of its chain's earliest expiry (one per prober); without it the chain is read every time. */
  chainExpiry?: ChainExpiryCache | null;
}

/**
 * Reading the whole chain (getPeerCertificate(true)) costs ~10x the leaf, so its earliest notAfter is read again
 * only when the leaf changed since the previous probe of the connection, or CHAIN_REREAD_MS after the last read
 * (an intermediate replaced under an unchanged leaf is seen within that time).
 */
export interface ChainExpiryCache {
  fingerprint256: string | null;
  earliestNotAfter: string | null;
  readAtMs: number;
}

export const CHAIN_REREAD_MS = 60 * 60 * 1000;

export function newChainExpiryCache(): ChainExpiryCache {
  return { fingerprint256: null, earliestNotAfter: null, readAtMs: Number.NEGATIVE_INFINITY };
}

/** A proxy to CONNECT through, with the Proxy-Authorization header (when any) already built. */
export interface TunnelProxy {
  hostname: string;
  port: number;
  url: string;
  source: string;
  authorization: string | null;
  userAgent: string;
}

/** How much of a proxy's refusal page is read (for its title and the classifier). */
const PROXY_BODY_LIMIT = 16 * 1024;
const REFUSAL_BODY_WAIT_MS = 1000;
/**
 * TLS 1.3: the client's handshake completes before the server has checked the client certificate it asked for;
 * the verdict (an alert, or the session tickets that follow acceptance) comes one round trip later. The request
 * waits for it this long at most, so a rejected client never puts its credentials on the wire.
 */
const CLIENT_CERT_VERDICT_MS = 2000;

export interface ConnectTimings {
  dns: number | null;
  connect: number | null;
  tls: number | null;
}

export interface ConnectFacts {
  tls: TlsDetails | null;
  timings: ConnectTimings;
  /** Set when the probe went through a proxy. */
  proxy: ProxyObservation | null;
  /** Whether the server asked for a client certificate (a CertificateRequest arrived); null before TLS. */
  clientCertRequested: boolean | null;
}

export type ConnectResult =
  | ({ ok: true; socket: net.Socket } & ConnectFacts)
  | ({ ok: false; error: ProbeError } & ConnectFacts);

export function probeError(code: string, message: string, phase: string | null = null): ProbeError {
  return { code, phase, message };
}

export function errorFrom(error: unknown): ProbeError {
  const code = (error as { code?: unknown }).code;
  const message = (error instanceof Error ? error.message : String(error)).trim();
  return probeError(typeof code === 'string' && code ? code : 'ERR_UNKNOWN', message);
}

function timeoutError(phase: string, timeoutMs: number): ProbeError {
  return probeError('ETIMEDOUT', `no answer within ${timeoutMs} ms in phase ${phase}`, phase);
}

const seconds = (from: number, to: number): number => (to - from) / 1000;

/** Resolves, or rejects with the phase's ProbeError. The underlying work is abandoned, not awaited, on timeout. */
function withTimeout<T>(work: Promise<T>, timeoutMs: number, phase: string, onTimeout: () => void = () => undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(timeoutError(phase, timeoutMs));
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function resolveAddresses(hostname: string): Promise<{ address: string; family: number }[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) return [{ address: bare, family: net.isIP(bare) }];
  return lookup(bare, { all: true });
}

function connectTcp(address: { address: string; family: number }, port: number): { promise: Promise<net.Socket>; socket: net.Socket } {
  const socket = net.connect({ host: address.address, family: address.family, port });
  const promise = new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
  return { promise, socket };
}

function handshake(
  socket: net.Socket,
  target: NonNullable<ConnectTarget['tls']>,
  timeoutMs: number,
): { promise: Promise<tls.TLSSocket>; secure: tls.TLSSocket } {
  const secure = tls.connect({
    socket,
    host: target.serverName,
    servername: net.isIP(target.serverName) ? undefined : target.serverName,
    secureContext: target.secureContext,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    // The name is checked in readTlsDetails, with the same tls.checkServerIdentity, on the leaf alone.
    checkServerIdentity: nameCheckedLater,
  });
  // Node's handshake code reads getPeerCertificate(true) (the detailed chain walk, ~200 µs) only to pass it to
  // checkServerIdentity: this socket's own method answers that one call with nothing and is removed at
  // 'secureConnect', before anything else reads the certificate.
  secure.getPeerCertificate = peerCertificateNotRead;
  let ticket = false;
  secure.once('session', () => (ticket = true));
  const promise = new Promise<tls.TLSSocket>((resolve, reject) => {
    secure.once('secureConnect', () => {
      Reflect.deleteProperty(secure, 'getPeerCertificate');
      if (secure.getProtocol() !== 'TLSv1.3' || !clientCertRequested(secure) || ticket) {
        secure.off('error', reject);
        resolve(secure);
        return;
      }
      let settled = false;
      const accepted = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        secure.off('error', rejected);
        resolve(secure);
      };
      const rejected = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      // Within the tls phase's own timeout: a server that sends no tickets is accepted, not timed out.
      const timer = setTimeout(accepted, Math.min(CLIENT_CERT_VERDICT_MS, timeoutMs / 2));
      secure.off('error', reject);
      secure.once('error', rejected);
      // Some servers (Node's, for one) check the certificate after the handshake and just close: no alert to read.
      const closed = (): void =>
        rejected(probeError('ERR_CLIENT_CERT_NOT_ACCEPTED', 'the server closed the connection right after the TLS handshake in which it asked for a client certificate, before anything was sent'));
      secure.once('end', closed);
      secure.once('close', closed);
      // Not from inside the 'session' event: that runs in OpenSSL's ticket callback, and a write made there is lost.
      secure.once('session', () => setImmediate(accepted));
    });
    secure.once('error', reject);
  });
  return { promise, secure };
}

const nameCheckedLater = (): undefined => undefined;
const peerCertificateNotRead = (() => ({})) as unknown as tls.TLSSocket['getPeerCertificate'];

/** On the client, OpenSSL fills the shared signature algorithms only from a CertificateRequest. */
function clientCertRequested(socket: tls.TLSSocket): boolean {
  try {
    return socket.getSharedSigalgs().length > 0;
  } catch {
    return false;
  }
}

interface TunnelResult {
  socket: net.Socket | null;
  facts: ProxyObservation;
}

/**
 * Sends `CONNECT host:port` on an open connection to the proxy and reads its answer. Only the CONNECT's head goes
 * to the proxy (Host, User-Agent and, when configured, Proxy-Authorization); the Jira request is written later,
 * inside TLS inside the tunnel. A refusal's body is read up to PROXY_BODY_LIMIT for its title.
 */
function openTunnel(
  socket: net.Socket,
  proxy: NonNullable<ConnectTarget['proxy']>,
  target: string,
  timeoutMs: number,
): { promise: Promise<TunnelResult>; abort: () => void } {
  const headers: Record<string, string> = { host: target, 'user-agent': proxy.userAgent, 'proxy-connection': 'keep-alive' };
  if (proxy.authorization !== null) headers['proxy-authorization'] = proxy.authorization;
  // No agent: with createConnection and no agent, the request goes out on exactly this socket.
  const request = http.request({ method: 'CONNECT', path: target, headers, createConnection: () => socket });
  const facts: ProxyObservation = {
    url: proxy.url, source: proxy.source, credentials: proxy.authorization !== null, tunnel: false, status: null, contentType: null, headers: {}, message: '', connect: null, tunnel_seconds: null,
  };
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

/**
 * The TLS facts of a finished handshake. Node verified the chain (authorized); the name is verified here with
 * Node's own tls.checkServerIdentity against the leaf, exactly as Node would (IP names only against IP SANs,
 * one-label wildcards, the CN only without DNS SANs), so `authorized` means what it means in Node.
 */
export function readTlsDetails(socket: tls.TLSSocket, serverName: string, chainExpiry: ChainExpiryCache | null = null): TlsDetails {
  const cipher = socket.getCipher();
  const leaf = socket.getPeerCertificate(false);
  const authorizationErrorValue = socket.authorizationError as unknown;
  let authorized = socket.authorized;
  let authorizationError =
    authorizationErrorValue instanceof Error
      ? ((authorizationErrorValue as NodeJS.ErrnoException).code ?? authorizationErrorValue.message)
      : typeof authorizationErrorValue === 'string'
        ? authorizationErrorValue
        : null;
  if (authorized) {
    const mismatch = tls.checkServerIdentity(serverName, leaf ?? ({} as tls.PeerCertificate));
    if (mismatch) {
      authorized = false;
      authorizationError = (mismatch as NodeJS.ErrnoException).code ?? mismatch.message;
    }
  }
  return tlsDetails({
    protocol: socket.getProtocol(),
    cipher: cipher ? (cipher.standardName ?? cipher.name) : null,
    peer: leaf,
    chainEarliestNotAfter: leaf?.fingerprint256 ? chainEarliest(socket, leaf.fingerprint256, chainExpiry) : null,
    authorized,
    authorizationError,
  });
}

function chainEarliest(socket: tls.TLSSocket, fingerprint256: string, cache: ChainExpiryCache | null): string | null {
  const nowMs = performance.now();
  if (cache && cache.fingerprint256 === fingerprint256 && nowMs - cache.readAtMs < CHAIN_REREAD_MS) return cache.earliestNotAfter;
  const earliest = earliestNotAfter(presentedChain(socket.getPeerCertificate(true)));
  if (cache) Object.assign(cache, { fingerprint256, earliestNotAfter: earliest, readAtMs: nowMs });
  return earliest;
}

export async function openConnection(target: ConnectTarget): Promise<ConnectResult> {
  const timings: ConnectTimings = { dns: null, connect: null, tls: null };
  const proxy = target.proxy ?? null;
  let proxyFacts: ProxyObservation | null = proxy
    ? { url: proxy.url, source: proxy.source, credentials: proxy.authorization !== null, tunnel: false, status: null, contentType: null, headers: {}, message: '', connect: null, tunnel_seconds: null }
    : null;
  let requested: boolean | null = null;
  const facts = (details: TlsDetails | null): ConnectFacts => ({ tls: details, timings, proxy: proxyFacts, clientCertRequested: requested });
  const fail = (error: unknown, details: TlsDetails | null = null): ConnectResult => ({
    ok: false,
    error: isProbeError(error) ? error : errorFrom(error),
    ...facts(details),
  });
  // Through a proxy, dns and connect are the proxy's: Jira's name is resolved by the proxy.
  const dialHost = proxy?.hostname ?? target.hostname;
  const dialPort = proxy?.port ?? target.port;

  let started = performance.now();
  let addresses: { address: string; family: number }[];
  try {
    addresses = await withTimeout(resolveAddresses(dialHost), target.timeoutMs, 'lookup');
  } catch (error) {
    timings.dns = seconds(started, performance.now());
    return fail(error);
  }
  timings.dns = seconds(started, performance.now());

  // Every resolved address is tried in order within the one connect budget (localhost may resolve to ::1 first).
  started = performance.now();
  const deadline = started + target.timeoutMs;
  let socket: net.Socket | null = null;
  let lastError: unknown = null;
  for (const address of addresses) {
    const remaining = Math.max(1, deadline - performance.now());
    const attempt = connectTcp(address, dialPort);
    try {
      socket = await withTimeout(attempt.promise, remaining, 'connect', () => attempt.socket.destroy());
      break;
    } catch (error) {
      attempt.socket.destroy();
      lastError = error;
      if (isProbeError(error)) break;
    }
  }
  timings.connect = seconds(started, performance.now());
  if (!socket) return fail(lastError ?? probeError('ENOTFOUND', `${dialHost} has no address`));
  // The HTTP layer adds its own error listener when it takes the socket; until then an error must not crash the process.
  socket.on('error', () => undefined);

  if (proxy && proxyFacts) {
    proxyFacts.connect = timings.connect;
    const tunnelStarted = performance.now();
    const attempt = openTunnel(socket, proxy, authority(target.hostname, target.port), target.timeoutMs);
    let tunnel: TunnelResult;
    try {
      tunnel = await withTimeout(attempt.promise, target.timeoutMs, 'tunnel', attempt.abort);
    } catch (error) {
      socket.destroy();
      proxyFacts.tunnel_seconds = seconds(tunnelStarted, performance.now());
      // The phase `connect` ends when the tunnel to Jira is open: TCP to the proxy plus its CONNECT.
      timings.connect += proxyFacts.tunnel_seconds;
      return fail(error);
    }
    proxyFacts = { ...tunnel.facts, connect: proxyFacts.connect, tunnel_seconds: seconds(tunnelStarted, performance.now()) };
    timings.connect += proxyFacts.tunnel_seconds!;
    if (!tunnel.socket) {
      socket.destroy();
      return fail(probeError('ERR_PROXY_CONNECT', `the proxy answered CONNECT with ${proxyFacts.status}; nothing was sent to Jira`));
    }
    socket = tunnel.socket;
    socket.on('error', () => undefined);
  }
  if (!target.tls) return { ok: true, socket, ...facts(null) };

  started = performance.now();
  const attempt = handshake(socket, target.tls, target.timeoutMs);
  let secure: tls.TLSSocket;
  try {
    secure = await withTimeout(attempt.promise, target.timeoutMs, 'secureConnect', () => attempt.secure.destroy());
  } catch (error) {
    requested = clientCertRequested(attempt.secure);
    attempt.secure.destroy();
    timings.tls = seconds(started, performance.now());
    return fail(error);
  }
  requested = clientCertRequested(secure);
  timings.tls = seconds(started, performance.now());
  const details = readTlsDetails(secure, target.tls.serverName, target.chainExpiry ?? null);
  if (!details.authorized) {
    secure.destroy();
    const code = details.authorizationError ?? 'CERT_UNTRUSTED';
    return fail(probeError(code, `certificate verification failed (${code}); nothing was sent`), details);
  }
  secure.on('error', () => undefined);
  return { ok: true, socket: secure, ...facts(details) };
}

function isProbeError(value: unknown): value is ProbeError {
  return typeof value === 'object' && value !== null && 'code' in value && 'phase' in value && 'message' in value && !(value instanceof Error);
}
