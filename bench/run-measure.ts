// What `npm run bench` (bench/run.ts) reads at each minute snapshot — the daemon's /metrics, /proc and the database —
// the intervals between two snapshots, and how they are printed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { printColumns, round, scrapeMetrics as scrape } from './harness.js';
import {
  bucketsBetween,
  histogramQuantile,
  machineCpuSeconds,
  processCpuSeconds,
  processMemory,
  quantileBeyondLastBucket,
  readDaemonSample,
  readMemorySample,
  type DaemonSample,
  type HistogramBucket,
  type MemorySample,
} from './measure.js';

export interface Snapshot {
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
  /** Pages in use (WAL included), as a reader sees the database. */
  dbBytes: number;
  /** On disk: the database file plus its WAL, as `du` would count them. */
  diskBytes: number;
  /** The WAL alone: a bounded buffer at steady state (checkpoints move its pages into the file). */
  walBytes: number;
  probeRows: number;
  memory: MemorySample;
}

/** The database's logical size (pages in use, WAL included: a reader sees the latest commit), its probe rows, and those per connection. */
export function databaseSize(path: string): { bytes: number; rows: number; perConnection: Map<string, number> } {
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

const fileSize = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** The database file and its write-ahead log on disk. */
export function diskBytes(path: string): number {
  return fileSize(path) + fileSize(`${path}-wal`);
}

export async function takeSnapshot(url: string, pids: { daemon: number; jira: number }, dbPath: string): Promise<Snapshot> {
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
    diskBytes: diskBytes(dbPath),
    walBytes: fileSize(`${dbPath}-wal`),
    probeRows: size.rows,
    memory: readMemorySample(text),
  };
}

export interface Interval {
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
  diskGrowthBytes: number;
  /** WAL size at the start and the end of the interval. */
  walBytes: [number, number];
  probeRowsAdded: number;
  heapUsedMiB: number;
  openFds: number;
  /** Garbage-collection pauses in the interval, by kind: seconds and how many. */
  gc: Record<string, { seconds: number; count: number }>;
}

export function intervalBetween(label: string, from: Snapshot, to: Snapshot, cores: number): Interval {
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
    diskGrowthBytes: to.diskBytes - from.diskBytes,
    walBytes: [from.walBytes, to.walBytes],
    probeRowsAdded: to.probeRows - from.probeRows,
    heapUsedMiB: round(to.memory.heapUsed / 2 ** 20, 1)!,
    openFds: to.memory.openFds,
    gc: Object.fromEntries(
      Object.entries(to.memory.gc).map(([kind, { seconds, count }]) => [kind, { seconds: round(seconds - (from.memory.gc[kind]?.seconds ?? 0), 3)!, count: count - (from.memory.gc[kind]?.count ?? 0) }]),
    ),
  };
}

/** A start-delay quantile for display: '>60' when it is beyond the histogram's last bucket. */
export function delay(row: Interval, quantile: 'p50' | 'p95' | 'p99'): string {
  const value = row.startDelay[quantile];
  if (value === null) return '-';
  return row.startDelay.beyondLastBucket.includes(quantile) ? `>${value}` : String(value);
}

export function printTable(intervals: Interval[]): void {
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
    ['heap', 5, (row) => row.heapUsedMiB],
    ['fds', 5, (row) => row.openFds],
  ];
  printColumns(columns, intervals);
}

export const MIB = (bytes: number) => round(bytes / 2 ** 20, 1);

/** The last memory sample in MiB: what the RSS holds that V8 knows about, and the rest (native: OpenSSL, SQLite, malloc). */
export function memoryBreakdown(memory: MemorySample): Record<string, unknown> {
  return {
    rssMiB: MIB(memory.rss),
    heapTotalMiB: MIB(memory.heapTotal),
    heapUsedMiB: MIB(memory.heapUsed),
    externalMiB: MIB(memory.external),
    outsideHeapMiB: MIB(memory.rss - memory.heapTotal),
    openFds: memory.openFds,
    spacesMiB: Object.fromEntries(Object.entries(memory.spaces).map(([space, { size, used }]) => [space, { size: MIB(size), used: MIB(used) }])),
  };
}

/** RSS and open descriptors of the daemon every second (the minute snapshots fall in quiet moments of a cycle). */
export function sampleEverySecond(pid: number, since: number): { samples: { t: number; rssMiB: number; fds: number }[]; stop(): void } {
  const samples: { t: number; rssMiB: number; fds: number }[] = [];
  const timer = setInterval(() => {
    try {
      samples.push({ t: Math.round((Date.now() - since) / 1000), rssMiB: round(processMemory(pid).rssBytes / 2 ** 20, 1)!, fds: readdirSync(`/proc/${pid}/fd`).length });
    } catch {
      // the daemon is gone
    }
  }, 1_000);
  return { samples, stop: () => clearInterval(timer) };
}

/** The .heapsnapshot file the daemon writes on SIGUSR2, once its size stops changing. */
export async function waitForHeapSnapshot(dir: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    await sleep(1_000);
    const file = readdirSync(dir).find((name) => name.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) return join(dir, file);
    last = size;
  }
  throw new Error(`no complete heap snapshot in ${dir} after ${timeoutMs / 1000} s`);
}
