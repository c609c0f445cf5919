// A temporary directory holding an authwatch config (YAML) and its database, for tests that run the built daemon:
// connection entries pointed at the simulated Jira, rewrites for SIGHUP, and small readers of what the daemon exposes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { JiraMock } from './jira-mock.js';

/** A 6-field node-cron schedule: a probe every second. */
export const EVERY_SECOND = '*/1 * * * * *';

export interface DaemonConfigSpec {
  connections: Record<string, unknown>[];
  /** Merged over { schedule: EVERY_SECOND, timeout: 5s, failureThreshold: 2 }. */
  defaults?: Record<string, unknown>;
  alerting?: Record<string, unknown>;
  /** Default 127.0.0.1:0 (a free port, announced in the "authwatch started" log line). */
  listen?: string;
  retention?: string;
  /** The config's `metrics` section, e.g. { detail: true }. */
  metrics?: Record<string, unknown>;
}

export interface DaemonWorkspace {
  dir: string;
  configPath: string;
  dbPath: string;
  /** Writes the config file from a spec (storage.path is always this workspace's database). */
  write(spec: DaemonConfigSpec): void;
  /** Writes the config file verbatim (for invalid configs). */
  writeRaw(text: string): void;
  cleanup(): void;
}

export function configYaml(spec: DaemonConfigSpec, dbPath: string): string {
  const document: Record<string, unknown> = {
    server: { listen: spec.listen ?? '127.0.0.1:0' },
    storage: { path: dbPath, ...(spec.retention ? { retention: spec.retention } : {}) },
    defaults: { schedule: EVERY_SECOND, timeout: '5s', failureThreshold: 2, ...spec.defaults },
    ...(spec.alerting ? { alerting: spec.alerting } : {}),
    ...(spec.metrics ? { metrics: spec.metrics } : {}),
    connections: spec.connections,
  };
  return stringify(document);
}

export function daemonWorkspace(prefix = 'authwatch-e2e-'): DaemonWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const configPath = join(dir, 'authwatch.yaml');
  const dbPath = join(dir, 'authwatch.db');
  return {
    dir,
    configPath,
    dbPath,
    write: (spec) => writeFileSync(configPath, configYaml(spec, dbPath)),
    writeRaw: (text) => writeFileSync(configPath, text),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type JiraAuth = 'cloud-basic' | 'dc-basic' | 'dc-pat';

/**
 * A connection entry for one simulated Jira tenant, trusting the fixture's CA. `secret` is the reference the
 * daemon reads the credential from (`{ env: NAME }` or `{ file: PATH }`); the username comes from the tenant.
 */
export function jiraConnection(
  server: JiraMock,
  tenant: string,
  options: { name: string; auth: JiraAuth; secret: Record<string, string>; caFile: string; extra?: Record<string, unknown> },
): Record<string, unknown> {
  const { user } = server.tenant(tenant);
  const auth =
    options.auth === 'cloud-basic'
      ? { type: 'basic', username: user.emailAddress, secret: options.secret }
      : options.auth === 'dc-basic'
        ? { type: 'basic', username: user.name, secret: options.secret }
        : { type: 'bearer', secret: options.secret };
  return {
    name: options.name,
    url: server.tenantUrl(tenant),
    deployment: options.auth === 'cloud-basic' ? 'cloud' : 'datacenter',
    auth,
    tls: { caFile: options.caFile },
    ...options.extra,
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of one metric whose labels include `labels`. */
export function samplesOf(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

/** The value of the one sample matching, or undefined when there is none (throws when several match). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(samples, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

export async function fetchText(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

export async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function scrape(daemonUrl: string): Promise<{ text: string; samples: Sample[] }> {
  const { status, text } = await fetchText(`${daemonUrl}/metrics`);
  if (status !== 200) throw new Error(`GET /metrics: ${status}`);
  return { text, samples: parseMetrics(text) };
}
