// The single definition of the config file: validation, TypeScript types and the JSON Schema
// printed by `authwatch schema` all come from here.
import { z } from 'zod';
import cron from 'node-cron';
import { DURATION_PATTERN, parseDuration } from './duration.js';

const duration = z
  .union([z.string().regex(DURATION_PATTERN, 'must be a duration such as 500ms, 15s, 5m, 1h or 14d'), z.literal(0)])
  .describe('A duration: 500ms, 15s, 5m, 1h30m, 14d, or 0 (off)');
/** A duration that must not be zero (a zero timeout fails every probe; a zero retention prunes everything). */
const positiveDuration = z
  .string()
  .regex(DURATION_PATTERN, 'must be a duration such as 500ms, 15s, 5m, 1h or 14d')
  .refine((text) => !DURATION_PATTERN.test(text) || parseDuration(text) > 0, 'must be longer than 0')
  .describe('A duration greater than 0: 500ms, 15s, 5m, 1h30m, 14d');

const schedule = z
  .string()
  .refine((expr) => cron.validate(expr), 'must be a cron expression with 5 fields, or 6 with seconds first (e.g. "*/5 * * * *")')
  .describe('node-cron expression, 5 fields or 6 with seconds first');

export const secretRef = z
  .union([
    z.strictObject({ env: z.string().min(1).describe('environment variable holding the secret') }),
    z.strictObject({ file: z.string().min(1).describe('file holding the secret; one trailing newline is stripped') }),
    z.string().min(1).describe('literal secret (accepted with a warning: prefer env or file)'),
  ])
  .describe('A secret: { env: NAME }, { file: PATH } or a literal string');
export type SecretRef = z.infer<typeof secretRef>;

const tlsVersion = z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
const tlsOptions = z.strictObject({
  minVersion: tlsVersion.optional().describe('lowest TLS version the probe offers, as the integration would'),
  maxVersion: tlsVersion.optional().describe('highest TLS version the probe offers (to mimic an old client)'),
  caFile: z.string().min(1).optional().describe('PEM file with extra trusted CA certificates'),
  serverName: z.string().min(1).optional().describe('SNI / hostname to verify, when it differs from the URL host'),
  certFile: z.string().min(1).optional().describe('PEM client certificate (mutual TLS); may also hold the key'),
  keyFile: z.string().min(1).optional().describe('PEM private key of certFile, when it is not in certFile'),
  passphrase: secretRef.optional().describe('passphrase of an encrypted keyFile'),
}).superRefine((tls, ctx) => {
  for (const key of ['keyFile', 'passphrase'] as const) {
    if (tls[key] !== undefined && tls.certFile === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: `needs certFile in the same tls block (${key} belongs to a client certificate)` });
    }
  }
});

// Only https, or http to a loopback address; never credentials in the URL.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
function checkProbeUrl(value: string, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a valid URL (e.g. https://acme.atlassian.net)' });
    return;
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not contain user:password@; put credentials under auth' });
  }
  if (url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must not contain a query (?…) or fragment (#…): give the base URL, and the API path under path' });
  }
  const apiAt = url.pathname.search(/\/rest\/(api|auth|agile)\//);
  if (apiAt >= 0) {
    const base = `${url.origin}${url.pathname.slice(0, apiAt)}`;
    ctx.addIssue({ code: 'custom', message: `ends in an API path (${url.pathname.slice(apiAt)}): give the base URL only, url: ${base} (authwatch adds the API path; set path: to probe another)` });
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    ctx.addIssue({ code: 'custom', message: 'must use https (plain http is allowed only to a loopback address)' });
  } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: 'must be an https:// URL' });
  }
}
/** An outbound HTTP proxy reached with CONNECT: http://host:port, no credentials in the URL (they go under auth). */
function checkProxyUrl(value: string, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a valid URL (e.g. http://proxy.example.com:3128)' });
    return;
  }
  if (url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// proxy URL (the proxy is asked to CONNECT; TLS to Jira runs inside the tunnel)' });
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not contain user:password@; put the proxy credentials under proxy.auth' });
  }
  if (!url.port) ctx.addIssue({ code: 'custom', message: 'must name the port, e.g. http://proxy.example.com:3128' });
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must be only scheme, host and port, e.g. http://proxy.example.com:3128' });
  }
}
export const proxySchema = z
  .union([
    // A string refined to "none" rather than a literal: an object then fails this branch on its type, so zod reports
    // the object branch's own issues (proxy.url, proxy.auth…) instead of one vague union error.
    z.string().refine((text) => text === 'none', 'must be "none" or { url: http://host:port, auth: { username, secret } }').meta({ description: '"none": no proxy, whatever HTTPS_PROXY says', enum: ['none'] }),
    z.strictObject({
      url: z.string().superRefine(checkProxyUrl).describe('http://host:port of the proxy'),
      auth: z
        .strictObject({
          username: z.string().min(1),
          secret: secretRef.describe('the proxy password, sent only as Proxy-Authorization of the CONNECT'),
        })
        .optional()
        .describe('basic proxy authentication'),
    }),
  ])
  .describe('HTTP CONNECT proxy for https:// connections, or "none"; unset: HTTPS_PROXY / NO_PROXY from the environment');
export type ProxyConfig = z.infer<typeof proxySchema>;
const probeUrl = z.string().superRefine(checkProbeUrl).describe('https base URL of the Jira site, e.g. https://acme.atlassian.net');
/** An http(s) URL without user:password@ (Alertmanager, dashboard links): the URL is stored and shown, so no credentials. */
function checkServiceUrl(value: string, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a valid URL' });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain user:password@ (it would be stored and shown)' });
}
const serviceUrl = z.string().superRefine(checkServiceUrl).describe('http(s) URL');
/** Where a secret is sent (the oauth2 token endpoint): the same rules as a Jira URL. */
const secretReceivingUrl = z.string().superRefine(checkProbeUrl).describe('https URL (http only to a loopback address)');

const basicAuth = z.strictObject({
  type: z.literal('basic'),
  username: z.string().min(1).describe('Cloud: the account email; Data Center: the username'),
  secret: secretRef.describe('Cloud: the API token; Data Center: the password'),
  expiresAt: z.iso.date().optional().describe('when this token expires (YYYY-MM-DD)'),
});
const bearerAuth = z.strictObject({
  type: z.literal('bearer'),
  secret: secretRef.describe('the token sent as "Authorization: Bearer <secret>"'),
  expiresAt: z.iso.date().optional(),
});
const headerAuth = z.strictObject({
  type: z.literal('header'),
  secret: secretRef.describe('the whole Authorization header value, exactly as the integration sends it'),
  expiresAt: z.iso.date().optional(),
});
const oauth2Auth = z.strictObject({
  type: z.literal('oauth2'),
  tokenUrl: secretReceivingUrl.describe('client-credentials token endpoint, e.g. https://auth.atlassian.com/oauth/token'),
  clientId: z.string().min(1),
  clientSecret: secretRef,
  scope: z.string().optional(),
  audience: z.string().optional(),
  expiresAt: z.iso.date().optional(),
});
export const authSchema = z.discriminatedUnion('type', [basicAuth, bearerAuth, headerAuth, oauth2Auth]);
export type AuthConfig = z.infer<typeof authSchema>;
export type AuthType = AuthConfig['type'];

const expectSchema = z
  .strictObject({
    accountId: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    email: z.string().min(1).optional(),
  })
  .describe('who the credentials must authenticate as');

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['connection', 'url', 'deployment', 'auth_type', 'instance', 'job']);
const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const key of Object.keys(labels)) {
    if (!LABEL_NAME.test(key) || key.startsWith('__')) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'label names must match [a-zA-Z_][a-zA-Z0-9_]*' });
    } else if (RESERVED_LABELS.has(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is reserved by authwatch's metrics; choose another label name` });
    }
  }
});

const probeSettings = {
  schedule: schedule.optional(),
  timeout: positiveDuration.optional().describe('per-phase timeout of a probe'),
  failureThreshold: z.number().int().min(1).optional().describe('consecutive failures before a state change'),
  recoveryThreshold: z.number().int().min(1).optional().describe('consecutive successes before recovered'),
  tls: tlsOptions.optional(),
  proxy: proxySchema.optional(),
};

export const connectionSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/, 'must use only a-z, 0-9, _ and -').max(100),
  url: probeUrl,
  deployment: z.enum(['cloud', 'datacenter']).optional().describe('inferred for *.atlassian.net and api.atlassian.com'),
  path: z.string().regex(/^\//, 'must start with /').optional(),
  auth: authSchema,
  expect: expectSchema.optional(),
  labels: labelsSchema.optional(),
  ...probeSettings,
});
export type ConnectionConfig = z.infer<typeof connectionSchema>;

// Slack: a default destination and label routes, each an incoming webhook or a channel posted to with the app token.
const slackChannel = z.string().regex(/^[#A-Za-z0-9_.-]+$/, 'must be a channel ID such as C0123ABCDEF (or #name)').describe('channel posted to with the Web API (needs alerting.slack.token)');
const slackRoute = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/, 'must use only a-z, 0-9, _ and -').max(100).describe('names the destination in logs and the outbox'),
  match: z.record(z.string(), z.string()).refine((labels) => Object.keys(labels).length > 0, 'must name at least one label, e.g. { team: crm }').describe('connection labels that must all be equal'),
  webhookUrl: secretRef.optional().describe('incoming webhook URL of this destination'),
  channel: slackChannel.optional(),
});
const slackSchema = z
  .strictObject({
    webhookUrl: secretRef.optional().describe('incoming webhook URL of the default destination (a secret)'),
    channel: slackChannel.optional(),
    token: secretRef.optional().describe('Slack app (bot) token xoxb-…, for destinations with a channel'),
    apiUrl: secretReceivingUrl.optional().describe('Slack Web API base URL (default https://slack.com/api)'),
    groupWindow: duration.optional().describe('incidents with the same cause opening within this window share one message (0: off)'),
    routes: z.array(slackRoute).optional().describe('first route whose match equals the connection labels wins; else the default destination'),
  })
  .superRefine((slack, ctx) => {
    const exactlyOne = (destination: { webhookUrl?: unknown; channel?: unknown }, path: (string | number)[], what: string) => {
      if (destination.webhookUrl !== undefined && destination.channel !== undefined) {
        ctx.addIssue({ code: 'custom', path, message: `${what} has both webhookUrl and channel; give one` });
      } else if (destination.webhookUrl === undefined && destination.channel === undefined) {
        ctx.addIssue({ code: 'custom', path, message: `${what} needs webhookUrl (an incoming webhook) or channel (with alerting.slack.token)` });
      }
    };
    exactlyOne(slack, [], 'the default Slack destination (for connections no route matches)');
    const names = new Map<string, number>();
    (slack.routes ?? []).forEach((route, index) => {
      exactlyOne(route, ['routes', index], `route "${route.name}"`);
      const first = names.get(route.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['routes', index, 'name'], message: `duplicate route name "${route.name}" (first used by routes[${first}])` });
      else names.set(route.name, index);
      if (route.name === 'default') ctx.addIssue({ code: 'custom', path: ['routes', index, 'name'], message: '"default" names the default destination; choose another route name' });
    });
    const usesChannel = slack.channel !== undefined || (slack.routes ?? []).some((route) => route.channel !== undefined);
    if (usesChannel && slack.token === undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'a destination with channel posts with the Web API: set token to the Slack app token (e.g. { env: SLACK_BOT_TOKEN })' });
  });

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        listen: z
          .string()
          .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9477')
          .refine((text) => Number(text.slice(text.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0 to 65535')
          .optional(),
      })
      .optional(),
    storage: z
      .strictObject({
        path: z.string().min(1).optional(),
        retention: positiveDuration.optional().describe('raw probe rows older than this are pruned, once rolled up into hourly summaries (default 7d)'),
        rollupRetention: positiveDuration.optional().describe('hourly summaries (probes per outcome, latency, time in each state) older than this are pruned (default 400d)'),
      })
      .optional(),
    metrics: z
      .strictObject({ detail: z.boolean().optional().describe('per-probe detail series per connection (HTTP status, phases, cipher, leaf certificate)') })
      .optional(),
    defaults: z.strictObject(probeSettings).optional(),
    alerting: z
      .strictObject({
        slack: slackSchema.optional(),
        alertmanager: z.strictObject({ urls: z.array(serviceUrl).min(1) }).optional(),
        reminderInterval: duration.optional(),
        certExpiryWarning: duration.optional(),
        tokenExpiryWarning: duration.optional(),
        dashboardUrl: serviceUrl.optional(),
      })
      .optional(),
    connections: z.array(connectionSchema).default([]),
  })
  .describe('authwatch configuration');
export type RawConfig = z.infer<typeof configSchema>;

/** Duplicate names are checked on the raw input so they are reported together with every other problem. */
export function duplicateNameIssues(raw: unknown): { path: (string | number)[]; message: string }[] {
  const connections = (raw as { connections?: unknown } | null)?.connections;
  if (!Array.isArray(connections)) return [];
  const seen = new Map<string, number>();
  const issues: { path: (string | number)[]; message: string }[] = [];
  connections.forEach((connection, index) => {
    const name = (connection as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, index);
    else issues.push({ path: ['connections', index, 'name'], message: `duplicate connection name "${name}" (first used by connections[${first}])` });
  });
  return issues;
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
