// Small pure getters that turn what Node's TLS socket reports into the probe's TlsDetails.
import type { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import type { TlsDetails } from './observation.js';

/** The leaf's fields a probe records, as X509Certificate reports them. */
export interface LeafCertificate {
  subject: string | null;
  /** The subject's CN values, for tls.checkServerIdentity. */
  commonNames: string[];
  issuer: string | null;
  /** Node's text form, 'DNS:localhost, IP Address:127.0.0.1'. */
  subjectAltName: string | null;
  serialNumber: string | null;
  fingerprint256: string;
  validFrom: string;
  validTo: string;
}

export function leafFromX509(certificate: X509Certificate): LeafCertificate {
  const subject = certificate.subject;
  return {
    subject: x509Name(subject),
    commonNames: commonNames(subject),
    issuer: x509Name(certificate.issuer),
    subjectAltName: certificate.subjectAltName ?? null,
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    validFrom: certificate.validFrom,
    validTo: certificate.validTo,
  };
}

/** What a TLS socket tells after the handshake; read in one place (tls-verify.ts), interpreted here. */
export interface TlsFacts {
  protocol: string | null;
  /** Cipher name as reported by getCipher(): the IANA name when Node knows it. */
  cipher: string | null;
  /** The leaf; null when the server presented none. */
  leaf: LeafCertificate | null;
  /** The earliest notAfter of the leaf and the chain (see earliestNotAfter); null when unknown. */
  chainEarliestNotAfter: string | null;
  authorized: boolean;
  authorizationError: string | null;
}

export function tlsDetails(facts: TlsFacts): TlsDetails {
  const leaf = facts.leaf;
  return {
    protocol: facts.protocol,
    cipher: facts.cipher,
    subject: leaf?.subject ?? null,
    issuer: leaf?.issuer ?? null,
    sans: leaf ? subjectAltNames(leaf.subjectAltName) : [],
    serial: leaf?.serialNumber ? leaf.serialNumber.toUpperCase() : null,
    fingerprint256: leaf?.fingerprint256 ?? null,
    notBefore: certificateDate(leaf?.validFrom),
    notAfter: certificateDate(leaf?.validTo),
    chainEarliestNotAfter: leaf ? facts.chainEarliestNotAfter : null,
    authorized: facts.authorized,
    authorizationError: facts.authorized ? null : facts.authorizationError,
  };
}

/** 'O=authwatch, CN=localhost' from X509Certificate's one-field-a-line 'O=authwatch\nCN=localhost', in its order. */
export function x509Name(text: string | null | undefined): string | null {
  if (!text) return null;
  const parts = text.split('\n').filter((line) => line.length > 0);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** The CN values of X509Certificate's subject text (RFC 2253 escapes undone), for tls.checkServerIdentity. */
export function commonNames(subject: string | null | undefined): string[] {
  if (!subject) return [];
  return subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3).replace(/\\(.)/g, '$1'));
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

/**
 * The notAfter of each certificate of getPeerCertificate(true)'s chain: the leaf, the issuers the server presented
 * and the trusted root Node completed it with; Node marks the end of the chain by a self-reference.
 */
export function chainValidTo(leaf: DetailedPeerCertificate): string[] {
  const chain: string[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = leaf;
  while (current && Object.keys(current).length > 0) {
    const id = current.fingerprint256 ?? String(chain.length);
    if (seen.has(id)) break;
    seen.add(id);
    chain.push(current.valid_to);
    current = current.issuerCertificate;
  }
  return chain;
}

/** The earliest of OpenSSL-form dates (a chain's notAfter), as an ISO time; null when none parses. */
export function earliestNotAfter(validTo: (string | undefined)[]): string | null {
  const dates = validTo.map((text) => certificateDate(text)).filter((date): date is string => date !== null);
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
