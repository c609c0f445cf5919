// Reads the YAML config, validates it against the schema and resolves defaults per connection.
// Every problem is reported at once with its YAML path and line; secrets are not read here
// (they are read at probe time, so a missing one is an outcome, not a config error).
import { accessSync, constants, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, duplicateNameIssues, type AuthConfig, type RawConfig, type SecretRef } from './schema.js';
import { parseDuration } from './duration.js';

export const DEFAULT_CONFIG_PATH = '/etc/authwatch/authwatch.yaml';

export type Deployment = 'cloud' | 'datacenter';
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface ConnectionTls {
  minVersion: TlsVersion;
  maxVersion: TlsVersion | null;
  caFile: string | null;
  serverName: string | null;
}

export interface Connection {
  name: string;
  /** Base URL without a trailing slash. */
  url: string;
  deployment: Deployment;
  path: string;
  /** url + path: what is probed. */
  probeUrl: string;
  auth: AuthConfig;
  expect: { accountId?: string; username?: string; email?: string } | null;
  labels: Record<string, string>;
  schedule: string;
  timeoutMs: number;
  failureThreshold: number;
  recoveryThreshold: number;
  tls: ConnectionTls;
  /** auth.expiresAt as an ISO date, or null. */
  tokenExpiresAt: string | null;
}

export interface AlertingConfig {
  slack: { webhookUrl: SecretRef } | null;
  alertmanager: { urls: string[] } | null;
  reminderIntervalMs: number;
  certExpiryWarningMs: number;
  tokenExpiryWarningMs: number;
  dashboardUrl: string | null;
}

export interface Config {
  /** The file it came from, for reloads and messages. */
  source: string;
  listen: { host: string; port: number };
  storage: { path: string; retentionMs: number };
  /** Optional so configs built in code need not say it; loadConfigFile always sets it. */
  metrics?: { detail: boolean };
  alerting: AlertingConfig;
  connections: Connection[];
  /** Accepted but worth saying at start (e.g. literal secrets). Never contain a secret. */
  warnings: string[];
}

export interface ConfigIssue {
  /** YAML path, e.g. connections[1].auth.type */
  path: string;
  line: number | null;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  readonly source: string;
  constructor(source: string, issues: ConfigIssue[]) {
    super(`${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the config`);
    this.name = 'ConfigError';
    this.source = source;
    this.issues = issues;
  }

  /** One line per problem: `file:line: path: message`. */
  describe(): string {
    return this.issues
      .map((issue) => `${this.source}${issue.line ? `:${issue.line}` : ''}: ${issue.path || '(top level)'}: ${issue.message}`)
      .join('\n');
  }
}

export const BUILT_IN_DEFAULTS = {
  listen: '127.0.0.1:9477',
  storagePath: '/var/lib/authwatch/authwatch.db',
  retention: '90d',
  schedule: '*/5 * * * *',
  timeout: '15s',
  failureThreshold: 2,
  recoveryThreshold: 1,
  minTlsVersion: 'TLSv1.2' as TlsVersion,
  certExpiryWarning: '14d',
  tokenExpiryWarning: '14d',
};

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(path, [{ path: '', line: null, message: `cannot read the config: ${reason} (use --config PATH or AUTHWATCH_CONFIG)` }]);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, source = '<config>'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((error) => ({
        path: '',
        line: error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line,
        message: `YAML syntax: ${error.message.split('\n')[0]}`,
      })),
    );
  }
  const input = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(input);
  const duplicates = duplicateNameIssues(input).map((issue) => ({
    path: formatPath(issue.path),
    line: lineOf(doc, lineCounter, issue.path),
    message: issue.message,
  }));
  if (!parsed.success || duplicates.length > 0) {
    const schemaIssues = parsed.success ? [] : parsed.error.issues.flatMap((issue) => describeIssue(issue, doc, lineCounter));
    const issues = [...schemaIssues, ...duplicates];
    throw new ConfigError(source, issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  }
  return resolveConfig(parsed.data, source);
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const path = issue.path as (string | number)[];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...path, key]),
      line: lineOf(doc, lineCounter, [...path, key], true),
      message: `unknown key "${key}"`,
    }));
  }
  const present = doc.getIn(path) !== undefined;
  let message = issue.message;
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    message = present ? 'must be one of basic, bearer, header, oauth2' : 'is required (basic, bearer, header or oauth2)';
  } else if (!present && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    message = 'is required';
  } else if (issue.code === 'invalid_union') {
    const key = path[path.length - 1];
    message = DURATION_KEYS.has(String(key))
      ? 'must be a duration such as 500ms, 15s, 5m, 1h or 14d'
      : 'must be { env: NAME }, { file: PATH } or a string';
  }
  return [{ path: formatPath(path), line: lineOf(doc, lineCounter, path), message }];
}

const DURATION_KEYS = new Set(['timeout', 'retention', 'reminderInterval', 'certExpiryWarning', 'tokenExpiryWarning']);

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

/** Line of the deepest node on the path that exists in the YAML (the key itself when asked). */
function lineOf(doc: Document, lineCounter: LineCounter, path: (string | number)[], keyLine = false): number | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    if (keyLine || depth < path.length) {
      const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : prefix.length === 1 ? doc.contents : null;
      const pair = findPair(parent, prefix[prefix.length - 1]);
      if (pair) return lineCounter.linePos(pair).line;
    }
    const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return null;
}

function findPair(parent: unknown, key: string | number | undefined): number | null {
  if (key === undefined || !parent || typeof parent !== 'object' || !('items' in parent)) return null;
  for (const item of (parent as { items: unknown[] }).items) {
    if (item && typeof item === 'object' && 'key' in item) {
      const keyNode = (item as { key: unknown }).key;
      if (isNode(keyNode) && (keyNode as { value?: unknown }).value === key && keyNode.range) return keyNode.range[0];
    }
  }
  return null;
}

function inferDeployment(url: URL): Deployment {
  return url.hostname.endsWith('.atlassian.net') || url.hostname === 'api.atlassian.com' ? 'cloud' : 'datacenter';
}

function resolveConfig(raw: RawConfig, source: string): Config {
  const defaults = raw.defaults ?? {};
  const warnings: string[] = [];
  const listenText = raw.server?.listen ?? BUILT_IN_DEFAULTS.listen;
  const portAt = listenText.lastIndexOf(':');
  const listen = { host: listenText.slice(0, portAt).replace(/^\[|\]$/g, ''), port: Number(listenText.slice(portAt + 1)) };

  const connections = raw.connections.map((entry): Connection => {
    const url = new URL(entry.url);
    const deployment = entry.deployment ?? inferDeployment(url);
    const base = entry.url.replace(/\/+$/, '');
    const path = entry.path ?? (deployment === 'cloud' ? '/rest/api/3/myself' : '/rest/api/2/myself');
    for (const [field, ref] of secretsOf(entry.auth)) {
      if (typeof ref === 'string') {
        warnings.push(`connection ${entry.name}: auth.${field} is a literal in the config file; prefer { env: NAME } or { file: PATH }`);
      }
    }
    const tls = { ...defaults.tls, ...entry.tls };
    if (tls.caFile) {
      try {
        accessSync(tls.caFile, constants.R_OK);
      } catch (error) {
        warnings.push(`connection ${entry.name}: tls.caFile ${tls.caFile} is not readable (${(error as NodeJS.ErrnoException).code ?? 'error'}): its probes will fail until it is`);
      }
    }
    return {
      name: entry.name,
      url: base,
      deployment,
      path,
      probeUrl: base + path,
      auth: entry.auth,
      expect: entry.expect ?? null,
      labels: entry.labels ?? {},
      schedule: entry.schedule ?? defaults.schedule ?? BUILT_IN_DEFAULTS.schedule,
      timeoutMs: parseDuration(entry.timeout ?? defaults.timeout ?? BUILT_IN_DEFAULTS.timeout),
      failureThreshold: entry.failureThreshold ?? defaults.failureThreshold ?? BUILT_IN_DEFAULTS.failureThreshold,
      recoveryThreshold: entry.recoveryThreshold ?? defaults.recoveryThreshold ?? BUILT_IN_DEFAULTS.recoveryThreshold,
      tls: {
        minVersion: tls.minVersion ?? BUILT_IN_DEFAULTS.minTlsVersion,
        maxVersion: tls.maxVersion ?? null,
        caFile: tls.caFile ?? null,
        serverName: tls.serverName ?? null,
      },
      tokenExpiresAt: entry.auth.expiresAt ?? null,
    };
  });

  const alerting = raw.alerting ?? {};
  if (typeof alerting.slack?.webhookUrl === 'string') {
    warnings.push('alerting.slack.webhookUrl is a literal in the config file; prefer { env: NAME } or { file: PATH }');
  }
  return {
    source,
    listen,
    storage: {
      path: raw.storage?.path ?? BUILT_IN_DEFAULTS.storagePath,
      retentionMs: parseDuration(raw.storage?.retention ?? BUILT_IN_DEFAULTS.retention),
    },
    metrics: { detail: raw.metrics?.detail ?? false },
    alerting: {
      slack: alerting.slack ?? null,
      alertmanager: alerting.alertmanager ?? null,
      reminderIntervalMs: parseDuration(alerting.reminderInterval ?? 0),
      certExpiryWarningMs: parseDuration(alerting.certExpiryWarning ?? BUILT_IN_DEFAULTS.certExpiryWarning),
      tokenExpiryWarningMs: parseDuration(alerting.tokenExpiryWarning ?? BUILT_IN_DEFAULTS.tokenExpiryWarning),
      dashboardUrl: alerting.dashboardUrl ?? null,
    },
    connections,
    warnings,
  };
}

/** The secret references of an auth block, with the field they sit in. */
export function secretsOf(auth: AuthConfig): [string, SecretRef][] {
  return auth.type === 'oauth2' ? [['clientSecret', auth.clientSecret]] : [['secret', auth.secret]];
}
