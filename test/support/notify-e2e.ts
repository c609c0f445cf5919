// Shared setup for the notification e2e tests (test/e2e/notify*.test.ts, test-alert.test.ts): a config file
// pointing the built daemon at the simulated Jira and a Slack mock / Alertmanager, and readers for what a
// user would look at afterwards (Slack messages, /metrics, the outbox table).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { validateSlackPayload } from '../../src/notify/slack/render.js';
import { openStore, type OutboxCounts } from '../../src/store/store.js';
import { eventually } from './cli.js';
import { SLACK_WEBHOOK_PATH, type RecordedRequest } from './slack-mock.js';
import type { JiraFixture } from './jira-fixture.js';

export const EVERY_SECOND = '*/1 * * * * *';

export interface ConnectionSpec {
  name: string;
  url: string;
  username: string;
  /** { env: NAME } or { file: PATH }. */
  secret: Record<string, string>;
  /** Default { team: 'crm' }. */
  labels?: Record<string, string>;
}

export interface ConfigSpec {
  dir: string;
  /** The simulated Jira's CA (connections' tls.caFile). */
  caFile?: string;
  connections: ConnectionSpec[];
  /** The env variable holding the Slack webhook URL; omitted: no Slack. */
  slackEnv?: string;
  alertmanagerUrls?: string[];
  reminderInterval?: string;
  /** Default: authwatch.db in dir. */
  databasePath?: string;
  configName?: string;
  /** alerting.slack as written (instead of slackEnv): routes, channel, token, apiUrl, groupWindow. */
  slack?: Record<string, unknown>;
}

/** Writes the config (JSON is YAML) and returns its path. Cloud connections, basic auth, probed every second, thresholds of 1. */
export function writeConfig(spec: ConfigSpec): string {
  const alerting: Record<string, unknown> = { reminderInterval: spec.reminderInterval ?? '0' };
  if (spec.slackEnv) alerting.slack = { webhookUrl: { env: spec.slackEnv } };
  if (spec.slack) alerting.slack = spec.slack;
  if (spec.alertmanagerUrls) alerting.alertmanager = { urls: spec.alertmanagerUrls };
  const config = {
    server: { listen: '127.0.0.1:0' },
    storage: { path: spec.databasePath ?? join(spec.dir, 'authwatch.db') },
    defaults: { schedule: EVERY_SECOND, timeout: '5s', failureThreshold: 1, recoveryThreshold: 1, ...(spec.caFile ? { tls: { caFile: spec.caFile } } : {}) },
    alerting,
    connections: spec.connections.map((connection) => ({
      name: connection.name,
      url: connection.url,
      deployment: 'cloud',
      auth: { type: 'basic', username: connection.username, secret: connection.secret },
      labels: connection.labels ?? { team: 'crm' },
    })),
  };
  const path = join(spec.dir, spec.configName ?? 'authwatch.yaml');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-notify-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh Cloud tenant on the fixture's Jira, and the connection that authenticates as it with its API token from `env`. */
export function cloudTenant(fixture: JiraFixture, name: string): { tenant: string; connection: ConnectionSpec; env: Record<string, string>; token: string } {
  const tenant = fixture.tenant({ deployment: 'cloud', name: `${name}-${randomBytes(3).toString('hex')}` });
  const snapshot = fixture.jira.tenant(tenant);
  const variable = `AUTHWATCH_E2E_TOKEN_${randomBytes(4).toString('hex').toUpperCase()}`;
  return {
    tenant,
    token: snapshot.credentials.apiToken,
    env: { [variable]: snapshot.credentials.apiToken },
    connection: { name, url: fixture.jira.tenantUrl(tenant), username: snapshot.user.emailAddress, secret: { env: variable } },
  };
}

/** Every text a Slack user would read in the message: the fallback and every block's text, joined by newlines. */
export function slackText(body: unknown): string {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') texts.push(inner);
        else walk(inner);
      }
    }
  };
  walk(body);
  return texts.join('\n');
}

/** Slack would accept every message the mock received (Block Kit limits and shape). */
export function assertValidSlackPayloads(requests: readonly RecordedRequest[]): void {
  for (const request of requests) assert.deepEqual(validateSlackPayload(request.body), [], `invalid Slack payload: ${JSON.stringify(request.body)}`);
}

/** The webhook URL, its path and its secret last segment appear nowhere in `text`. */
export function assertNoWebhook(text: string, webhookUrl: string): void {
  const token = SLACK_WEBHOOK_PATH.split('/').pop()!;
  for (const part of [webhookUrl, SLACK_WEBHOOK_PATH, token, 'B0NOTIFIER', 'T0AUTHWATCH']) {
    assert.ok(!text.includes(part), `output contains part of the webhook URL (${part})`);
  }
}

export async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** The value of one series in Prometheus text format (labels matched as a subset), or null when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1], label[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return null;
}

/** How many probes of each connection the daemon's database holds (read-only, safe while the daemon runs). */
export function storedProbeCounts(databasePath: string, connections: readonly string[]): number[] {
  const db = new Database(databasePath, { readonly: true });
  try {
    const count = db.prepare('SELECT count(*) AS n FROM probe_history WHERE connection = ?');
    return connections.map((name) => (count.get(name) as { n: number }).n);
  } finally {
    db.close();
  }
}

/**
 * Instead of sleeping to see that nothing more is sent: waits until the daemon has stored `more` further probes of
 * each connection (counted from now), then returns the outbox as it is at that point. A probe is stored in one
 * transaction with every notification its cycle planned, so by then the outbox holds whatever those cycles and
 * every earlier one enqueued, delivered or not: a message that should not exist shows there as a row.
 */
export async function outboxAfterMoreProbes(databasePath: string, connections: readonly string[], more: number, timeoutMs = 30_000): Promise<OutboxCounts> {
  const targets = storedProbeCounts(databasePath, connections).map((count) => count + more);
  await eventually(() => storedProbeCounts(databasePath, connections).every((count, index) => count >= targets[index]), timeoutMs);
  return outboxCounts(databasePath);
}

/** The outbox as the daemon's database holds it (read-only, safe while the daemon runs). */
export function outboxCounts(databasePath: string): OutboxCounts {
  const store = openStore(databasePath, { readonly: true });
  try {
    return store.outboxCounts();
  } finally {
    store.close();
  }
}
