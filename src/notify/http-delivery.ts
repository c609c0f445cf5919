// One JSON POST to a notification endpoint, turned into a DeliveryResult. Never throws.
// got does no retries and follows no redirects here: the dispatcher owns retries, and a redirect
// would carry the payload somewhere nobody configured.
import got, { type RequestError } from 'got';
import type { DeliveryResult } from './types.js';

export interface PostOptions {
  timeoutMs: number;
  /** URLs whose path, query or user-info must never appear in a reason (a Slack webhook URL is a credential). */
  secretUrls?: string[];
  /** Used to name the service in reasons: "Slack answered HTTP 404 no_service". */
  service: string;
  now?: () => Date;
}

export async function postJson(url: string, body: unknown, options: PostOptions): Promise<DeliveryResult> {
  const mask = (text: string) => maskUserInfo(maskUrls(text, options.secretUrls ?? []), url);
  try {
    const response = await got.post(url, {
      json: body,
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      timeout: { request: options.timeoutMs },
      headers: { 'user-agent': 'authwatch' },
    });
    const result = classifyDeliveryResponse(
      response.statusCode,
      firstHeader(response.headers['retry-after']),
      typeof response.body === 'string' ? response.body : '',
      options.service,
      (options.now ?? (() => new Date()))(),
    );
    return result.kind === 'delivered' ? result : { ...result, reason: mask(result.reason) };
  } catch (error) {
    return { kind: 'retry', afterMs: null, reason: mask(describeRequestError(error, options.service)) };
  }
}

function firstHeader(value: string | string[] | undefined): string | null {
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

/** Pure: what an HTTP answer means for delivery. */
export function classifyDeliveryResponse(status: number, retryAfter: string | null, body: string, service: string, now: Date): DeliveryResult {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const reason = `${service} answered HTTP ${status}${summariseBody(body)}`;
  if (status === 429 || status >= 500) return { kind: 'retry', afterMs: parseRetryAfter(retryAfter, now), reason };
  if (status >= 300 && status < 400) return { kind: 'rejected', reason: `${reason} (a redirect: check the URL; redirects are not followed)` };
  return { kind: 'rejected', reason };
}

function summariseBody(body: string): string {
  const text = body.replace(/[\s\p{Cc}]+/gu, ' ').trim().slice(0, 200);
  return text ? ` ${text}` : '';
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now.getTime());
}

function describeRequestError(error: unknown, service: string): string {
  const requestError = error as Partial<RequestError> & { message?: string };
  const code = requestError.code ?? 'ERROR';
  if (code === 'ETIMEDOUT') return `${service} did not answer in time (${requestError.message ?? 'timeout'})`;
  const message = requestError.message ?? String(error);
  return `${service} could not be reached: ${message.includes(code) ? message : `${code} ${message}`}`;
}

/** Removes a URL's user:password, the only secret an Alertmanager URL can hold. */
export function maskUserInfo(text: string, rawUrl: string): string {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return text;
  }
  let masked = text;
  for (const part of [url.password, url.username]) if (part) masked = masked.split(part).join('***');
  return masked;
}

/**
 * Removes every trace of the given URLs from a text: the whole URL, its path, query and user-info,
 * and each long path segment on its own (a Slack webhook's token is its last segment).
 */
export function maskUrls(text: string, urls: string[]): string {
  let masked = text;
  const needles = new Set<string>();
  for (const raw of urls) {
    needles.add(raw);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    needles.add(url.href);
    if (url.pathname.length > 1) needles.add(url.pathname);
    if (url.search) needles.add(url.search.slice(1));
    if (url.username) needles.add(url.username);
    if (url.password) needles.add(url.password);
    for (const segment of url.pathname.split('/')) {
      if (segment.length >= 6) needles.add(segment);
    }
  }
  const ordered = [...needles].filter((needle) => needle.length > 0).sort((a, b) => b.length - a.length);
  for (const needle of ordered) masked = masked.split(needle).join('***');
  return masked;
}
