// What a finished TLS handshake showed, read once: whether the server is the one named (Node verified the chain;
// the name is checked here on the leaf), the TLS details recorded with the probe, and the chain's earliest expiry
// (read again only when the leaf changed or an hour passed). The pure interpretation is in tls.ts.
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { TlsDetails } from './observation.js';
import { earliestNotAfter, presentedChain, tlsDetails } from './tls.js';

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

/**
 * The TLS facts of a finished handshake. Node verified the chain (authorized); the name is verified here with
 * Node's own tls.checkServerIdentity against the leaf, exactly as Node would (IP names only against IP SANs,
 * one-label wildcards, the CN only without DNS SANs), so `authorized` means what it means in Node.
 */
export function readTlsDetails(socket: tls.TLSSocket, serverName: string, chainExpiry: ChainExpiryCache | null = null): TlsDetails {
  const cipher = socket.getCipher();
  // Not getPeerX509Certificate(), though it is cheaper: on the client side Node (22–26) hands the leaf out by taking
  // it off the socket's peer chain, so every later read — a second X509 read, getPeerCertificate(true) for the
  // chain's earliest expiry — sees nothing (or the intermediate as the leaf).
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
