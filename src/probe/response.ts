// Pure readers of an HTTP answer: the diagnostic headers, the server's message and the JSON body.
import type { HttpDetails } from './observation.js';

/** The Atlassian/diagnostic headers a probe records, lower-cased; plus every X-RateLimit-* header. */
export const DIAGNOSTIC_HEADERS = [
  'x-seraph-loginreason',
  'x-authentication-denied-reason',
  'x-ausername',
  'x-aaccountid',
  'www-authenticate',
  'location',
  'retry-after',
  'ratelimit-reason',
  'x-arequestid',
  'atl-traceid',
] as const;

export const MESSAGE_CHARS = 500;
export const MASK = '***';

export function pickDiagnosticHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined) continue;
    if ((DIAGNOSTIC_HEADERS as readonly string[]).includes(name) || name.startsWith('x-ratelimit-')) {
      picked[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return picked;
}

/** What a proxy's answer to CONNECT says about itself and its refusal. */
export const PROXY_HEADERS = ['proxy-authenticate', 'via', 'server', 'x-squid-error', 'x-cache', 'retry-after'] as const;

export function pickProxyHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of PROXY_HEADERS) {
    const value = headers[name];
    if (value !== undefined) picked[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return picked;
}

/** Replaces every occurrence of each secret (longest first) with ***. Empty strings are ignored. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  // Nearly every answer contains none of them: look before sorting and splitting.
  if (!secrets.some((secret) => secret.length > 0 && text.includes(secret))) return text;
  const sorted = [...new Set(secrets.filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
  return sorted.reduce((masked, secret) => masked.split(secret).join(MASK), text);
}

/** Every form a credential may take in a server's echo: as sent, the header value, and the base64 parts. */
export function secretForms(secret: string | null, authorization: string | null): string[] {
  const forms: string[] = [];
  if (secret) {
    forms.push(
      secret,
      Buffer.from(secret).toString('base64').replace(/=+$/, ''),
      encodeURIComponent(secret),
      // As a form field (the oauth2 token request): application/x-www-form-urlencoded also escapes !'()~ and spaces.
      new URLSearchParams({ s: secret }).toString().slice(2),
    );
  }
  if (authorization) {
    forms.push(authorization);
    const space = authorization.indexOf(' ');
    if (space > 0) forms.push(authorization.slice(space + 1).trim());
  }
  return forms;
}

export function isJsonMediaType(contentType: string | null): boolean {
  if (!contentType) return false;
  const media = contentType.split(';')[0].trim().toLowerCase();
  return media === 'application/json' || media.endsWith('+json');
}

/** The parsed body when it is JSON (by Content-Type, or by shape when none is given); undefined otherwise. */
export function parseJsonBody(body: string, contentType: string | null, truncated: boolean): unknown {
  if (truncated) return undefined;
  const looksJson = /^\s*[[{]/.test(body);
  if (!isJsonMediaType(contentType) && !(contentType === null && looksJson)) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** A copy of parsed JSON with every string (and key) masked. */
export function maskJson(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return maskSecrets(value, secrets);
  if (Array.isArray(value)) return value.map((item) => maskJson(item, secrets));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [maskSecrets(key, secrets), maskJson(item, secrets)]));
  }
  return value;
}

export function httpDetails(input: {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  truncated: boolean;
  secrets: readonly string[];
}): HttpDetails {
  const contentTypeHeader = input.headers['content-type'];
  const contentType = (Array.isArray(contentTypeHeader) ? contentTypeHeader[0] : contentTypeHeader) ?? null;
  const text = input.body.toString('utf8');
  const headers = pickDiagnosticHeaders(input.headers);
  for (const name of Object.keys(headers)) headers[name] = maskSecrets(headers[name], input.secrets);
  return {
    status: input.status,
    contentType,
    headers,
    message: maskSecrets(text, input.secrets).slice(0, MESSAGE_CHARS),
    json: maskJson(parseJsonBody(text, contentType, input.truncated), input.secrets),
    bodyBytes: input.body.length,
    bodyTruncated: input.truncated,
  };
}
