// Opens the one fresh TCP (+TLS) connection a probe uses, timing dns/connect/tls itself and giving each
// phase its own timeout: the addresses tried in order, then (through a proxy) the CONNECT tunnel (proxy-tunnel.ts),
// then the TLS handshake (tls-handshake.ts) and its verification (tls-verify.ts). The socket is handed on only when
// verification passed, so credentials never reach an unverified server.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { ProbeError, ProxyObservation, TlsDetails } from './observation.js';
import { authority } from './proxy.js';
import { errorFrom, isProbeError, probeError, withTimeout } from './probe-error.js';
import { openTunnel, unansweredProxy, type TunnelProxy, type TunnelResult } from './proxy-tunnel.js';
import { clientCertRequested, handshake, type HandshakeTarget } from './tls-handshake.js';
import { readTlsDetails, type ChainExpiryCache } from './tls-verify.js';

export interface ConnectTarget {
  hostname: string;
  port: number;
  /** null for plain http (loopback only). */
  tls: HandshakeTarget | null;
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

const seconds = (from: number, to: number): number => (to - from) / 1000;

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

export async function openConnection(target: ConnectTarget): Promise<ConnectResult> {
  const timings: ConnectTimings = { dns: null, connect: null, tls: null };
  const proxy = target.proxy ?? null;
  let proxyFacts: ProxyObservation | null = proxy ? unansweredProxy(proxy) : null;
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
