// Where a connection's Slack messages go: the first route whose labels all match the connection's, else the
// default destination. Pure. Each destination is its own outbox lane (target), so one team's broken webhook
// delays nothing for the others.
import type { SecretRef } from '../../config/schema.js';
import type { SlackConfig } from '../../config/load.js';

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';

export type SlackDelivery = { kind: 'webhook'; webhookUrl: SecretRef } | { kind: 'web'; channel: string };

export interface SlackDestination {
  /** 'default', or the route's name. */
  name: string;
  /**
   * The outbox lane. 'webhook' for a default incoming webhook (the lane's name before routes existed, so rows
   * written by an older version still find it), 'default' for a default channel, 'route:<name>' for a route.
   */
  target: string;
  /** null for the default destination. */
  match: Record<string, string> | null;
  delivery: SlackDelivery;
}

export function slackDestinations(slack: SlackConfig): SlackDestination[] {
  const destinations: SlackDestination[] = [];
  if (slack.webhookUrl !== undefined) destinations.push({ name: 'default', target: 'webhook', match: null, delivery: { kind: 'webhook', webhookUrl: slack.webhookUrl } });
  else if (slack.channel !== undefined) destinations.push({ name: 'default', target: 'default', match: null, delivery: { kind: 'web', channel: slack.channel } });
  for (const route of slack.routes ?? []) {
    const delivery: SlackDelivery = route.webhookUrl !== undefined ? { kind: 'webhook', webhookUrl: route.webhookUrl } : { kind: 'web', channel: route.channel ?? '' };
    destinations.push({ name: route.name, target: `route:${route.name}`, match: route.match, delivery });
  }
  return destinations;
}

/** The destination of a connection with these labels: the first matching route, else the default (null when there is none). */
export function routeFor<T extends Pick<SlackDestination, 'match'>>(destinations: readonly T[], labels: Record<string, string>): T | null {
  const route = destinations.find((destination) => destination.match !== null && Object.entries(destination.match).every(([key, value]) => labels[key] === value));
  return route ?? destinations.find((destination) => destination.match === null) ?? null;
}

/** Every secret reference of the Slack config (webhook URLs and the app token), to read and mask. */
export function slackSecretRefs(slack: SlackConfig): { what: string; ref: SecretRef }[] {
  const refs: { what: string; ref: SecretRef }[] = [];
  if (slack.webhookUrl !== undefined) refs.push({ what: 'the Slack webhook URL', ref: slack.webhookUrl });
  for (const route of slack.routes ?? []) if (route.webhookUrl !== undefined) refs.push({ what: `the Slack webhook URL of route ${route.name}`, ref: route.webhookUrl });
  if (slack.token !== undefined) refs.push({ what: 'the Slack app token', ref: slack.token });
  return refs;
}
