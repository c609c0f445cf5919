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
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    return { kind: 'retry', afterMs: null, reason: 'the Slack webhook URL is not a valid URL (check alerting.slack.webhookUrl)' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return { kind: 'retry', afterMs: null, reason: 'the Slack webhook URL must be an https:// URL; plain http only to a loopback address (check alerting.slack.webhookUrl)' };
  }
  return postJson(webhookUrl, payload, { timeoutMs: options.timeoutMs, secretUrls: [webhookUrl], service: 'Slack' });
}
