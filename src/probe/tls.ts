// Small pure getters that turn what Node's TLS socket reports into the probe's TlsDetails.
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import type { TlsDetails } from './observation.js';

/** What a TLS socket tells after the handshake; read in one place (tls-verify.ts), interpreted here. */
export interface TlsFacts {
  protocol: string | null;
  /** Cipher name as reported by getCipher(): the IANA name when Node knows it. */
  cipher: string | null;
  /** The leaf, getPeerCertificate(false); null or empty when the server presented none. */
  peer: PeerCertificate | null;
  /** The earliest notAfter of the leaf and the chain (see earliestNotAfter); null when unknown. */
  chainEarliestNotAfter: string | null;
  authorized: boolean;
  authorizationError: string | null;
}

export function tlsDetails(facts: TlsFacts): TlsDetails {
  const leaf = facts.peer && Object.keys(facts.peer).length > 0 ? facts.peer : null;
  return {
    protocol: facts.protocol,
    cipher: facts.cipher,
    subject: leaf ? distinguishedName(leaf.subject) : null,
    issuer: leaf ? distinguishedName(leaf.issuer) : null,
    sans: leaf ? subjectAltNames(leaf.subjectaltname) : [],
    serial: leaf?.serialNumber ? leaf.serialNumber.toUpperCase() : null,
    fingerprint256: leaf?.fingerprint256 ?? null,
    notBefore: certificateDate(leaf?.valid_from),
    notAfter: certificateDate(leaf?.valid_to),
    chainEarliestNotAfter: leaf ? facts.chainEarliestNotAfter : null,
    authorized: facts.authorized,
    authorizationError: facts.authorized ? null : facts.authorizationError,
  };
}

/** 'O=authwatch, CN=localhost' from Node's { O: 'authwatch', CN: 'localhost' } (multi-valued fields repeat). */
export function distinguishedName(name: Record<string, string | string[] | undefined> | null | undefined): string | null {
  if (!name) return null;
  const parts = Object.entries(name).flatMap(([field, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((item) => `${field}=${item}`),
  );
  return parts.length > 0 ? parts.join(', ') : null;
}

/** 'DNS:localhost, IP Address:127.0.0.1' → ['DNS:localhost', 'IP:127.0.0.1']; quoted values may hold commas. */
export function subjectAltNames(text: string | null | undefined): string[] {
  if (!text) return [];
  const entries: string[] = [];
  const pattern = /([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const match of text.matchAll(pattern)) {
    const kind = match[1] === 'IP Address' ? 'IP' : match[1];
    const value = match[2].startsWith('"') ? (JSON.parse(match[2]) as string) : match[2];
    entries.push(`${kind}:${value}`);
  }
  return entries;
}

/** 'Feb  1 00:00:00 2020 GMT' (OpenSSL's form) → '2020-02-01T00:00:00.000Z'; null when absent or unparsable. */
export function certificateDate(text: string | null | undefined): string | null {
  if (!text) return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

/** The leaf and the issuers the server presented, in order; Node marks the end of the chain by a self-reference. */
export function presentedChain(leaf: DetailedPeerCertificate): PeerCertificate[] {
  const chain: PeerCertificate[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = leaf;
  while (current && Object.keys(current).length > 0) {
    const id = current.fingerprint256 ?? String(chain.length);
    if (seen.has(id)) break;
    seen.add(id);
    chain.push(current);
    current = current.issuerCertificate;
  }
  return chain;
}

export function earliestNotAfter(chain: PeerCertificate[]): string | null {
  const dates = chain.map((certificate) => certificateDate(certificate.valid_to)).filter((date): date is string => date !== null);
  return dates.length > 0 ? dates.reduce((earliest, date) => (date < earliest ? date : earliest)) : null;
}

const PROTOCOL_RANK: Record<string, number> = { SSLv3: 0, TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };

/** Older protocols rank lower; an unknown name ranks lowest. */
export function protocolRank(protocol: string | null): number {
  return PROTOCOL_RANK[protocol ?? ''] ?? -1;
}

/** True when `after` is an older protocol than `before` (TLSv1.3 → TLSv1.2). */
export function isProtocolDowngrade(before: string | null, after: string | null): boolean {
  return protocolRank(after) < protocolRank(before);
}
