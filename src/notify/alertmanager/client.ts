// Posts alerts to one Alertmanager: POST {url}/api/v2/alerts with a JSON array.
import { postJson } from '../http-delivery.js';
import type { DeliveryResult } from '../types.js';
import type { AlertmanagerAlert } from './render.js';

export interface AlertmanagerPostOptions {
  timeoutMs: number;
}

/** {base}/api/v2/alerts, keeping a path prefix (Alertmanager behind --web.route-prefix or a proxy). */
export function alertsEndpoint(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** Same semantics as Slack: 2xx delivered; 429, 5xx, network, timeout → retry; other 4xx → rejected. */
export async function postToAlertmanager(baseUrl: string, alerts: AlertmanagerAlert[], options: AlertmanagerPostOptions): Promise<DeliveryResult> {
  let endpoint: string;
  try {
    endpoint = alertsEndpoint(baseUrl);
  } catch {
    return { kind: 'rejected', reason: 'the Alertmanager URL is not a valid URL' };
  }
  return postJson(endpoint, alerts, { timeoutMs: options.timeoutMs, service: 'Alertmanager' });
}
