// The status page at 10,000 connections, rendered in Debian's headless Chromium: how long the overview (and a
// connection page) take from navigation to the load event, measured, not asserted.
//
//   npm run build && node dist/bench/status-page.js [--connections 10000] [--runs 7] [--failing-percent 10] [--keep]
//
// A temporary SQLite database is filled the way the daemon fills it: every connection recorded through the store
// (one cycle each, so state rows, incidents and last probes are real), then 24 hours of probe history copied from
// each connection's last probe with SQL: one probe a minute for the failing connections (they lead page 1, so its
// 24-hour strips read production density) and one every 15 minutes for the others. The daemon's own HTTP server
// and read models serve it on 127.0.0.1 (in this process: nothing is probed, so nothing moves while measuring).
// Each page is loaded once to warm up, then `--runs` times; the medians of the Navigation Timing marks are printed
// as a Markdown table for docs/benchmarks.md.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { stateChangedEvent } from '../src/state/events.js';
import { openStore, type Store } from '../src/store/store.js';
import { startHttpServer } from '../src/server/http.js';
import { readModelOverStore, statusReadModelOverStore } from '../src/server/store-read-model.js';
import { advance, initialState } from '../src/state/machine.js';
import { createLogger } from '../src/log/logger.js';
import type { Connection } from '../src/config/load.js';
import type { ProbeObservation } from '../src/probe/observation.js';
import { CHROMIUM_PATH, chromiumMissing, launchChromium } from '../test/support/browser.js';
import { median } from './measure.js';

interface Options {
  connections: number;
  runs: number;
  failingPercent: number;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string', default: '10000' },
      runs: { type: 'string', default: '7' },
      'failing-percent': { type: 'string', default: '10' },
      keep: { type: 'boolean', default: false },
    },
  });
  return { connections: Number(values.connections), runs: Number(values.runs), failingPercent: Number(values['failing-percent']), keep: values.keep };
}

const TEAMS = 40;

function connectionOf(index: number): Connection {
  const name = `conn-${String(index).padStart(5, '0')}`;
  return {
    name,
    url: `https://tenant-${index % 100}.atlassian.net`,
    deployment: index % 2 === 0 ? 'cloud' : 'datacenter',
    path: '/rest/api/3/myself',
    probeUrl: `https://tenant-${index % 100}.atlassian.net/rest/api/3/myself`,
    auth: { type: 'basic', username: 'bot@acme.com', secret: { env: 'TOKEN' } },
    expect: null,
    labels: { team: `team-${index % TEAMS}`, env: index % 3 === 0 ? 'staging' : 'prod' },
    schedule: '* * * * *',
    timeoutMs: 15_000,
    failureThreshold: 1,
    recoveryThreshold: 1,
    tls: { minVersion: 'TLSv1.2', maxVersion: null, caFile: null, serverName: null },
    tokenExpiresAt: null,
  };
}

function observation(connection: Connection, startedAt: string, ok: boolean): ProbeObservation {
  return {
    connection: connection.name,
    startedAt,
    url: connection.probeUrl,
    credential: { status: 'ok', problem: null, fingerprint: 'c0ffee00c0ffee00', findings: [] },
    oauth: null,
    error: null,
    http: {
      status: ok ? 200 : 401,
      contentType: ok ? 'application/json' : 'text/plain',
      headers: ok ? { 'x-arequestid': 'b7d1e2', 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5' } : { 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
      message: ok ? '{"accountId":"5b10ac8d82e05b22cc7d4ef5","active":true}' : 'Basic authentication with passwords is deprecated.',
      json: null,
      bodyBytes: 60,
      bodyTruncated: false,
    },
    identity: ok ? { accountId: '5b10ac8d82e05b22cc7d4ef5', name: null, key: null, emailAddress: 'bot@acme.com', displayName: 'Bot', active: true } : null,
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      subject: 'CN=*.atlassian.net',
      issuer: 'CN=Bench CA',
      sans: ['DNS:*.atlassian.net'],
      serial: '0A1B',
      fingerprint256: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      chainEarliestNotAfter: '2027-01-01T00:00:00.000Z',
      authorized: true,
      authorizationError: null,
    },
    timings: { dns: 0.001, connect: 0.01, tls: 0.02, request: 0.0001, first_byte: 0.1, download: 0.001, total: 0.14 },
  };
}

const MINUTE = 60_000;
const FAILING_FOR_MINUTES = 180;

/** Each connection's recorded cycles: ok a minute ago; or (failing) ok 3 h ago, a 401 that regresses it with an incident, and a 401 a minute ago. */
function seed(store: Store, options: Options, now: number): { failing: string[] } {
  const connections = Array.from({ length: options.connections }, (_, index) => connectionOf(index));
  store.upsertConnections(connections, new Date(now - 26 * 3_600_000));
  const everyNth = Math.max(1, Math.round(100 / options.failingPercent));
  const failing: string[] = [];
  const policy = { failureThreshold: 1, recoveryThreshold: 1, lockoutBackoff: false };
  for (const [index, connection] of connections.entries()) {
    const regresses = index % everyNth === 0;
    if (regresses) failing.push(connection.name);
    const steps: [number, boolean][] = regresses
      ? [[now - (FAILING_FOR_MINUTES + 1) * MINUTE, true], [now - FAILING_FOR_MINUTES * MINUTE, false], [now - MINUTE, false]]
      : [[now - MINUTE, true]];
    let state = initialState();
    for (const [at, ok] of steps) {
      const startedAt = new Date(at).toISOString();
      const { next, change } = advance(state, { outcome: ok ? 'ok' : 'basic_auth_rejected', at: startedAt }, policy);
      const opens = change?.to === 'regressed';
      store.recordCycle({
        observation: observation(connection, startedAt, ok),
        diagnosis: { outcome: ok ? 'ok' : 'basic_auth_rejected', class: ok ? 'ok' : 'auth', detail: ok ? '200 application/json' : '401 text/plain "Basic authentication with passwords is deprecated."' },
        next,
        events: change ? [stateChangedEvent(change)] : [],
        incidents: opens ? [{ action: 'open', kind: 'regressed', event: 0 }] : [],
        outbox: opens ? [{ channel: 'slack', kind: 'open', incident: { index: 0 }, payload: { text: 'regressed' } }] : [],
      });
      state = next;
    }
  }
  return { failing };
}

/**
 * 24 hours of history before each connection's recorded probes, as copies of them: every 15 minutes for the ok
 * connections; every minute for the failing ones (401s back to the regression, ok before it).
 */
function fillHistory(path: string, now: number): number {
  const db = new Database(path);
  try {
    const columns = (db.prepare("SELECT name FROM pragma_table_info('probes') WHERE name NOT IN ('id', 'started_ms')").all() as { name: string }[]).map((row) => row.name);
    const copy = (source: 'last_probe_id' | 'last_ok_probe_id', where: string) =>
      db.prepare(`WITH RECURSIVE minutes(m) AS (SELECT 2 UNION ALL SELECT m + 1 FROM minutes WHERE m < 1439)
        INSERT INTO probes (started_ms, ${columns.join(', ')})
        SELECT @now - m * 60000, ${columns.map((column) => `p.${column}`).join(', ')}
        FROM connection_state s JOIN probes p ON p.id = s.${source} CROSS JOIN minutes WHERE ${where}`);
    const statements = [
      copy('last_probe_id', "s.state = 'ok' AND m % 15 = 0"),
      copy('last_probe_id', `s.state <> 'ok' AND m < ${FAILING_FOR_MINUTES}`),
      copy('last_ok_probe_id', `s.state <> 'ok' AND m > ${FAILING_FOR_MINUTES + 1}`),
    ];
    return db.transaction(() => statements.reduce((sum, statement) => sum + statement.run({ now }).changes, 0))();
  } finally {
    db.close();
  }
}

interface Timing {
  responseStart: number;
  responseEnd: number;
  domContentLoaded: number;
  load: number;
  bytes: number;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const missing = chromiumMissing();
  if (missing) {
    console.error(`authwatch bench: ${missing}`);
    return 2;
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'authwatch-bench-status-'));
  const path = join(dir, 'authwatch.db');
  const now = Date.now();
  const seedStarted = performance.now();
  const store = openStore(path);
  const { failing } = seed(store, options, now);
  const copied = fillHistory(path, now);
  console.error(`seeded ${options.connections} connections (${failing.length} regressed) and ${copied} history probes in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

  const logger = createLogger({ level: 'error' });
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: { render: async () => '', contentType: 'text/plain' },
    readModel: readModelOverStore(store),
    statusPage: statusReadModelOverStore(store),
    isReady: () => true,
    isAlive: () => true,
    logger,
  });
  const browser = await launchChromium({ width: 1000, height: 800 });
  const pages: [string, string][] = [
    ['overview, page 1 (problems first)', '/'],
    ['overview, page 60 (ok connections)', '/?page=60'],
    ['overview, label filter', '/?label=team%3Dteam-7'],
    ['overview, state filter', '/?state=regressed&page=5'],
    ['connection page (regressed, 50 probes)', `/connections/${failing[0]}`],
  ];
  const results: { what: string; path: string; timing: Timing; rows: number }[] = [];
  let refreshMs = Number.NaN;
  try {
    const page = await browser.context.newPage();
    for (const [what, address] of pages) {
      const samples: Timing[] = [];
      let rows = 0;
      for (let run = 0; run <= options.runs; run += 1) {
        await page.goto(`${server.url}${address}`, { waitUntil: 'load' });
        const timing = await page.evaluate(() => {
          const entry = (performance as unknown as { getEntriesByType(type: string): Record<string, number>[] }).getEntriesByType('navigation')[0];
          return {
            responseStart: entry.responseStart - entry.startTime,
            responseEnd: entry.responseEnd - entry.startTime,
            domContentLoaded: entry.domContentLoadedEventEnd - entry.startTime,
            load: entry.loadEventEnd - entry.startTime,
            bytes: entry.transferSize,
          };
        });
        rows = await page.$$eval('table.overview tbody tr, table.history tbody tr', (found) => found.length);
        if (run > 0) samples.push(timing); // run 0 warms up
      }
      const pick = (key: keyof Timing) => median(samples.map((sample) => sample[key])) ?? Number.NaN;
      results.push({ what, path: address, rows, timing: { responseStart: pick('responseStart'), responseEnd: pick('responseEnd'), domContentLoaded: pick('domContentLoaded'), load: pick('load'), bytes: pick('bytes') } });
    }
    // What the in-place refresh does every 15 s on page 1 (as static/status.js does it): fetch, parse, swap, lay out.
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    const swaps: number[] = [];
    for (let run = 0; run <= options.runs; run += 1) {
      const took = await page.evaluate(async () => {
        const started = performance.now();
        const text = await (await fetch('/?fragment=1')).text();
        const doc = globalThis as unknown as {
          DOMParser: new () => { parseFromString(text: string, type: string): { getElementById(id: string): { childNodes: ArrayLike<unknown> } } };
          document: { getElementById(id: string): { replaceChildren(...nodes: unknown[]): void; offsetHeight: number }; importNode(node: unknown, deep: boolean): unknown };
        };
        const next = new doc.DOMParser().parseFromString(text, 'text/html').getElementById('content');
        const content = doc.document.getElementById('content');
        content.replaceChildren(...Array.from(next.childNodes, (node) => doc.document.importNode(node, true)));
        void content.offsetHeight; // forces the layout
        return performance.now() - started;
      });
      if (run > 0) swaps.push(took);
    }
    refreshMs = median(swaps) ?? Number.NaN;
  } finally {
    await browser.close();
    await server.close();
    store.close();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }

  const ms = (value: number) => `${Math.round(value)} ms`;
  console.log(`Status page, ${options.connections} connections, median of ${options.runs} loads after one warm-up, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((load) => load.toFixed(1)).join(' ')}, Chromium at ${CHROMIUM_PATH}`);
  console.log('');
  console.log('| page | URL | rows | first byte | HTML received | DOMContentLoaded | load | transfer |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const { what, path: address, rows, timing } of results) {
    console.log(`| ${what} | \`${address}\` | ${rows} | ${ms(timing.responseStart)} | ${ms(timing.responseEnd)} | ${ms(timing.domContentLoaded)} | ${ms(timing.load)} | ${Math.round(timing.bytes / 1024)} KiB |`);
  }
  console.log('');
  console.log(`In-place refresh of page 1 (fetch \`/?fragment=1\`, parse, swap, lay out): ${ms(refreshMs)} (median).`);
  return 0;
}

process.exitCode = await main();
