// The words of a diagnosis: how the classifier's rules describe a response, a certificate, a proxy or an error in
// one line. Pure helpers over the facts the rules read.
import type { ProbeError } from '../probe/observation.js';
import type { ObservedFacts } from './classify.js';
import type { ClassifyContext } from './types.js';
import { describeLintCodes } from './header-lint.js';
import { isJsonObject } from './identity.js';

export const CERT_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE', 'CERT_CHAIN_TOO_LONG', 'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD', 'CRL_HAS_EXPIRED', 'UNABLE_TO_GET_CRL',
]);
export const isCertError = (error: ProbeError | null) => error !== null && CERT_ERROR_CODES.has(error.code);

const CLIENT_CERT_ALERTS: Record<number, string> = {
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  48: 'unknown_ca',
  49: 'access_denied',
  116: 'certificate_required',
};

const HANDSHAKE_FAILURE_ALERT = 40;

export function header(facts: ObservedFacts, name: string): string | null {
  return facts.http?.headers[name] ?? null;
}

export const HEADER_DISPLAY_NAMES: Record<string, string> = {
  'x-seraph-loginreason': 'X-Seraph-LoginReason',
  'x-ausername': 'X-AUSERNAME',
  'www-authenticate': 'WWW-Authenticate',
  'retry-after': 'Retry-After',
  'ratelimit-reason': 'RateLimit-Reason',
  'x-ratelimit-remaining': 'X-RateLimit-Remaining',
  'x-ratelimit-reset': 'X-RateLimit-Reset',
};

/** `401 text/plain: "Basic authentication with passwords is deprecated." (X-Seraph-LoginReason: AUTHENTICATED_FAILED)` */
export function describeResponse(facts: ObservedFacts, headerNames: string[] = []): string {
  const message = serverMessage(facts);
  const headers = headerNames
    .map((name) => [HEADER_DISPLAY_NAMES[name] ?? name, header(facts, name)] as const)
    .filter(([, value]) => value !== null && value !== '')
    .map(([name, value]) => `${name}: ${truncate(value!, 80)}`);
  return `${facts.status} ${facts.mediaType ?? '(no content type)'}${message ? `: ${quote(message)}` : ''}${headers.length > 0 ? ` (${headers.join(', ')})` : ''}`;
}

/** The server's own words: a JSON message field, an HTML title, or the first sentence of a text body. */
export function serverMessage(facts: Pick<ObservedFacts, 'http' | 'mediaType'>): string | null {
  const http = facts.http;
  if (!http) return null;
  const json = http.json;
  if (isJsonObject(json)) {
    const errorMessages = Array.isArray(json.errorMessages) ? json.errorMessages : [];
    const errors = isJsonObject(json.errors) ? Object.values(json.errors) : [];
    const candidates = [json.message, errorMessages[0], errors[0], json.error_description, json.errorMessage, json.error];
    const found = candidates.find((value): value is string => typeof value === 'string' && value.trim() !== '');
    if (found) return truncate(collapse(found), 160);
  }
  const text = http.message;
  if (!text.trim()) return null;
  if (isHtml(facts.mediaType) || /^\s*<(!doctype|html)/i.test(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
    return title && title.trim() ? truncate(collapse(decodeBasicEntities(title)), 160) : null;
  }
  const collapsed = collapse(text);
  const firstSentence = /^.*?[.!?](?=\s|$)/.exec(collapsed)?.[0] ?? collapsed;
  return truncate(firstSentence, 160);
}

export function withLintHint(detail: string, facts: ObservedFacts): string {
  const findings = facts.observation.credential.findings;
  return findings.length > 0 ? `${detail}; header lint: ${describeLintCodes(findings)}` : detail;
}

export function describeCertificateProblem(facts: ObservedFacts, context: ClassifyContext): string {
  const tls = facts.observation.tls;
  const code = (isCertError(facts.error) ? facts.error!.code : null) ?? tls?.authorizationError ?? facts.error?.code ?? 'unverified';
  const date = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : null);
  switch (code) {
    case 'CERT_HAS_EXPIRED': {
      const leaf = date(tls?.notAfter);
      const earliest = date(tls?.chainEarliestNotAfter);
      if (earliest && leaf && earliest < leaf) return `a certificate in the chain expired on ${earliest} (${code})`;
      return leaf ? `certificate expired on ${leaf} (${code})` : `certificate expired (${code})`;
    }
    case 'CERT_NOT_YET_VALID': {
      const from = date(tls?.notBefore);
      return from ? `certificate not valid before ${from} (${code})` : `certificate not yet valid (${code})`;
    }
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH': {
      // The name checked is tls.serverName when one is set, not the URL's host.
      const host = context.serverName ? `${context.serverName} (tls.serverName)` : hostOf(facts.observation.url);
      const names = tls?.sans.length ? tls.sans.join(', ') : tls?.subject;
      return `certificate is not valid for ${host ?? 'this host'}${names ? ` (it names ${truncate(names, 120)})` : ''} (${code})`;
    }
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `self-signed certificate${tls?.subject ? ` ${tls.subject}` : ''} (${code})`;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_UNTRUSTED':
      return `certificate${tls?.issuer ? ` issued by ${tls.issuer}` : ''} is not trusted (${code})`;
    default:
      return `certificate rejected (${code})`;
  }
}

export function describeProxy(facts: ObservedFacts): string {
  const proxy = facts.observation.proxy!;
  return `the proxy ${proxy.url}${proxy.source === 'config' ? '' : ` (from ${proxy.source})`}`;
}

export function certificateCode(facts: ObservedFacts): string | null {
  return (isCertError(facts.error) ? facts.error!.code : null) ?? facts.observation.tls?.authorizationError ?? null;
}

/**
 * The TLS alert the server ended the handshake with, when it is about the client certificate: one of
 * CLIENT_CERT_ALERTS, or handshake_failure after the server asked for a certificate (what TLS 1.2 servers send
 * when none came). Null for every other failure.
 */
export function clientCertAlert(facts: ObservedFacts): string | null {
  const error = facts.error;
  if (!error) return null;
  const number = Number(/SSL alert number (\d+)/.exec(error.message)?.[1] ?? Number.NaN);
  if (CLIENT_CERT_ALERTS[number]) return CLIENT_CERT_ALERTS[number];
  const requested = facts.observation.clientCertificate?.requested === true;
  if (number === HANDSHAKE_FAILURE_ALERT && requested) return 'handshake_failure';
  if (error.code === 'ERR_CLIENT_CERT_NOT_ACCEPTED') return 'none (the server closed the connection)';
  if (requested && facts.observation.clientCertificate?.configured && (error.code === 'ECONNRESET' || /socket hang up/i.test(error.message))) {
    return 'none (the server closed the connection)';
  }
  const byCode = Object.values(CLIENT_CERT_ALERTS).find((name) => error.code.endsWith(`_ALERT_${name.toUpperCase()}`));
  return byCode ?? null;
}

export function describeClientCertRejection(facts: ObservedFacts): string {
  const alert = clientCertAlert(facts)!;
  const client = facts.observation.clientCertificate!;
  const which = `the client certificate${client.subject ? ` ${client.subject}` : ''}`;
  const date = client.notAfter?.slice(0, 10);
  switch (alert) {
    case 'unknown_ca':
      return `the server does not trust the issuer of ${which}${client.issuer ? ` (issued by ${client.issuer})` : ''} (TLS alert unknown_ca)`;
    case 'certificate_expired': {
      const expired = client.notAfter !== null && Date.parse(client.notAfter) < Date.parse(facts.observation.startedAt);
      return `the server refused ${which} as expired${date ? (expired ? ` (it expired on ${date})` : ` (valid until ${date}: check the server's clock)`) : ''} (TLS alert certificate_expired)`;
    }
    case 'certificate_revoked':
      return `the server refused ${which} as revoked (TLS alert certificate_revoked)`;
    case 'none (the server closed the connection)': {
      // No alert says why: what authwatch knows about the certificate is the best lead.
      const expired = client.notAfter !== null && Date.parse(client.notAfter) < Date.parse(facts.observation.startedAt);
      const lead = expired ? `it expired on ${date}` : client.issuer ? `is its issuer ${client.issuer} one the server trusts?` : null;
      return `the server closed the connection right after the handshake without accepting ${which}${lead ? ` (${lead})` : ''}; no TLS alert said why`;
    }
    default:
      return `the server rejected ${which} (TLS alert ${alert})`;
  }
}

export function errorText(error: ProbeError): string {
  const message = openSslReason(error.message) ?? error.message.trim();
  if (!message) return error.code;
  return message.includes(error.code) ? message : `${message} (${error.code})`;
}

/**
 * OpenSSL's errors read `80ACE962157F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol
 * version:../deps/openssl/...:1601:SSL alert number 70`; the reason ("tlsv1 alert protocol version") is what a
 * person can act on.
 */
export function openSslReason(message: string): string | null {
  const reason = /:SSL routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim();
  return reason ? reason : null;
}

/** Shows where a redirect goes without its query or fragment (SSO requests can carry state and tokens). */
export function redactLocation(location: string, base: string): string {
  try {
    const target = new URL(location, base);
    const hidden = target.search || target.hash ? '?…' : '';
    return `${target.origin}${target.pathname}${hidden}`;
  } catch {
    const cut = location.search(/[?#]/);
    return cut >= 0 ? `${location.slice(0, cut)}?…` : truncate(location, 120);
  }
}

export function probedPath(facts: ObservedFacts): string {
  try {
    return new URL(facts.observation.url).pathname;
  } catch {
    return facts.observation.url;
  }
}

export function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

export function isHtml(mediaType: string | null): boolean {
  return mediaType === 'text/html' || mediaType === 'application/xhtml+xml';
}

export function isJsonOrUnlabelled(mediaType: string | null): boolean {
  return mediaType === null || mediaType === 'application/json' || mediaType.endsWith('+json');
}

export function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(seconds < 10 ? 1 : 0))}s`;
}

export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function quote(text: string): string {
  return `"${text.replace(/"/g, '\\"')}"`;
}

export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

export function decodeBasicEntities(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}
