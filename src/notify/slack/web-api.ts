// Slack Web API calls (chat.postMessage, chat.update) with an app token. The token is a credential: it travels
// only in the Authorization header and never appears in a result, error or log line.
//
// Slack answers HTTP 200 with { ok: true, channel, ts } or { ok: false, error }; when rate limited, HTTP 429 with
// Retry-After (seconds). Retried: 429, 5xx, network errors, and the errors Slack documents as transient
// (ratelimited, internal_error, fatal_error, service_unavailable, request_timeout). Every other error
// (channel_not_found, invalid_auth, not_in_channel, message_not_found, …) will not go away by itself: rejected.
import got, { type RequestError } from 'got';
import { parseRetryAfter } from '../http-delivery.js';
import type { DeliveryResult } from '../types.js';

export type WebApiMethod = 'chat.postMessage' | 'chat.update';

export type WebApiResult = { kind: 'ok'; channel: string; ts: string } | Exclude<DeliveryResult, { kind: 'delivered' }>;

export interface WebApiOptions {
  /** e.g. https://slack.com/api (no trailing slash needed). */
  apiUrl: string;
  token: string;
  timeoutMs: number;
  now?: () => Date;
}

const TRANSIENT_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

export async function callSlackWebApi(method: WebApiMethod, body: Record<string, unknown>, options: WebApiOptions): Promise<WebApiResult> {
  const url = `${options.apiUrl.replace(/\/+$/, '')}/${method}`;
  const mask = (text: string) => text.split(options.token).join('***');
  try {
    const response = await got.post(url, {
      json: body,
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      timeout: { request: options.timeoutMs },
      headers: { 'user-agent': 'authwatch', authorization: `Bearer ${options.token}` },
    });
    const retryAfter = response.headers['retry-after'];
    return classifyWebApiResponse(method, response.statusCode, Array.isArray(retryAfter) ? retryAfter[0] ?? null : retryAfter ?? null, response.body, (options.now ?? (() => new Date()))(), mask);
  } catch (error) {
    const requestError = error as Partial<RequestError> & { message?: string };
    const code = requestError.code ?? 'ERROR';
    const reason = code === 'ETIMEDOUT' ? `Slack ${method} did not answer in time` : `Slack ${method} could not be reached: ${requestError.message ?? code}`;
    return { kind: 'retry', afterMs: null, reason: mask(reason) };
  }
}

/** Pure: what a Web API answer means. */
export function classifyWebApiResponse(method: WebApiMethod, status: number, retryAfter: string | null, body: string, now: Date, mask: (text: string) => string = (text) => text): WebApiResult {
  const parsed = parseBody(body);
  const error = typeof parsed?.error === 'string' ? parsed.error.replace(/[^a-z0-9_]/gi, '').slice(0, 100) : null;
  if (status === 429) return { kind: 'retry', afterMs: parseRetryAfter(retryAfter, now), reason: `Slack ${method} answered HTTP 429 ${error ?? 'ratelimited'}` };
  if (status >= 500) return { kind: 'retry', afterMs: parseRetryAfter(retryAfter, now), reason: `Slack ${method} answered HTTP ${status}` };
  if (status !== 200 || parsed === null) {
    return { kind: 'rejected', reason: mask(`Slack ${method} answered HTTP ${status}${parsed === null ? ' without a JSON body (check alerting.slack.apiUrl)' : ''}`) };
  }
  if (parsed.ok === true) {
    if (typeof parsed.ts !== 'string' || typeof parsed.channel !== 'string') return { kind: 'rejected', reason: `Slack ${method} answered ok without channel and ts` };
    return { kind: 'ok', channel: parsed.channel, ts: parsed.ts };
  }
  const name = error ?? 'unknown_error';
  if (TRANSIENT_ERRORS.has(name)) return { kind: 'retry', afterMs: parseRetryAfter(retryAfter, now), reason: `Slack ${method} answered ${name}` };
  return { kind: 'rejected', reason: `Slack ${method} answered ${name}${HINTS[name] ? ` (${HINTS[name]})` : ''}` };
}

type WebApiBody = { ok?: unknown; error?: unknown; channel?: unknown; ts?: unknown };

function parseBody(body: string): WebApiBody | null {
  try {
    const value = JSON.parse(body) as unknown;
    return value && typeof value === 'object' ? (value as WebApiBody) : null;
  } catch {
    return null;
  }
}

const HINTS: Record<string, string> = {
  invalid_auth: 'check alerting.slack.token',
  not_authed: 'check alerting.slack.token',
  token_revoked: 'the app token was revoked: install the app again and update alerting.slack.token',
  channel_not_found: 'check the channel ID, and that the app is in that channel',
  not_in_channel: 'invite the app to the channel',
  missing_scope: 'the app needs the chat:write scope',
};
