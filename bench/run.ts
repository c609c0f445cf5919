// `npm run bench`: measures the scale target — one instance handles 10,000 connections on a one-minute
// schedule on 2 cores — against the simulated Jira over HTTPS on loopback.
//
//   node dist/bench/run.js [--connections 10000] [--minutes 3] [--warmup-minutes 1] [--tenants 100]
//                          [--failing-percent 10] [--concurrency N] [--scrape-interval 15] [--cpu-prof] [--keep]
//                          [--out bench/results/latest.json]       (--quick = --connections 1000 --minutes 1)
//                          [--metrics-only] [--latency-ms 0]   (the simulated Jira answers that much later)
//
// First, without any process: series per connection and the time of one /metrics render at 1,000 and 10,000
// connections (bench/metrics-scrape.ts); --metrics-only stops there.
//
// Three processes: the simulated Jira (bench/jira-process.ts), the BUILT daemon (`authwatch run`, logging JSON lines
// to a file as journald would take them) and this one, which scrapes /metrics like Prometheus (every 15 s) and
// samples /proc. The first cycle (warm-up) is reported apart; the measured window is the whole minutes after it,
// sampled five seconds before each minute boundary so that every cycle in it has had 55 s to finish.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createTestPki } from '../src/demo/pki.js';
import { generateApiToken, generatePat, type JiraDeployment, type TenantOptions } from '../src/demo/simulated-jira.js';
import { CLI_PATH, childEnv } from '../test/support/cli.js';
import { configYaml } from '../test/support/daemon-config.js';
import type { JiraProcessSpec } from './jira-process.js';
import { startJiraProcess } from './jira-launcher.js';
import { measureScrapes, printScrapes } from './metrics-scrape.js';
import {
  bucketsBetween,
  histogramQuantile,
  machineCpuSeconds,
  median,
  processCpuSeconds,
  processMemory,
  quantileBeyondLastBucket,
  readDaemonSample,
  type DaemonSample,
  type HistogramBucket,
} from './measure.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEDULE = '* * * * *';
const PERIOD_SECONDS = 60;
/** "Well under the period": the p99 start delay must stay below a tenth of it. */
const START_DELAY_P99_LIMIT_SECONDS = PERIOD_SECONDS / 10;
const SNAPSHOT_LEAD_MS = 5_000;

interface BenchOptions {
  connections: number;
  minutes: number;
  warmupMinutes: number;
  tenants: number;
  failingPercent: number;
  concurrency: number | null;
  latencyMs: number;
  scrapeIntervalSeconds: number;
  cpuProf: boolean;
  keep: boolean;
  metricsOnly: boolean;
  out: string;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string' },
      minutes: { type: 'string' },
      'warmup-minutes': { type: 'string', default: '1' },
      tenants: { type: 'string' },
      'failing-percent': { type: 'string', default: '10' },
      concurrency: { type: 'string' },
      'latency-ms': { type: 'string', default: '0' },
      'scrape-interval': { type: 'string', default: '15' },
      'cpu-prof': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'metrics-only': { type: 'boolean', default: false },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'latest.json') },
    },
  });
  const whole = (name: string, text: string | undefined, fallback: number, min = 1): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
    return value;
  };
  const connections = whole('connections', values.connections, values.quick ? 1000 : 10_000);
  return {
    connections,
    minutes: whole('minutes', values.minutes, values.quick ? 1 : 3),
    warmupMinutes: whole('warmup-minutes', values['warmup-minutes'], 1, 0),
    tenants: Math.min(connections, whole('tenants', values.tenants, 100)),
    failingPercent: whole('failing-percent', values['failing-percent'], 10, 0),
    concurrency: values.concurrency === undefined ? null : whole('concurrency', values.concurrency, 32),
    latencyMs: whole('latency-ms', values['latency-ms'], 0, 0),
    scrapeIntervalSeconds: whole('scrape-interval', values['scrape-interval'], 15),
    cpuProf: values['cpu-prof'] ?? false,
    keep: values.keep ?? false,
    metricsOnly: values['metrics-only'] ?? false,
    out: resolve(values.out!),
  };
}

interface BenchTenant {
  name: string;
  deployment: JiraDeployment;
  email: string;
  goodSecretFile: string;
  wrongSecretFile: string;
}

/** Tenants alternate Cloud (basic: email + API token) and DC (bearer PAT); each has a right and a wrong secret file. */
function planTenants(count: number, secretsDir: string): { tenants: BenchTenant[]; options: TenantOptions[] } {
  mkdirSync(secretsDir, { mode: 0o700 });
  const tenants: BenchTenant[] = [];
  const options: TenantOptions[] = [];
  for (let index = 0; index < count; index += 1) {
    const name = `tenant-${String(index).padStart(4, '0')}`;
    const deployment: JiraDeployment = index % 2 === 0 ? 'cloud' : 'datacenter';
    const email = `integration@${name}.example.com`;
    const [good, wrong] = deployment === 'cloud' ? [generateApiToken(), generateApiToken()] : [generatePat(), generatePat()];
    const goodSecretFile = join(secretsDir, `${name}.secret`);
    const wrongSecretFile = join(secretsDir, `${name}.wrong`);
    writeFileSync(goodSecretFile, `${good}\n`, { mode: 0o600 });
    writeFileSync(wrongSecretFile, `${wrong}\n`, { mode: 0o600 });
    tenants.push({ name, deployment, email, goodSecretFile, wrongSecretFile });
    options.push({ name, deployment, user: { emailAddress: email }, credentials: deployment === 'cloud' ? { apiToken: good } : { pat: good } });
  }
  return { tenants, options };
}

/** Whether connection `index` gets a wrong secret (401): spread evenly, failingPercent of every hundred. */
function isFailing(index: number, failingPercent: number): boolean {
  return Math.floor(((index + 1) * failingPercent) / 100) !== Math.floor((index * failingPercent) / 100);
}

function connectionEntries(options: BenchOptions, tenants: BenchTenant[], baseUrl: string, caFile: string): Record<string, unknown>[] {
  return Array.from({ length: options.connections }, (_, index) => {
    const tenant = tenants[index % tenants.length];
    const secret = { file: isFailing(index, options.failingPercent) ? tenant.wrongSecretFile : tenant.goodSecretFile };
    return {
      name: `bench-${String(index).padStart(5, '0')}`,
      url: `${baseUrl}/${tenant.name}`,
      deployment: tenant.deployment,
      auth: tenant.deployment === 'cloud' ? { type: 'basic', username: tenant.email, secret } : { type: 'bearer', secret },
      tls: { caFile },
    };
  });
}

interface LogLine {
  level?: string;
  msg?: string;
  listen?: string;
}

function readLogLines(path: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return {};
      }
    });
}

async function waitForStart(daemon: ChildProcess, logPath: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Only the head of the log: the start line comes before any probe line.
    const started = readLogLines(logPath).find((line) => line.msg === 'authwatch started');
    if (started?.listen) return started.listen;
    if (daemon.exitCode !== null || daemon.signalCode !== null) break;
    await sleep(200);
  }
  throw new Error(`the daemon did not start within ${timeoutMs / 1000} s; see ${logPath}`);
}

async function stopProcess(child: ChildProcess, graceMs: number): Promise<number> {
  const started = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  return (Date.now() - started) / 1000;
}

interface Snapshot {
  at: number;
  daemon: DaemonSample;
  /** Probes per connection name (probe rows in the database; authwatch_probes_total counts by outcome only). */
  perConnection: Map<string, number>;
  scrapeSeconds: number;
  scrapeBytes: number;
  daemonCpu: number;
  jiraCpu: number;
  benchCpu: number;
  machine: { busy: number; total: number };
  daemonRss: number;
  daemonPeakRss: number;
  jiraPeakRss: number;
  dbBytes: number;
  probeRows: number;
}

async function scrape(url: string): Promise<{ text: string; seconds: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  const seconds = (performance.now() - started) / 1000;
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return { text, seconds };
}

/** The database's logical size (pages in use, WAL included: a reader sees the latest commit), its probe rows, and those per connection. */
function databaseSize(path: string): { bytes: number; rows: number; perConnection: Map<string, number> } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const pages = db.pragma('page_count', { simple: true }) as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const rows = (db.prepare('SELECT count(*) AS n FROM probes').get() as { n: number }).n;
    const perConnection = new Map(
      (db.prepare('SELECT c.name AS connection, count(*) AS n FROM probes p JOIN connection_ids c ON c.id = p.connection_id GROUP BY c.name').all() as { connection: string; n: number }[]).map((row) => [row.connection, row.n]),
    );
    return { bytes: pages * pageSize, rows, perConnection };
  } finally {
    db.close();
  }
}

async function takeSnapshot(url: string, pids: { daemon: number; jira: number }, dbPath: string): Promise<Snapshot> {
  // CPU first, then the scrape: every snapshot measures the same way, and `at` is when the CPU was read.
  const at = Date.now();
  const usage = process.cpuUsage();
  const cpu = { daemon: processCpuSeconds(pids.daemon), jira: processCpuSeconds(pids.jira), machine: machineCpuSeconds() };
  const daemonMemory = processMemory(pids.daemon);
  const jiraMemory = processMemory(pids.jira);
  const { text, seconds } = await scrape(url);
  const size = databaseSize(dbPath);
  return {
    at,
    daemon: readDaemonSample(text),
    perConnection: size.perConnection,
    scrapeSeconds: seconds,
    scrapeBytes: Buffer.byteLength(text),
    daemonCpu: cpu.daemon,
    jiraCpu: cpu.jira,
    benchCpu: (usage.user + usage.system) / 1e6,
    machine: cpu.machine,
    daemonRss: daemonMemory.rssBytes,
    daemonPeakRss: daemonMemory.peakRssBytes,
    jiraPeakRss: jiraMemory.peakRssBytes,
    dbBytes: size.bytes,
    probeRows: size.rows,
  };
}

interface Interval {
  label: string;
  seconds: number;
  probes: number;
  probesPerSecond: number;
  probesByOutcome: Record<string, number>;
  startDelay: {
    p50: number | null;
    p95: number | null;
    p99: number | null;
    /** Quantiles that fell in the +Inf bucket: their value is only a lower bound (the last finite bucket, 60 s). */
    beyondLastBucket: string[];
    observations: number;
    mean: number | null;
  };
  /** Connections whose probe count grew by exactly one per minute of the interval, and the rest. */
  connectionsOnSchedule: number;
  connectionsOffSchedule: number;
  cpuPercentOfOneCore: { daemon: number; jira: number; bench: number; other: number };
  daemonCpuPercentOfMachine: number;
  daemonRssMiB: number;
  dbGrowthBytes: number;
  probeRowsAdded: number;
}

function round(value: number | null, digits = 3): number | null {
  return value === null ? null : Number(value.toFixed(digits));
}

function intervalBetween(label: string, from: Snapshot, to: Snapshot, cores: number): Interval {
  const seconds = (to.at - from.at) / 1000;
  // Cycles that fired inside the interval: one per minute boundary crossed.
  const cycles = Math.floor(to.at / 60_000) - Math.floor(from.at / 60_000);
  const buckets: HistogramBucket[] = bucketsBetween(from.daemon.startDelay.buckets, to.daemon.startDelay.buckets);
  const observations = to.daemon.startDelay.count - from.daemon.startDelay.count;
  const probesByOutcome: Record<string, number> = {};
  for (const [outcome, count] of Object.entries(to.daemon.probesByOutcome)) {
    const delta = count - (from.daemon.probesByOutcome[outcome] ?? 0);
    if (delta > 0) probesByOutcome[outcome] = delta;
  }
  let onSchedule = 0;
  for (const [name, count] of to.perConnection) if (count - (from.perConnection.get(name) ?? 0) === cycles) onSchedule += 1;
  const percent = (cpu: number) => round((100 * cpu) / seconds, 1)!;
  const daemonCpu = to.daemonCpu - from.daemonCpu;
  const jiraCpu = to.jiraCpu - from.jiraCpu;
  const benchCpu = to.benchCpu - from.benchCpu;
  const machineBusy = to.machine.busy - from.machine.busy;
  return {
    label,
    seconds: round(seconds, 1)!,
    probes: to.daemon.probes - from.daemon.probes,
    probesPerSecond: round((to.daemon.probes - from.daemon.probes) / seconds, 1)!,
    probesByOutcome,
    startDelay: {
      p50: round(histogramQuantile(0.5, buckets)),
      p95: round(histogramQuantile(0.95, buckets)),
      p99: round(histogramQuantile(0.99, buckets)),
      beyondLastBucket: (['p50', 'p95', 'p99'] as const).filter((name) => quantileBeyondLastBucket(Number(name.slice(1)) / 100, buckets)),
      observations,
      mean: observations > 0 ? round((to.daemon.startDelay.sum - from.daemon.startDelay.sum) / observations) : null,
    },
    connectionsOnSchedule: onSchedule,
    connectionsOffSchedule: to.perConnection.size - onSchedule,
    cpuPercentOfOneCore: {
      daemon: percent(daemonCpu),
      jira: percent(jiraCpu),
      bench: percent(benchCpu),
      other: percent(Math.max(0, machineBusy - daemonCpu - jiraCpu - benchCpu)),
    },
    daemonCpuPercentOfMachine: round((100 * daemonCpu) / seconds / cores, 1)!,
    daemonRssMiB: round(to.daemonRss / 2 ** 20, 1)!,
    dbGrowthBytes: to.dbBytes - from.dbBytes,
    probeRowsAdded: to.probeRows - from.probeRows,
  };
}

function machineFacts(): Record<string, unknown> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cores: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((value) => round(value, 2)),
  };
}

function nextMinuteBoundary(after: number): number {
  return Math.ceil((after + 1) / 60_000) * 60_000;
}

function pad(value: unknown, width: number): string {
  const text = value === null || value === undefined ? '-' : String(value);
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** A start-delay quantile for display: '>60' when it is beyond the histogram's last bucket. */
function delay(row: Interval, quantile: 'p50' | 'p95' | 'p99'): string {
  const value = row.startDelay[quantile];
  if (value === null) return '-';
  return row.startDelay.beyondLastBucket.includes(quantile) ? `>${value}` : String(value);
}

function printTable(intervals: Interval[]): void {
  const columns: [string, number, (row: Interval) => unknown][] = [
    ['window', 9, (row) => row.label],
    ['probes', 7, (row) => row.probes],
    ['/s', 6, (row) => row.probesPerSecond],
    ['on-sched', 8, (row) => row.connectionsOnSchedule],
    ['delay p50', 9, (row) => delay(row, 'p50')],
    ['p95', 7, (row) => delay(row, 'p95')],
    ['p99', 7, (row) => delay(row, 'p99')],
    ['daemon %1c', 10, (row) => row.cpuPercentOfOneCore.daemon],
    ['%2c', 5, (row) => row.daemonCpuPercentOfMachine],
    ['jira %1c', 8, (row) => row.cpuPercentOfOneCore.jira],
    ['bench', 5, (row) => row.cpuPercentOfOneCore.bench],
    ['other', 5, (row) => row.cpuPercentOfOneCore.other],
    ['RSS MiB', 7, (row) => row.daemonRssMiB],
  ];
  console.log(columns.map(([title, width]) => pad(title, width)).join('  '));
  for (const row of intervals) console.log(columns.map(([, width, cell]) => pad(cell(row), width)).join('  '));
}

function countLogMessages(logPath: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readLogLines(logPath)) {
    if (line.level === 'info' && line.msg === 'probe') continue;
    const key = `${line.level}: ${line.msg}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const scrapeBudget = await measureScrapes([1000, 10_000]);
  printScrapes(scrapeBudget);
  if (options.metricsOnly) return 0;
  const cores = os.availableParallelism();
  const dir = mkdtempSync(join(os.tmpdir(), 'authwatch-bench-'));
  const children: ChildProcess[] = [];
  const totalMinutes = options.warmupMinutes + options.minutes;
  // Bounded in time whatever happens: start-up, up to a minute to the first boundary, the cycles, shutdown.
  const hardLimitMs = (totalMinutes + 5) * 60_000 + options.connections * 10;
  const cleanup = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  };
  const hardLimit = setTimeout(() => {
    console.error(`bench: still running after ${hardLimitMs / 60_000} minutes; giving up`);
    cleanup();
    process.exit(1);
  }, hardLimitMs);
  hardLimit.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(130);
    });
  }

  try {
    console.log(
      `bench: ${options.connections} connections on "${SCHEDULE}" across ${options.tenants} tenants (${options.failingPercent}% with a wrong secret), ` +
        `${options.warmupMinutes} warm-up + ${options.minutes} measured minute(s), ${cores} cores; work dir ${dir}`,
    );
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = await createTestPki(pkiDir);
    const { tenants, options: tenantOptions } = planTenants(options.tenants, join(dir, 'secrets'));
    const specPath = join(dir, 'jira.json');
    const spec: JiraProcessSpec = { keyFile: pki.good.keyFile, certFile: pki.good.certFile, tenants: tenantOptions, latencyMs: options.latencyMs };
    writeFileSync(specPath, JSON.stringify(spec), { mode: 0o600 });
    const jira = await startJiraProcess(specPath);
    children.push(jira.child);

    const configPath = join(dir, 'authwatch.yaml');
    const dbPath = join(dir, 'authwatch.db');
    const connections = connectionEntries(options, tenants, jira.baseUrl, pki.caFile);
    writeFileSync(configPath, configYaml({ connections, defaults: { schedule: SCHEDULE, timeout: '15s' } }, dbPath));

    const logPath = join(dir, 'daemon.log');
    const logFd = openSync(logPath, 'a');
    const profileDir = join(dir, 'profile');
    const nodeArgs = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const runArgs = ['--config', configPath, '--log-level', 'info', 'run', ...(options.concurrency ? ['--concurrency', String(options.concurrency)] : [])];
    const spawnedAt = Date.now();
    const daemon = spawn(process.execPath, [...nodeArgs, CLI_PATH, ...runArgs], { env: childEnv(), stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    children.push(daemon);
    const url = await waitForStart(daemon, logPath, 120_000 + options.connections * 20);
    const startupSeconds = (Date.now() - spawnedAt) / 1000;
    const startupCpuSeconds = processCpuSeconds(daemon.pid!);
    console.log(`bench: daemon up at ${url} after ${startupSeconds.toFixed(1)} s (${startupCpuSeconds.toFixed(1)} s CPU)`);

    const pids = { daemon: daemon.pid!, jira: jira.child.pid! };
    const snapshots: Snapshot[] = [await takeSnapshot(url, pids, dbPath)];
    const firstBoundary = nextMinuteBoundary(Date.now());
    // Five seconds before each boundary: the previous cycle has had 55 s, and a scrape (about 1 s at 10,000
    // connections) cannot run into the next cycle's first probes.
    const snapshotTimes = Array.from({ length: totalMinutes }, (_, index) => firstBoundary + (index + 1) * 60_000 - SNAPSHOT_LEAD_MS);
    const scrapeTimes: number[] = [];
    let nextScrape = Date.now() + options.scrapeIntervalSeconds * 1000;
    for (const snapshotAt of snapshotTimes) {
      while (nextScrape < snapshotAt - 2_000) {
        await sleep(Math.max(0, nextScrape - Date.now()));
        scrapeTimes.push((await scrape(url)).seconds);
        nextScrape += options.scrapeIntervalSeconds * 1000;
      }
      await sleep(Math.max(0, snapshotAt - Date.now()));
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`the daemon exited early; see ${logPath}`);
      const snapshot = await takeSnapshot(url, pids, dbPath);
      snapshots.push(snapshot);
      scrapeTimes.push(snapshot.scrapeSeconds);
      nextScrape = snapshotAt + options.scrapeIntervalSeconds * 1000;
      const minute = snapshots.length - 1;
      const kind = minute <= options.warmupMinutes ? 'warm-up' : 'measured';
      console.log(`bench: minute ${minute} (${kind}): ${snapshot.daemon.probes - snapshots[minute - 1].daemon.probes} probes`);
    }

    const shutdownSeconds = await stopProcess(daemon, 60_000);
    await stopProcess(jira.child, 10_000);
    const finalDbBytes = statSync(dbPath).size;

    const last = snapshots.at(-1)!;
    const intervals: Interval[] = [];
    for (let minute = 1; minute < snapshots.length; minute += 1) {
      intervals.push(intervalBetween(minute <= options.warmupMinutes ? `warm-up ${minute}` : `minute ${minute - options.warmupMinutes}`, snapshots[minute - 1], snapshots[minute], cores));
    }
    const windowStart = snapshots[options.warmupMinutes];
    const measured = intervalBetween('measured', windowStart, last, cores);
    intervals.push(measured);
    const windowHours = (last.at - windowStart.at) / 3_600_000;
    const probesPerMinute = measured.probes / options.minutes;
    const bytesPerProbe = measured.probeRowsAdded > 0 ? measured.dbGrowthBytes / measured.probeRowsAdded : null;
    const targetProbesPerSecond = options.connections / PERIOD_SECONDS;
    const verdict = {
      probesPerMinute: { value: round(probesPerMinute, 1), target: options.connections, met: probesPerMinute >= options.connections * 0.995 },
      everyConnectionOncePerMinute: {
        onSchedule: measured.connectionsOnSchedule,
        offSchedule: measured.connectionsOffSchedule,
        met: measured.connectionsOffSchedule === 0 && measured.connectionsOnSchedule === options.connections,
      },
      startDelayP99: { value: measured.startDelay.p99, limitSeconds: START_DELAY_P99_LIMIT_SECONDS, met: !measured.startDelay.beyondLastBucket.includes('p99') && (measured.startDelay.p99 ?? Infinity) < START_DELAY_P99_LIMIT_SECONDS },
    };
    const met = Object.values(verdict).every((criterion) => criterion.met);
    const scrapeSorted = [...scrapeTimes].sort((a, b) => a - b);
    const result = {
      at: new Date().toISOString(),
      target: `${options.connections} connections on a one-minute schedule (${targetProbesPerSecond.toFixed(1)} probes/s) on ${cores} cores`,
      met,
      verdict,
      options: { ...options, out: undefined },
      machine: machineFacts(),
      metricsRender: scrapeBudget,
      daemon: {
        startupSeconds: round(startupSeconds, 1),
        startupCpuSeconds: round(startupCpuSeconds, 1),
        shutdownSeconds: round(shutdownSeconds, 1),
        peakRssMiB: round(last.daemonPeakRss / 2 ** 20, 1),
        cpuPercentOfOneCore: measured.cpuPercentOfOneCore.daemon,
        cpuPercentOfMachine: measured.daemonCpuPercentOfMachine,
        logMessages: countLogMessages(logPath),
      },
      jira: { cpuPercentOfOneCore: measured.cpuPercentOfOneCore.jira, peakRssMiB: round(last.jiraPeakRss / 2 ** 20, 1) },
      metrics: {
        series: last.daemon.series,
        bytes: last.scrapeBytes,
        scrapes: scrapeTimes.length,
        scrapeSecondsMedian: round(median(scrapeTimes)),
        scrapeSecondsP90: round(scrapeSorted[Math.min(scrapeSorted.length - 1, Math.floor(scrapeSorted.length * 0.9))] ?? null),
        scrapeSecondsMax: round(scrapeSorted.at(-1) ?? null),
      },
      storage: {
        bytesPerProbe: round(bytesPerProbe, 0),
        growthBytesPerHour: round(measured.dbGrowthBytes / windowHours, 0),
        growthGiBPerDay: round((measured.dbGrowthBytes / windowHours) * 24 / 2 ** 30, 2),
        finalFileBytes: finalDbBytes,
        probeRows: last.probeRows,
      },
      intervals,
      profileDir: options.cpuProf ? profileDir : undefined,
    };

    console.log('');
    printTable(intervals);
    console.log('');
    console.log(`probes/min: ${probesPerMinute.toFixed(0)} (target ${options.connections}, ${targetProbesPerSecond.toFixed(1)}/s) ${verdict.probesPerMinute.met ? 'met' : 'MISSED'}`);
    console.log(`every connection once per minute: ${measured.connectionsOnSchedule}/${options.connections} ${verdict.everyConnectionOncePerMinute.met ? 'met' : 'MISSED'}`);
    console.log(`start delay p50/p95/p99: ${delay(measured, 'p50')}/${delay(measured, 'p95')}/${delay(measured, 'p99')} s (p99 limit ${START_DELAY_P99_LIMIT_SECONDS} s) ${verdict.startDelayP99.met ? 'met' : 'MISSED'}`);
    console.log(`daemon CPU: ${measured.cpuPercentOfOneCore.daemon}% of one core = ${measured.daemonCpuPercentOfMachine}% of the ${cores}-core machine; peak RSS ${result.daemon.peakRssMiB} MiB; start-up ${result.daemon.startupSeconds} s`);
    console.log(`simulated Jira CPU: ${measured.cpuPercentOfOneCore.jira}% of one core (same machine); bench ${measured.cpuPercentOfOneCore.bench}%; other processes ${measured.cpuPercentOfOneCore.other}%`);
    console.log(`/metrics: ${result.metrics.series} series, ${(last.scrapeBytes / 2 ** 20).toFixed(1)} MiB, scrape median ${result.metrics.scrapeSecondsMedian} s, max ${result.metrics.scrapeSecondsMax} s`);
    console.log(`SQLite: ${result.storage.bytesPerProbe} bytes/probe, ${(result.storage.growthBytesPerHour! / 2 ** 20).toFixed(1)} MiB/hour, ${result.storage.growthGiBPerDay} GiB/day`);
    const notable = Object.entries(result.daemon.logMessages).filter(([key]) => !key.startsWith('info:'));
    if (notable.length > 0) console.log(`daemon warnings/errors: ${notable.map(([key, count]) => `${key} ×${count}`).join('; ')}`);
    if (options.cpuProf) console.log(`CPU profile: ${readdirSync(profileDir).map((file) => join(profileDir, file)).join(', ')}`);
    console.log(`target ${met ? 'MET' : 'MISSED'}`);

    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results written to ${options.out}`);
    return met ? 0 : 1;
  } finally {
    clearTimeout(hardLimit);
    if (options.keep || options.cpuProf) {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      console.log(`work dir kept: ${dir}`);
    } else {
      cleanup();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
