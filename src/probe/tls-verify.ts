// What a finished TLS handshake showed, read once: whether the server is the one named (Node verified the chain;
// the name is checked here on the leaf), the TLS details recorded with the probe, and the chain's earliest expiry
// (read again only when the leaf changed or an hour passed). The pure interpretation is in tls.ts.
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { TlsDetails } from './observation.js';
import { earliestNotAfter, leafFromX509, chainValidTo, tlsDetails } from './tls.js';

/**
 * Reading the whole chain with the trusted root (getPeerCertificate(true)) costs ~10x the leaf, so its earliest
 * notAfter is read again only CHAIN_REREAD_MS after the last read, or at the probe after the leaf changed (an
 * intermediate replaced under an unchanged leaf is seen within that time).
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
 *
 * The leaf is read as an X509Certificate (its fields are decoded only when asked for; the legacy object decodes the
 * public key every time). On the client side Node hands that leaf out by taking it off the socket's peer chain, so
 * it is read exactly once, last: when the chain with its trusted root is due, getPeerCertificate(true) runs first.
 */
export function readTlsDetails(socket: tls.TLSSocket, serverName: string, chainExpiry: ChainExpiryCache | null = null): TlsDetails {
  const cipher = socket.getCipher();
  const nowMs = performance.now();
  const chainDue = !chainExpiry || nowMs - chainExpiry.readAtMs >= CHAIN_REREAD_MS;
  const fullChainEarliest = chainDue ? earliestNotAfter(chainValidTo(socket.getPeerCertificate(true))) : null;
  const x509 = socket.getPeerX509Certificate();
  const leaf = x509 ? leafFromX509(x509) : null;

  const authorizationErrorValue = socket.authorizationError as unknown;
  let authorized = socket.authorized;
  let authorizationError =
    authorizationErrorValue instanceof Error
      ? ((authorizationErrorValue as NodeJS.ErrnoException).code ?? authorizationErrorValue.message)
      : typeof authorizationErrorValue === 'string'
        ? authorizationErrorValue
        : null;
  if (authorized) {
    // The two fields checkServerIdentity reads, in the shape of getPeerCertificate()'s object.
    const cn = leaf?.commonNames ?? [];
    const named = { subject: cn.length === 0 ? {} : { CN: cn.length === 1 ? cn[0] : cn }, subjectaltname: leaf?.subjectAltName } as unknown as tls.PeerCertificate;
    const mismatch = tls.checkServerIdentity(serverName, named);
    if (mismatch) {
      authorized = false;
      authorizationError = (mismatch as NodeJS.ErrnoException).code ?? mismatch.message;
    }
  }

  let chainEarliestNotAfter: string | null = null;
  if (leaf && x509) {
    if (chainDue) {
      chainEarliestNotAfter = fullChainEarliest;
      if (chainExpiry) Object.assign(chainExpiry, { fingerprint256: leaf.fingerprint256, earliestNotAfter: chainEarliestNotAfter, readAtMs: nowMs });
    } else if (chainExpiry!.fingerprint256 === leaf.fingerprint256) {
      chainEarliestNotAfter = chainExpiry!.earliestNotAfter;
    } else {
      // A new leaf: this socket's chain can no longer be walked to the trusted root, so this probe reports the chain
      // the server presented, and the next probe reads the whole chain again.
      chainEarliestNotAfter = earliestNotAfter(presentedX509Chain(x509).map((certificate) => certificate.validTo));
      chainExpiry!.readAtMs = Number.NEGATIVE_INFINITY;
    }
  }
  return tlsDetails({
    protocol: socket.getProtocol(),
    cipher: cipher ? (cipher.standardName ?? cipher.name) : null,
    leaf,
    chainEarliestNotAfter,
    authorized,
    authorizationError,
  });
}

function presentedX509Chain(leaf: X509Certificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let current: X509Certificate | undefined = leaf; current && !seen.has(current.fingerprint256); current = current.issuerCertificate) {
    seen.add(current.fingerprint256);
    chain.push(current);
  }
  return chain;
}
