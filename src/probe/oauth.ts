// OAuth 2.0 client credentials: fetch an access token (one POST, no redirects, no retries) and decide when a
// cached one must be replaced. The token itself never leaves the prober.
import got, { type Agents } from 'got';
import type { OAuthTokenResult } from './observation.js';

export interface ClientCredentialsRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
}

export interface AccessToken {
  value: string;
  /** ms since epoch; null when the endpoint gave no expires_in (then it is not cached). */
  expiresAtMs: number | null;
  obtainedAtMs: number;
  /** Fingerprint of the client secret it was obtained with: a changed secret invalidates it. */
  secretFingerprint: string;
}

export type TokenFetch =
  | { ok: true; token: AccessToken; httpStatus: number }
  | { ok: false; httpStatus: number | null; error: string };

/** Replace a token a minute before it expires, or halfway through its life when it lives less than two minutes. */
export function tokenUsable(token: AccessToken | null, secretFingerprint: string, nowMs: number): token is AccessToken {
  if (!token || token.expiresAtMs === null || token.secretFingerprint !== secretFingerprint) return false;
  const margin = Math.min(60_000, (token.expiresAtMs - token.obtainedAtMs) / 2);
  return nowMs < token.expiresAtMs - margin;
}

/** `invalid_client: Unauthorized` from an RFC 6749 error body; else the start of the body. Never echoes the request. */
export function describeTokenError(status: number, body: string, mask: (text: string) => string = (text) => text): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    if (typeof parsed.error === 'string') {
      return mask(typeof parsed.error_description === 'string' ? `${parsed.error}: ${parsed.error_description}` : parsed.error);
    }
  } catch {
    // not JSON
  }
  // Masked before it is cut: a secret crossing the cut would otherwise survive as a prefix.
  const text = mask(body.replace(/\s+/g, ' ').trim()).slice(0, 200);
  return text ? `HTTP ${status}: ${text}` : `HTTP ${status}`;
}

export function parseTokenResponse(body: string, nowMs: number, secretFingerprint: string): AccessToken | null {
  try {
    const parsed = JSON.parse(body) as { access_token?: unknown; expires_in?: unknown };
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') return null;
    const expiresIn = Number(parsed.expires_in);
    return {
      value: parsed.access_token,
      expiresAtMs: Number.isFinite(expiresIn) && expiresIn > 0 ? nowMs + expiresIn * 1000 : null,
      obtainedAtMs: nowMs,
      secretFingerprint,
    };
  } catch {
    return null;
  }
}

export async function fetchClientCredentialsToken(
  request: ClientCredentialsRequest,
  options: { agent: Agents; timeoutMs: number; nowMs: () => number; secretFingerprint: string; userAgent: string; mask: (text: string) => string },
): Promise<TokenFetch> {
  const form: Record<string, string> = {
    grant_type: 'client_credentials',
    client_id: request.clientId,
    client_secret: request.clientSecret,
  };
  if (request.scope) form.scope = request.scope;
  if (request.audience) form.audience = request.audience;
  const t = options.timeoutMs;
  try {
    const response = await got.post(request.tokenUrl, {
      form,
      headers: { accept: 'application/json', 'user-agent': options.userAgent },
      agent: options.agent,
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      decompress: false,
      responseType: 'text',
      timeout: { lookup: t, connect: t, secureConnect: t, send: t, response: t, read: t },
    });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      return { ok: false, httpStatus: response.statusCode, error: describeTokenError(response.statusCode, response.body, options.mask) };
    }
    const token = parseTokenResponse(response.body, options.nowMs(), options.secretFingerprint);
    return token
      ? { ok: true, token, httpStatus: response.statusCode }
      : { ok: false, httpStatus: response.statusCode, error: 'the token endpoint answered without an access_token' };
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'ERR_UNKNOWN';
    const phase = (error as { event?: string }).event;
    return { ok: false, httpStatus: null, error: options.mask(`${code}${phase ? ` (${phase})` : ''}: ${(error as Error).message}`) };
  }
}

export function tokenResult(fetch: TokenFetch | { cached: AccessToken }): OAuthTokenResult {
  if ('cached' in fetch) {
    return { ok: true, fromCache: true, httpStatus: null, error: null, expiresAt: isoOrNull(fetch.cached.expiresAtMs) };
  }
  if (fetch.ok) return { ok: true, fromCache: false, httpStatus: fetch.httpStatus, error: null, expiresAt: isoOrNull(fetch.token.expiresAtMs) };
  return { ok: false, fromCache: false, httpStatus: fetch.httpStatus, error: fetch.error, expiresAt: null };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
