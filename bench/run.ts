// `npm run bench`: measures the scale target — one instance handles 10,000 connections on a one-minute
// schedule on 2 cores — against the simulated Jira over HTTPS on loopback.
//
//   node dist/bench/run.js [--connections 10000] [--minutes 3] [--warmup-minutes 1] [--tenants 100]
//                          [--failing-percent 10] [--concurrency N] [--scrape-interval 15] [--cpu-prof] [--keep]
//                          [--out bench/results/latest.json]       (--quick = --connections 1000 --minutes 1)
//                          [--metrics-only] [--latency-ms 0]   (the simulated Jira answers that much later)
//                          [--node-arg=--max-semi-space-size=2 ...] [--heap-snapshot] [--daemon-env NAME=VALUE ...]
//                          [--node-options "..."]   (default: the NODE_OPTIONS of deploy/systemd/authwatch.service)
//                          [--max-rss-mib 300] [--max-cpu-percent 30] [--max-bytes-per-probe 150]
//
// First, without any process: series per connection and the time of one /metrics render at 1,000 and 10,000
// connections (bench/metrics-scrape.ts); --metrics-only stops there.
//
// Three processes: the simulated Jira (bench/jira-process.ts), the BUILT daemon (`authwatch run`, logging JSON lines
// to a file as journald would take them) and this one, which scrapes /metrics like Prometheus (every 15 s) and
// samples /proc. The first cycle (warm-up) is reported apart; the measured window is the whole minutes after it,
// sampled five seconds before each minute boundary so that every cycle in it has had 55 s to finish.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createTestPki } from '../src/demo/pki.js';
import { configYaml } from '../test/support/daemon-config.js';
import { countLogMessages, machineFacts, planTenants, readLogLines, round, writeResults, unitNodeOptions, scrapeErrors, scrapeMetrics as scrape, spawnDaemon, stopProcess, waitForStart, type BenchTenant } from './harness.js';
import type { JiraProcessSpec } from './jira-process.js';
import { startJiraProcess } from './jira-launcher.js';
import { measureScrapes, printScrapes } from './metrics-scrape.js';
import { median, processCpuSeconds } from './measure.js';
import {
  delay,
  intervalBetween,
  MIB,
  memoryBreakdown,
  printTable,
  sampleEverySecond,
  takeSnapshot,
  waitForHeapSnapshot,
  type Interval,
  type Snapshot,
} from './run-measure.js';

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
  /** Node.js options for the daemon (V8 flags to try). */
  nodeArgs: string[];
  /** Extra environment of the daemon (MALLOC_ARENA_MAX=2, …). */
  daemonEnv: Record<string, string>;
  /** NODE_OPTIONS of the daemon: the systemd unit's unless --node-options is given ('' for none). */
  nodeOptions: string;
  /** Writes a heap snapshot of the daemon at the last snapshot (--heapsnapshot-signal); keeps the work directory. */
  heapSnapshot: boolean;
  limits: { peakRssMiB: number; cpuPercentOfOneCore: number; bytesPerProbe: number };
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
      'node-arg': { type: 'string', multiple: true, default: [] },
      'daemon-env': { type: 'string', multiple: true, default: [] },
      'node-options': { type: 'string' },
      'heap-snapshot': { type: 'boolean', default: false },
      'max-rss-mib': { type: 'string', default: '300' },
      'max-cpu-percent': { type: 'string', default: '30' },
      'max-bytes-per-probe': { type: 'string', default: '150' },
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
    nodeArgs: values['node-arg'] ?? [],
    nodeOptions: values['node-options'] ?? unitNodeOptions(),
    daemonEnv: Object.fromEntries(
      (values['daemon-env'] ?? []).map((pair) => {
        const equals = pair.indexOf('=');
        if (equals < 1) throw new Error(`--daemon-env takes NAME=VALUE, not ${pair}`);
        return [pair.slice(0, equals), pair.slice(equals + 1)];
      }),
    ),
    heapSnapshot: values['heap-snapshot'] ?? false,
    limits: {
      peakRssMiB: whole('max-rss-mib', values['max-rss-mib'], 300),
      cpuPercentOfOneCore: whole('max-cpu-percent', values['max-cpu-percent'], 30),
      bytesPerProbe: whole('max-bytes-per-probe', values['max-bytes-per-probe'], 150),
    },
    out: resolve(values.out!),
  };
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

function nextMinuteBoundary(after: number): number {
  return Math.ceil((after + 1) / 60_000) * 60_000;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const scrapeBudget = await measureScrapes([1000, 10_000]);
  printScrapes(scrapeBudget);
  if (options.metricsOnly) return 0;
  const cores = os.availableParallelism();
  const machine = machineFacts();
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
        `${options.warmupMinutes} warm-up + ${options.minutes} measured minute(s), ${cores} cores, load average ${os.loadavg().map((value) => value.toFixed(2)).join(' ')}; ` +
        `daemon NODE_OPTIONS "${options.nodeOptions}"; work dir ${dir}`,
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
    const profileDir = join(dir, 'profile');
    const nodeArgs = [
      ...options.nodeArgs,
      ...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(options.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profileDir}`] : []),
    ];
    if (options.cpuProf || options.heapSnapshot) mkdirSync(profileDir, { recursive: true });
    const runArgs = options.concurrency ? ['--concurrency', String(options.concurrency)] : [];
    const spawnedAt = Date.now();
    const daemon = spawnDaemon({ configPath, logPath, nodeArgs, runArgs, env: options.daemonEnv, nodeOptions: options.nodeOptions });
    children.push(daemon);
    // From the spawn on: loading a 10,000-connection config and the first probes are part of the peak.
    const timeline = sampleEverySecond(daemon.pid!, spawnedAt);
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
    if (options.heapSnapshot) {
      // The snapshot is written synchronously by the daemon's main thread; wait until the file is complete.
      daemon.kill('SIGUSR2');
      const written = await waitForHeapSnapshot(profileDir, 300_000);
      console.log(`bench: heap snapshot ${written}`);
    }

    timeline.stop();
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
    const bytesPerProbe = measured.probeRowsAdded > 0 ? measured.diskGrowthBytes / measured.probeRowsAdded : null;
    const logicalBytesPerProbe = measured.probeRowsAdded > 0 ? measured.dbGrowthBytes / measured.probeRowsAdded : null;
    const peakRssMiB = round(last.daemonPeakRss / 2 ** 20, 1)!;
    const targetProbesPerSecond = options.connections / PERIOD_SECONDS;
    const verdict = {
      probesPerMinute: { value: round(probesPerMinute, 1), target: options.connections, met: probesPerMinute >= options.connections * 0.995 },
      everyConnectionOncePerMinute: {
        onSchedule: measured.connectionsOnSchedule,
        offSchedule: measured.connectionsOffSchedule,
        met: measured.connectionsOffSchedule === 0 && measured.connectionsOnSchedule === options.connections,
      },
      startDelayP99: { value: measured.startDelay.p99, limitSeconds: START_DELAY_P99_LIMIT_SECONDS, met: !measured.startDelay.beyondLastBucket.includes('p99') && (measured.startDelay.p99 ?? Infinity) < START_DELAY_P99_LIMIT_SECONDS },
      peakRss: { valueMiB: peakRssMiB, limitMiB: options.limits.peakRssMiB, met: peakRssMiB <= options.limits.peakRssMiB },
      daemonCpu: { percentOfOneCore: measured.cpuPercentOfOneCore.daemon, limit: options.limits.cpuPercentOfOneCore, met: measured.cpuPercentOfOneCore.daemon <= options.limits.cpuPercentOfOneCore },
      bytesPerProbe: { value: round(bytesPerProbe, 0), limit: options.limits.bytesPerProbe, met: bytesPerProbe !== null && bytesPerProbe <= options.limits.bytesPerProbe },
    };
    const met = Object.values(verdict).every((criterion) => criterion.met);
    const scrapeSorted = [...scrapeTimes].sort((a, b) => a - b);
    const result = {
      at: new Date().toISOString(),
      target: `${options.connections} connections on a one-minute schedule (${targetProbesPerSecond.toFixed(1)} probes/s) on ${cores} cores`,
      met,
      verdict,
      options: { ...options, out: undefined },
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((value) => round(value, 2)) },
      metricsRender: scrapeBudget,
      daemon: {
        startupSeconds: round(startupSeconds, 1),
        startupCpuSeconds: round(startupCpuSeconds, 1),
        shutdownSeconds: round(shutdownSeconds, 1),
        peakRssMiB,
        memory: memoryBreakdown(last.memory),
        nodeArgs,
        cpuPercentOfOneCore: measured.cpuPercentOfOneCore.daemon,
        cpuPercentOfMachine: measured.daemonCpuPercentOfMachine,
        logMessages: countLogMessages(readLogLines(logPath), (line) => !(line.level === 'info' && line.msg === 'probe')),
      },
      jira: { cpuPercentOfOneCore: measured.cpuPercentOfOneCore.jira, peakRssMiB: round(last.jiraPeakRss / 2 ** 20, 1) },
      metrics: {
        series: last.daemon.series,
        bytes: last.scrapeBytes,
        scrapes: scrapeTimes.length,
        scrapeSecondsMedian: round(median(scrapeTimes)),
        scrapeSecondsP90: round(scrapeSorted[Math.min(scrapeSorted.length - 1, Math.floor(scrapeSorted.length * 0.9))] ?? null),
        scrapeSecondsMax: round(scrapeSorted.at(-1) ?? null),
        retriedAfterError: scrapeErrors,
      },
      storage: {
        // On disk (database file + WAL) over the measured window; the logical size (pages in use) beside it.
        bytesPerProbe: round(bytesPerProbe, 0),
        logicalBytesPerProbe: round(logicalBytesPerProbe, 0),
        growthBytesPerHour: round(measured.diskGrowthBytes / windowHours, 0),
        growthGiBPerDay: round((measured.diskGrowthBytes / windowHours) * 24 / 2 ** 30, 2),
        finalFileBytes: finalDbBytes,
        finalWalBytes: existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0,
        probeRows: last.probeRows,
      },
      intervals,
      /** Every second: seconds since the daemon was spawned, its RSS (MiB) and open file descriptors. */
      timeline: timeline.samples,
      profileDir: options.cpuProf || options.heapSnapshot ? profileDir : undefined,
    };

    console.log('');
    printTable(intervals);
    console.log('');
    console.log(`probes/min: ${probesPerMinute.toFixed(0)} (target ${options.connections}, ${targetProbesPerSecond.toFixed(1)}/s) ${verdict.probesPerMinute.met ? 'met' : 'MISSED'}`);
    console.log(`every connection once per minute: ${measured.connectionsOnSchedule}/${options.connections} ${verdict.everyConnectionOncePerMinute.met ? 'met' : 'MISSED'}`);
    console.log(`start delay p50/p95/p99: ${delay(measured, 'p50')}/${delay(measured, 'p95')}/${delay(measured, 'p99')} s (p99 limit ${START_DELAY_P99_LIMIT_SECONDS} s) ${verdict.startDelayP99.met ? 'met' : 'MISSED'}`);
    const mark = (criterion: { met: boolean }) => (criterion.met ? 'met' : 'MISSED');
    console.log(`daemon CPU: ${measured.cpuPercentOfOneCore.daemon}% of one core (limit ${options.limits.cpuPercentOfOneCore}%) ${mark(verdict.daemonCpu)} = ${measured.daemonCpuPercentOfMachine}% of the ${cores}-core machine; start-up ${result.daemon.startupSeconds} s`);
    const memory = last.memory;
    console.log(
      `peak RSS ${peakRssMiB} MiB (limit ${options.limits.peakRssMiB} MiB) ${mark(verdict.peakRss)}; at the last sample RSS ${MIB(memory.rss)} MiB = V8 heap ${MIB(memory.heapTotal)} ` +
        `(used ${MIB(memory.heapUsed)}; new space ${MIB(memory.spaces.new?.size ?? 0)}, old ${MIB(memory.spaces.old?.size ?? 0)}) + ${MIB(memory.rss - memory.heapTotal)} outside it (external ${MIB(memory.external)})`,
    );
    const busiest = timeline.samples.reduce((top, sample) => (sample.fds > top.fds ? sample : top), { t: 0, rssMiB: 0, fds: 0 });
    const gcSeconds = Object.values(measured.gc).reduce((sum, entry) => sum + entry.seconds, 0);
    console.log(
      `garbage collection: ${round((100 * gcSeconds) / measured.seconds, 1)}% of one core in pauses (` +
        `${Object.entries(measured.gc).filter(([, entry]) => entry.count > 0).map(([kind, entry]) => `${kind} ${entry.count}× ${entry.seconds} s`).join(', ')})`,
    );
    console.log(`open descriptors (≈ probes in flight): at most ${busiest.fds}, ${busiest.t} s after the daemon started`);
    console.log(`simulated Jira CPU: ${measured.cpuPercentOfOneCore.jira}% of one core (same machine); bench ${measured.cpuPercentOfOneCore.bench}%; other processes ${measured.cpuPercentOfOneCore.other}%`);
    console.log(`/metrics: ${result.metrics.series} series, ${(last.scrapeBytes / 2 ** 20).toFixed(1)} MiB, scrape median ${result.metrics.scrapeSecondsMedian} s, max ${result.metrics.scrapeSecondsMax} s${scrapeErrors.length > 0 ? `; ${scrapeErrors.length} scrape(s) failed and were retried: ${scrapeErrors.join('; ')}` : ''}`);
    console.log(
      `SQLite: ${result.storage.bytesPerProbe} bytes/probe on disk (file + WAL; limit ${options.limits.bytesPerProbe}) ${mark(verdict.bytesPerProbe)}, ` +
        `${(result.storage.growthBytesPerHour! / 2 ** 20).toFixed(1)} MiB/hour, ${result.storage.growthGiBPerDay} GiB/day; pages in use ${result.storage.logicalBytesPerProbe} bytes/probe; ` +
        `WAL ${MIB(measured.walBytes[0])} → ${MIB(measured.walBytes[1])} MiB over the window`,
    );
    const notable = Object.entries(result.daemon.logMessages).filter(([key]) => !key.startsWith('info:'));
    if (notable.length > 0) console.log(`daemon warnings/errors: ${notable.map(([key, count]) => `${key} ×${count}`).join('; ')}`);
    if (options.cpuProf) console.log(`CPU profile: ${readdirSync(profileDir).map((file) => join(profileDir, file)).join(', ')}`);
    console.log(`target ${met ? 'MET' : 'MISSED'}`);

    writeResults(options.out, result);
    return met ? 0 : 1;
  } finally {
    clearTimeout(hardLimit);
    if (options.keep || options.cpuProf || options.heapSnapshot) {
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
