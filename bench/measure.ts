// What the benchmark reads about running processes and the daemon's /metrics: small parsers and pure arithmetic.
import { readFileSync } from 'node:fs';

/** Linux clock ticks per second (`getconf CLK_TCK`); 100 on every mainstream kernel configuration. */
const CLOCK_TICKS = 100;

/** user+system CPU seconds a process has used so far (/proc/PID/stat fields 14 and 15). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after it start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}

/** Peak and current resident set size in bytes (/proc/PID/status VmHWM and VmRSS). */
export function processMemory(pid: number): { peakRssBytes: number; rssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { peakRssBytes: kib('VmHWM'), rssBytes: kib('VmRSS') };
}

/** CPU seconds the whole machine spent busy and in total, summed over all cores (/proc/stat "cpu" line). */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle + iowait) / CLOCK_TICKS };
}

export interface HistogramBucket {
  /** Upper bound; Infinity for +Inf. */
  le: number;
  /** Cumulative count. */
  count: number;
}

export interface DaemonSample {
  /** sum of authwatch_probes_total over every connection and outcome. */
  probes: number;
  probesByOutcome: Record<string, number>;
  startDelay: { buckets: HistogramBucket[]; sum: number; count: number };
  /** Series in the exposition (non-comment lines). */
  series: number;
}

const LABEL = (name: string) => new RegExp(`${name}="((?:[^"\\\\]|\\\\.)*)"`);
const OUTCOME_LABEL = LABEL('outcome');
const LE_LABEL = LABEL('le');

/**
 * Reads the few series the benchmark needs from a Prometheus text exposition without parsing all of it: at 10,000
 * connections the page has a few hundred thousand lines, and the benchmark shares the machine with the daemon.
 */
export function readDaemonSample(text: string): DaemonSample {
  const sample: DaemonSample = { probes: 0, probesByOutcome: {}, startDelay: { buckets: [], sum: 0, count: 0 }, series: 0 };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.charCodeAt(start) !== 35 /* # */ && end > start) {
      sample.series += 1;
      if (text.startsWith('authwatch_probe', start)) {
        const line = text.slice(start, end);
        const value = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (line.startsWith('authwatch_probes_total{')) {
          const outcome = OUTCOME_LABEL.exec(line)?.[1] ?? '';
          sample.probes += value;
          sample.probesByOutcome[outcome] = (sample.probesByOutcome[outcome] ?? 0) + value;
        } else if (line.startsWith('authwatch_probe_start_delay_seconds_bucket{')) {
          const le = LE_LABEL.exec(line)?.[1] ?? '+Inf';
          sample.startDelay.buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: value });
        } else if (line.startsWith('authwatch_probe_start_delay_seconds_sum')) {
          sample.startDelay.sum = value;
        } else if (line.startsWith('authwatch_probe_start_delay_seconds_count')) {
          sample.startDelay.count = value;
        }
      }
    }
    start = end + 1;
  }
  sample.startDelay.buckets.sort((a, b) => a.le - b.le);
  return sample;
}

/** The observations that fell between two scrapes of the same cumulative histogram. */
export function bucketsBetween(before: HistogramBucket[], after: HistogramBucket[]): HistogramBucket[] {
  const earlier = new Map(before.map((bucket) => [bucket.le, bucket.count]));
  return after.map((bucket) => ({ le: bucket.le, count: bucket.count - (earlier.get(bucket.le) ?? 0) }));
}

/**
 * Prometheus' histogram_quantile: linear interpolation inside the bucket holding the q-th observation (the first
 * bucket's lower bound is 0). An answer in the +Inf bucket is reported as the highest finite bound, as Prometheus
 * does; null when there are no observations.
 */
export function histogramQuantile(q: number, buckets: HistogramBucket[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket <= 0 ? bucket.le : lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** Whether the q-th observation lies in the +Inf bucket: the quantile is then only known to exceed the last bound. */
export function quantileBeyondLastBucket(q: number, buckets: HistogramBucket[]): boolean {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  const lastFinite = sorted.filter((bucket) => bucket.le !== Infinity).at(-1);
  return total > 0 && lastFinite !== undefined && lastFinite.count < q * total;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The daemon's memory as its own /metrics reports it (prom-client's process and Node.js metrics), in bytes. */
export interface MemorySample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript ones (Buffers, sockets' native parts) that V8 is told about. */
  external: number;
  /** Heap spaces: size (committed) and used, e.g. new, old, code, large_object. */
  spaces: Record<string, { size: number; used: number }>;
  /** File descriptors open: about one per probe in flight (its socket) over a base of a few dozen. */
  openFds: number;
  /** Pause time of every garbage collection so far, by kind (minor, major, incremental, weakcb), seconds; and their number. */
  gc: Record<string, { seconds: number; count: number }>;
}

const SPACE_LABEL = LABEL('space');
const KIND_LABEL = LABEL('kind');

/** Reads the memory series from a Prometheus text exposition (they come before the per-connection ones). */
export function readMemorySample(text: string): MemorySample {
  const sample: MemorySample = { rss: NaN, heapTotal: NaN, heapUsed: NaN, external: NaN, spaces: {}, openFds: NaN, gc: {} };
  for (const line of text.split('\n', 1000)) {
    if (!line.startsWith('nodejs_') && !line.startsWith('process_')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const name = line.slice(0, Math.min(...[line.indexOf('{'), line.indexOf(' ')].filter((index) => index >= 0)));
    if (name === 'process_resident_memory_bytes') sample.rss = value;
    else if (name === 'process_open_fds') sample.openFds = value;
    else if (name === 'nodejs_gc_duration_seconds_sum' || name === 'nodejs_gc_duration_seconds_count') {
      const kind = KIND_LABEL.exec(line)?.[1] ?? '';
      const entry = (sample.gc[kind] ??= { seconds: 0, count: 0 });
      if (name.endsWith('_sum')) entry.seconds = value;
      else entry.count = value;
    }
    else if (name === 'nodejs_heap_size_total_bytes') sample.heapTotal = value;
    else if (name === 'nodejs_heap_size_used_bytes') sample.heapUsed = value;
    else if (name === 'nodejs_external_memory_bytes') sample.external = value;
    else if (name === 'nodejs_heap_space_size_total_bytes' || name === 'nodejs_heap_space_size_used_bytes') {
      const space = SPACE_LABEL.exec(line)?.[1] ?? '';
      if (value === 0 && !sample.spaces[space]) continue;
      const entry = (sample.spaces[space] ??= { size: 0, used: 0 });
      if (name.endsWith('total_bytes')) entry.size = value;
      else entry.used = value;
    }
  }
  return sample;
}
