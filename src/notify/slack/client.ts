// Posts one rendered message to a Slack incoming webhook. The webhook URL is a credential:
// it is read at send time and never appears in a result, error or log line.
import { isLoopbackHost } from '../../config/schema.js';
import { postJson } from '../http-delivery.js';
import type { DeliveryResult } from '../types.js';
import type { SlackPayload } from './blocks.js';

export interface SlackPostOptions {
  timeoutMs: number;
}

/**
 * 2xx → delivered; 429 → retry after Retry-After; 5xx, network error, timeout → retry;
 * any other answer (404 no_service, 403 invalid_token, 400 invalid_payload, a redirect) → rejected.
 */
export async function postToSlack(webhookUrl: string, payload: SlackPayload, options: SlackPostOptions): Promise<DeliveryResult> {
  const problem = webhookUrlProblem(webhookUrl);
  // Retried: the URL is read at every attempt, so a corrected secret file is picked up by the waiting row.
  if (problem) return { kind: 'retry', afterMs: null, reason: problem };
  return postJson(webhookUrl, payload, { timeoutMs: options.timeoutMs, secretUrls: [webhookUrl], service: 'Slack' });
}

/** Why this webhook URL cannot be posted to, without quoting it (it is a credential); null when it can. */
export function webhookUrlProblem(webhookUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    return 'the Slack webhook URL is not a valid URL (check alerting.slack.webhookUrl)';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return 'the Slack webhook URL must be an https:// URL; plain http only to a loopback address (check alerting.slack.webhookUrl)';
  }
  return null;
}
