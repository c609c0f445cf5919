// Reads the YAML config, validates it against the schema and resolves defaults per connection.
// Every problem is reported at once with its YAML path and line; secrets are not read here
// (they are read at probe time, so a missing one is an outcome, not a config error).
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { configSchema, duplicateNameIssues, type AuthConfig, type ProxyConfig, type RawConfig, type SecretRef } from './schema.js';
import { parseDuration } from './duration.js';
import { yamlSyntaxMessage } from './explain.js';
import { describeIssues, emptyConnectionsIssues, firstAliasLine, formatPath, lineOf, storagePathIssues, storagePathProblem } from './issues.js';
export { storagePathProblem };

export const DEFAULT_CONFIG_PATH = '/etc/authwatch/authwatch.yaml';

export type Deployment = 'cloud' | 'datacenter';
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface ConnectionTls {
  minVersion: TlsVersion;
  maxVersion: TlsVersion | null;
  caFile: string | null;
  serverName: string | null;
  /** Client certificate (mutual TLS): PEM files, read when the probe's TLS context is built. */
  certFile?: string | null;
  keyFile?: string | null;
  passphrase?: SecretRef | null;
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
  /** The configured proxy, 'none', or null when unset (then HTTPS_PROXY / NO_PROXY of the environment decide). */
  proxy?: ProxyConfig | null;
  /** auth.expiresAt as an ISO date, or null. */
  tokenExpiresAt: string | null;
}

/** alerting.slack: the default destination (webhookUrl or channel), label routes, Web API settings, grouping. */
export interface SlackConfig {
  webhookUrl?: SecretRef;
  channel?: string;
  token?: SecretRef;
  /** Default https://slack.com/api. */
  apiUrl?: string;
  /** 0 or absent: no grouping, every incident notifies on its own at once. */
  groupWindowMs?: number;
  routes?: { name: string; match: Record<string, string>; webhookUrl?: SecretRef; channel?: string }[];
}

type RawAlerting = NonNullable<RawConfig['alerting']>;
/** The keys of alerting that are settings of their own; every other key is a notification channel's section. */
type AlertingSetting = 'slack' | 'reminderInterval' | 'certExpiryWarning' | 'tokenExpiryWarning' | 'dashboardUrl';
/**
 * The channel sections passed on as validated (Slack's is normalised below), absent or null when not configured:
 * a new channel's section in schema.ts needs nothing here.
 */
export type ChannelSections = { [K in Exclude<keyof RawAlerting, AlertingSetting>]?: NonNullable<RawAlerting[K]> | null };

export interface AlertingConfig extends ChannelSections {
  slack: SlackConfig | null;
  reminderIntervalMs: number;
  certExpiryWarningMs: number;
  tokenExpiryWarningMs: number;
  dashboardUrl: string | null;
}

export interface Config {
  /** The file it came from, for reloads and messages. */
  source: string;
  listen: { host: string; port: number };
  /** retentionMs: raw probes (and delivered notifications); rollupRetentionMs: the hourly roll-ups. */
  storage: { path: string; retentionMs: number; rollupRetentionMs: number };
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
      .map((issue) => `${this.source}${issue.line ? `:${issue.line}` : ''}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`)
      .join('\n');
  }
}

export const BUILT_IN_DEFAULTS = {
  listen: '127.0.0.1:9477',
  storagePath: '/var/lib/authwatch/authwatch.db',
  retention: '7d',
  rollupRetention: '400d',
  schedule: '*/5 * * * *',
  timeout: '15s',
  failureThreshold: 2,
  recoveryThreshold: 1,
  minTlsVersion: 'TLSv1.2' as TlsVersion,
  certExpiryWarning: '14d',
  tokenExpiryWarning: '14d',
};

/** Larger than any real config (10 000 connections are about 2.5 MB): a bigger file is the wrong file. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export function loadConfigFile(path: string): Config {
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) {
      throw new ConfigError(path, [{ path: '', line: null, message: `the config is ${(size / 1024 / 1024).toFixed(0)} MiB, more than the ${MAX_CONFIG_BYTES / 1024 / 1024} MiB authwatch reads: is --config the right file?` }]);
    }
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'it is a directory, not a file' : (error as Error).message;
    throw new ConfigError(path, [{ path: '', line: null, message: `cannot read the config: ${reason} (use --config PATH or AUTHWATCH_CONFIG)` }]);
  }
  return parseConfigText(decodeConfig(bytes, path), path);
}

/** The file's text, or a ConfigError at the line of the first byte that is not UTF-8. */
function decodeConfig(bytes: Buffer, source: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new ConfigError(source, [{ path: '', line: 1, message: 'the config is UTF-16: save it as UTF-8' }]);
  }
  if (isUtf8(bytes)) return bytes.toString('utf8');
  const text = bytes.toString('utf8');
  const at = text.indexOf('\uFFFD');
  const offset = Buffer.byteLength(text.slice(0, at));
  const line = text.slice(0, at).split('\n').length;
  const byte = bytes[offset].toString(16).toUpperCase().padStart(2, '0');
  throw new ConfigError(source, [
    { path: '', line, message: `byte 0x${byte} is not UTF-8: save the config as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE)` },
  ]);
}

export function parseConfigText(text: string, source = '<config>'): Config {
  const valid = validConfigQuickly(text);
  return resolveConfig(valid ?? validConfigWithPositions(text, source), source);
}

/**
 * A valid config, read with js-yaml (YAML 1.2 core schema, as `yaml` reads it, aliases refused): ~10x faster than
 * `yaml`'s Document and a fifth of its memory, which is seconds and 100+ MiB at 10,000 connections. Anything it
 * cannot take without doubt (a syntax error, an alias, a schema issue, an empty or unusable setting) gives null,
 * and the file is read again by validConfigWithPositions, which says what is wrong and on which line.
 */
export function validConfigQuickly(text: string): RawConfig | null {
  let input: unknown;
  try {
    input = loadYaml(text, { schema: CORE_SCHEMA, maxAliases: 0 }) ?? {};
  } catch {
    return null;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success || duplicateNameIssues(input).length > 0) return null;
  if (!Array.isArray(parsed.data.connections) || parsed.data.connections.length === 0) return null;
  const path = parsed.data.storage?.path;
  if (path !== undefined && storagePathProblem(path, false) !== null) return null;
  return parsed.data;
}

/** The config read with `yaml`'s Document, whose node positions give each problem its line; throws ConfigError. */
export function validConfigWithPositions(text: string, source = '<config>'): RawConfig {
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new ConfigError(source, [{ path: '', line: null, message: yamlSyntaxMessage('', (error as Error).message, '') }]);
  }
  if (doc.errors.length > 0) {
    // Only the first: the rest of a cascade describes the parser's confusion, not the file.
    const [error] = doc.errors;
    const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
    const lineText = text.split('\n')[line - 1] ?? '';
    throw new ConfigError(source, [{ path: '', line, message: yamlSyntaxMessage(error.code, error.message, lineText) }]);
  }
  let input: unknown;
  try {
    input = doc.toJS() ?? {};
  } catch (error) {
    // yaml refuses aliases that expand to too much (a "billion laughs" file) with a ReferenceError.
    throw new ConfigError(source, [
      {
        path: '',
        line: firstAliasLine(doc, lineCounter),
        message: `YAML aliases expand to too much (${(error as Error).message}): authwatch's config needs no anchors or aliases; write the values out`,
      },
    ]);
  }
  const parsed = configSchema.safeParse(input);
  const duplicates = duplicateNameIssues(input).map((issue) => ({
    path: formatPath(issue.path),
    line: lineOf(doc, lineCounter, issue.path),
    message: issue.message,
  }));
  const extra = [...duplicates, ...emptyConnectionsIssues(input, doc, lineCounter)];
  if (parsed.success) extra.push(...storagePathIssues(parsed.data.storage?.path, doc, lineCounter));
  if (!parsed.success || extra.length > 0) {
    const schemaIssues = parsed.success ? [] : describeIssues(parsed.error.issues, input, doc, lineCounter);
    const issues = [...schemaIssues, ...extra];
    throw new ConfigError(source, issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  }
  return parsed.data;
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
    const proxy = entry.proxy ?? defaults.proxy;
    if (typeof proxy === 'object' && url.protocol === 'http:') {
      warnings.push(`connection ${entry.name}: proxy is not used for an http:// url (the proxy would see the credentials in clear)`);
    }
    if (typeof proxy === 'object' && typeof proxy.auth?.secret === 'string') {
      warnings.push(`connection ${entry.name}: proxy.auth.secret is a literal in the config file; prefer { env: NAME } or { file: PATH }`);
    }
    if (typeof tls.passphrase === 'string') {
      warnings.push(`connection ${entry.name}: tls.passphrase is a literal in the config file; prefer { env: NAME } or { file: PATH }`);
    }
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
        certFile: tls.certFile ?? null,
        keyFile: tls.keyFile ?? null,
        passphrase: tls.passphrase ?? null,
      },
      proxy: entry.proxy ?? defaults.proxy ?? null,
      tokenExpiresAt: entry.auth.expiresAt ?? null,
    };
  });

  const alerting = raw.alerting ?? {};
  if (typeof alerting.slack?.webhookUrl === 'string') {
    warnings.push('alerting.slack.webhookUrl is a literal in the config file; prefer { env: NAME } or { file: PATH }');
  }
  if (typeof alerting.slack?.token === 'string') warnings.push('alerting.slack.token is a literal in the config file; prefer { env: NAME } or { file: PATH }');
  (alerting.slack?.routes ?? []).forEach((route, index) => {
    if (typeof route.webhookUrl === 'string') warnings.push(`alerting.slack.routes[${index}].webhookUrl is a literal in the config file; prefer { env: NAME } or { file: PATH }`);
  });
  const { groupWindow, ...slack } = alerting.slack ?? {};
  const storage = {
    path: raw.storage?.path ?? BUILT_IN_DEFAULTS.storagePath,
    retentionMs: parseDuration(raw.storage?.retention ?? BUILT_IN_DEFAULTS.retention),
    rollupRetentionMs: parseDuration(raw.storage?.rollupRetention ?? BUILT_IN_DEFAULTS.rollupRetention),
  };
  if (storage.rollupRetentionMs < storage.retentionMs) {
    warnings.push('storage.rollupRetention is shorter than storage.retention: the hourly summaries go before the raw probes they summarise, so no history is kept past storage.retention');
  }
  return {
    source,
    listen,
    storage,
    metrics: { detail: raw.metrics?.detail ?? false },
    alerting: {
      ...channelSections(alerting),
      slack: alerting.slack ? { ...slack, groupWindowMs: parseDuration(groupWindow ?? 0) } : null,
      reminderIntervalMs: parseDuration(alerting.reminderInterval ?? 0),
      certExpiryWarningMs: parseDuration(alerting.certExpiryWarning ?? BUILT_IN_DEFAULTS.certExpiryWarning),
      tokenExpiryWarningMs: parseDuration(alerting.tokenExpiryWarning ?? BUILT_IN_DEFAULTS.tokenExpiryWarning),
      dashboardUrl: alerting.dashboardUrl ?? null,
    },
    connections,
    warnings,
  };
}

/** The sections of alerting that are a channel's, as validated, but Slack's (which resolveConfig normalises). */
function channelSections(alerting: RawAlerting): ChannelSections {
  const { slack, reminderInterval, certExpiryWarning, tokenExpiryWarning, dashboardUrl, ...sections } = alerting;
  return sections;
}

/** The secret references of an auth block, with the field they sit in. */
export function secretsOf(auth: AuthConfig): [string, SecretRef][] {
  return auth.type === 'oauth2' ? [['clientSecret', auth.clientSecret]] : [['secret', auth.secret]];
}
