// Opens the one fresh TCP (+TLS) connection a probe uses, timing dns/connect/tls itself and giving each
// phase its own timeout. The TLS handshake runs with rejectUnauthorized off so the certificate can be read
// even when it fails verification; the socket is handed on only when verification passed, so credentials
// never reach an unverified server.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { ProbeError, TlsDetails } from './observation.js';
import { tlsDetails } from './tls.js';

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
}

export interface ConnectTimings {
  dns: number | null;
  connect: number | null;
  tls: number | null;
}

export type ConnectResult =
  | { ok: true; socket: net.Socket; tls: TlsDetails | null; timings: ConnectTimings }
  | { ok: false; error: ProbeError; tls: TlsDetails | null; timings: ConnectTimings };

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

function handshake(socket: net.Socket, target: NonNullable<ConnectTarget['tls']>): { promise: Promise<tls.TLSSocket>; secure: tls.TLSSocket } {
  const secure = tls.connect({
    socket,
    host: target.serverName,
    servername: net.isIP(target.serverName) ? undefined : target.serverName,
    secureContext: target.secureContext,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
  const promise = new Promise<tls.TLSSocket>((resolve, reject) => {
    secure.once('secureConnect', () => {
      secure.off('error', reject);
      resolve(secure);
    });
    secure.once('error', reject);
  });
  return { promise, secure };
}

export function readTlsDetails(socket: tls.TLSSocket): TlsDetails {
  const cipher = socket.getCipher();
  const authorizationError = socket.authorizationError as unknown;
  return tlsDetails({
    protocol: socket.getProtocol(),
    cipher: cipher ? (cipher.standardName ?? cipher.name) : null,
    peer: socket.getPeerCertificate(true),
    authorized: socket.authorized,
    authorizationError:
      authorizationError instanceof Error
        ? ((authorizationError as NodeJS.ErrnoException).code ?? authorizationError.message)
        : typeof authorizationError === 'string'
          ? authorizationError
          : null,
  });
}

export async function openConnection(target: ConnectTarget): Promise<ConnectResult> {
  const timings: ConnectTimings = { dns: null, connect: null, tls: null };
  const fail = (error: unknown, details: TlsDetails | null = null): ConnectResult => ({
    ok: false,
    error: isProbeError(error) ? error : errorFrom(error),
    tls: details,
    timings,
  });

  let started = performance.now();
  let addresses: { address: string; family: number }[];
  try {
    addresses = await withTimeout(resolveAddresses(target.hostname), target.timeoutMs, 'lookup');
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
    const attempt = connectTcp(address, target.port);
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
  if (!socket) return fail(lastError ?? probeError('ENOTFOUND', `${target.hostname} has no address`));
  // The HTTP layer adds its own error listener when it takes the socket; until then an error must not crash the process.
  socket.on('error', () => undefined);
  if (!target.tls) return { ok: true, socket, tls: null, timings };

  started = performance.now();
  const attempt = handshake(socket, target.tls);
  let secure: tls.TLSSocket;
  try {
    secure = await withTimeout(attempt.promise, target.timeoutMs, 'secureConnect', () => attempt.secure.destroy());
  } catch (error) {
    attempt.secure.destroy();
    timings.tls = seconds(started, performance.now());
    return fail(error);
  }
  timings.tls = seconds(started, performance.now());
  const details = readTlsDetails(secure);
  if (!secure.authorized) {
    secure.destroy();
    const code = details.authorizationError ?? 'CERT_UNTRUSTED';
    return fail(probeError(code, `certificate verification failed (${code}); nothing was sent`), details);
  }
  secure.on('error', () => undefined);
  return { ok: true, socket: secure, tls: details, timings };
}

function isProbeError(value: unknown): value is ProbeError {
  return typeof value === 'object' && value !== null && 'code' in value && 'phase' in value && 'message' in value && !(value instanceof Error);
}
