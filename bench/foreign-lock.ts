// `npm run bench -- foreign-lock`: a foreign process holds the SQLite write lock for 15 s while the daemon probes
// 2,000 connections every 20 s and some of them start failing. What must hold (exit 1 when one does not):
// - probes keep their schedule: start-delay p99 < 1 s during the lock and after it, and no tick skipped;
// - /healthz answers within 100 ms from the lock to the end (sampled every 50 ms, each request timed on its own;
//   the period before the lock is reported as the control);
// - the records land once the lock is gone: at a quiet moment afterwards, every probe the daemon logged is a probe
//   row in the database (per connection: no missing row, no extra one);
// - each notification is sent exactly once: one "auth regressed" and one "auth works again" Slack message per
//   connection made to fail, none for the others.
//
//   node dist/bench/foreign-lock.js [--connections 2000] [--schedule "*/20 * * * * *"] [--tenants 20]
//        [--flip-percent 5] [--lock-seconds 15] [--warmup-seconds 50] [--after-seconds 40] [--recover-seconds 40]
//        [--healthz-interval-ms 50] [--latency-ms 0] [--keep] [--out bench/results/foreign-lock-latest.json]
//
// Processes: the simulated Jira (bench/jira-process.ts), the BUILT daemon (log to a file), the lock holder
// (bench/lock-holder.ts: better-sqlite3 on its own connection, BEGIN IMMEDIATE … COMMIT), and this one, which runs
// the Slack webhook (test/support/slack-mock.ts), samples /healthz and scrapes /metrics. The connections made to fail
// get their own secret file, overwritten with a wrong token as soon as the lock is held (the daemon reads secret
// files at every probe) and restored after the lock; they have failureThreshold 1, so the failed probe made under
// the lock opens the incident and its notification has to wait for the database.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createTestPki } from '../src/demo/pki.js';
import { configYaml } from '../test/support/daemon-config.js';
import { startSlackMock } from '../test/support/slack-mock.js';
import { countLogMessages, machineFacts, planTenants, readLogLines, round, scrapeErrors, scrapeMetrics, spawnDaemon, stopProcess, unitNodeOptions, waitForStart, writeResults } from './harness.js';
import { startJiraProcess } from './jira-launcher.js';
import type { JiraProcessSpec } from './jira-process.js';
import { bucketsBetween, histogramQuantile, processCpuSeconds, processMemory, quantileBeyondLastBucket, readDaemonSample, type DaemonSample } from './measure.js';
import { sampleHealthz, summarizeHealth, type HealthSample, type HealthSummary } from './healthz-sampler.js';
import { printReport, START_DELAY_P99_LIMIT_SECONDS, HEALTHZ_LIMIT_MS, type PhaseDelay } from './foreign-lock-report.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOCK_HOLDER = fileURLToPath(new URL('./lock-holder.js', import.meta.url));
const SLACK_ENV = 'AUTHWATCH_BENCH_SLACK_WEBHOOK';

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string', default: '2000' },
      schedule: { type: 'string', default: '*/20 * * * * *' },
      tenants: { type: 'string', default: '20' },
      'flip-percent': { type: 'string', default: '5' },
      'lock-seconds': { type: 'string', default: '15' },
      'warmup-seconds': { type: 'string', default: '50' },
      'after-seconds': { type: 'string', default: '40' },
      'recover-seconds': { type: 'string', default: '40' },
      'healthz-interval-ms': { type: 'string', default: '50' },
      'latency-ms': { type: 'string', default: '0' },
      keep: { type: 'boolean', default: false },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'foreign-lock-latest.json') },
    },
  });
  const whole = (name: keyof typeof values, min: number): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
    return value;
  };
  const schedule = values.schedule!;
  return {
    connections: whole('connections', 1),
    schedule,
    periodSeconds: periodOf(schedule),
    tenants: whole('tenants', 1),
    flipPercent: whole('flip-percent', 1),
    lockSeconds: whole('lock-seconds', 1),
    warmupSeconds: whole('warmup-seconds', 10),
    afterSeconds: whole('after-seconds', 10),
    recoverSeconds: whole('recover-seconds', 10),
    healthzIntervalMs: whole('healthz-interval-ms', 10),
    latencyMs: whole('latency-ms', 0),
    keep: values.keep ?? false,
    out: resolve(values.out!),
  };
}

/** The period of the schedules this benchmark knows: `* * * * *` and `*\/N * * * * *` with N dividing 60. */
function periodOf(schedule: string): number {
  if (schedule.trim() === '* * * * *') return 60;
  const seconds = /^\*\/(\d+) \* \* \* \* \*$/.exec(schedule.trim());
  if (seconds && 60 % Number(seconds[1]) === 0) return Number(seconds[1]);
  throw new Error(`--schedule must be "* * * * *" or "*/N * * * * *" with N dividing 60, not "${schedule}"`);
}

/** A quiet moment of a schedule: every probe of the current period started (spread over 80%, at most 60 s) and done. */
function nextQuietMoment(now: number, periodSeconds: number, latencyMs: number): number {
  const periodMs = periodSeconds * 1000;
  const spreadMs = Math.min(periodMs * 0.8, 60_000);
  const settleMs = Math.min(periodMs - spreadMs - 200, 1_500 + latencyMs);
  let tick = Math.floor(now / periodMs) * periodMs;
  while (tick + spreadMs + settleMs <= now) tick += periodMs;
  return tick + spreadMs + settleMs;
}

interface LockHolder {
  child: ChildProcess;
  /** When BEGIN IMMEDIATE succeeded, and how long it waited for a gap between the daemon's transactions. */
  locked: Promise<{ locked: number; waitedMs: number }>;
  released: Promise<{ released: number }>;
}

function holdLock(dbPath: string, holdMs: number): LockHolder {
  const child = spawn(process.execPath, [LOCK_HOLDER, dbPath, String(holdMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Record<string, number>[] = [];
  const waiters: (() => void)[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, newline)) as Record<string, number>);
      buffered = buffered.slice(newline + 1);
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  const field = <T>(name: string) =>
    new Promise<T>((resolvePromise, reject) => {
      const check = () => {
        const found = lines.find((line) => name in line);
        if (found) return resolvePromise(found as T);
        if (child.exitCode !== null) return reject(new Error(`the lock holder exited (${child.exitCode}) before "${name}"`));
        waiters.push(check);
      };
      child.once('exit', () => waiters.splice(0).forEach((wake) => wake()));
      check();
    });
  return { child, locked: field('locked'), released: field('released') };
}

interface Mark {
  at: number;
  /** How long the scrape took (seconds): the daemon answers it on the same thread as everything else. */
  scrapeSeconds: number;
  sample: DaemonSample;
  /** The daemon's own event-loop delay since its previous scrape (prom-client's nodejs_eventloop_lag_*), seconds. */
  loopLag: { p99: number | null; max: number | null };
}

async function mark(url: string): Promise<Mark> {
  const at = Date.now();
  const { text, seconds } = await scrapeMetrics(url);
  const gauge = (name: string) => {
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? null : round(Number(value), 3);
  };
  return { at, scrapeSeconds: round(seconds, 3)!, sample: readDaemonSample(text), loopLag: { p99: gauge('nodejs_eventloop_lag_p99_seconds'), max: gauge('nodejs_eventloop_lag_max_seconds') } };
}

function startDelay(from: Mark, to: Mark): PhaseDelay {
  const buckets = bucketsBetween(from.sample.startDelay.buckets, to.sample.startDelay.buckets);
  const q = (quantile: number) => ({ seconds: round(histogramQuantile(quantile, buckets)), beyondLastBucket: quantileBeyondLastBucket(quantile, buckets) });
  const p99 = q(0.99);
  return {
    probes: to.sample.probes - from.sample.probes,
    observations: to.sample.startDelay.count - from.sample.startDelay.count,
    p50: q(0.5).seconds,
    p95: q(0.95).seconds,
    p99: p99.seconds,
    p99BeyondLastBucket: p99.beyondLastBucket,
    met: !p99.beyondLastBucket && (p99.seconds ?? 0) < START_DELAY_P99_LIMIT_SECONDS,
  };
}

function healthTimeline(samples: HealthSample[], origin: number): [number, number, number | null][] {
  const seconds = new Map<number, { sent: number; maxMs: number | null }>();
  for (const sample of samples) {
    const second = Math.floor((sample.at - origin) / 1000);
    const entry = seconds.get(second) ?? { sent: 0, maxMs: null };
    entry.sent += 1;
    entry.maxMs = sample.ms === null ? entry.maxMs : Math.max(entry.maxMs ?? 0, Math.round(sample.ms));
    seconds.set(second, entry);
  }
  return [...seconds].sort(([a], [b]) => a - b).map(([second, entry]) => [second, entry.sent, entry.maxMs]);
}

/** Probe rows per connection as the database holds them now (read-only; WAL readers never wait for the writer). */
function probeRowsPerConnection(dbPath: string): Map<string, number> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare('SELECT c.name AS connection, count(*) AS n FROM probes p JOIN connection_ids c ON c.id = p.connection_id GROUP BY c.name').all() as { connection: string; n: number }[];
    return new Map(rows.map((row) => [row.connection, row.n]));
  } finally {
    db.close();
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const machine = machineFacts();
  const dir = mkdtempSync(join(os.tmpdir(), 'authwatch-foreign-lock-'));
  const children: ChildProcess[] = [];
  const slack = await startSlackMock();
  const hardLimitMs = (options.warmupSeconds + options.lockSeconds + options.afterSeconds + options.recoverSeconds + 300) * 1000;
  const hardLimit = setTimeout(() => {
    console.error(`foreign-lock: still running after ${hardLimitMs / 1000} s; giving up`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(2);
  }, hardLimitMs);
  hardLimit.unref();
  try {
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = await createTestPki(pkiDir);
    const { tenants, options: tenantOptions } = planTenants(options.tenants, join(dir, 'secrets'));
    const specPath = join(dir, 'jira.json');
    writeFileSync(specPath, JSON.stringify({ keyFile: pki.good.keyFile, certFile: pki.good.certFile, tenants: tenantOptions, latencyMs: options.latencyMs } satisfies JiraProcessSpec));
    const jira = await startJiraProcess(specPath);
    children.push(jira.child);

    // Every (100 / flipPercent)-th connection is made to fail; it reads a secret file of its own.
    const flipEvery = Math.max(1, Math.round(100 / options.flipPercent));
    const flipDir = join(dir, 'secrets', 'flip');
    mkdirSync(flipDir);
    const flips: { name: string; file: string; good: string; wrong: string }[] = [];
    const connections = Array.from({ length: options.connections }, (_, index) => {
      const tenant = tenants[index % tenants.length];
      const name = `lock-${String(index).padStart(5, '0')}`;
      let file = tenant.goodSecretFile;
      if (index % flipEvery === flipEvery - 1) {
        file = join(flipDir, name);
        copyFileSync(tenant.goodSecretFile, file);
        flips.push({ name, file, good: tenant.goodSecretFile, wrong: tenant.wrongSecretFile });
      }
      const secret = { file };
      return {
        name,
        url: `${jira.baseUrl}/${tenant.name}`,
        deployment: tenant.deployment,
        auth: tenant.deployment === 'cloud' ? { type: 'basic', username: tenant.email, secret } : { type: 'bearer', secret },
        tls: { caFile: pki.caFile },
        ...(file === tenant.goodSecretFile ? {} : { failureThreshold: 1 }),
      };
    });
    const configPath = join(dir, 'authwatch.yaml');
    const dbPath = join(dir, 'authwatch.db');
    writeFileSync(configPath, configYaml({ connections, defaults: { schedule: options.schedule, timeout: '15s' }, alerting: { slack: { webhookUrl: { env: SLACK_ENV } } } }, dbPath));
    const logPath = join(dir, 'daemon.log');
    console.log(
      `foreign-lock: ${options.connections} connections on "${options.schedule}" (${flips.length} made to fail under the lock), lock held ${options.lockSeconds} s; ` +
        `load average ${os.loadavg().map((value) => value.toFixed(2)).join(' ')}; daemon NODE_OPTIONS "${unitNodeOptions()}" (the systemd unit's); work dir ${dir}`,
    );
    const daemon = spawnDaemon({ configPath, logPath, env: { [SLACK_ENV]: slack.webhookUrl }, logLevel: 'debug' });
    children.push(daemon);
    const url = await waitForStart(daemon, logPath, 120_000);
    console.log(`foreign-lock: daemon up at ${url}; warming up ${options.warmupSeconds} s`);
    await sleep(options.warmupSeconds * 1000);
    const warm = await mark(url);
    if (warm.sample.probes < options.connections) throw new Error(`after the warm-up only ${warm.sample.probes} probes for ${options.connections} connections`);
    const slackBefore = slack.requests.length;

    // Baseline: one period before the lock, /healthz sampled from here to the end.
    const health = sampleHealthz(url, options.healthzIntervalMs);
    const healthFrom = Date.now();
    const cpuAtStart = processCpuSeconds(daemon.pid!);
    await sleep(options.periodSeconds * 1000);
    const before = await mark(url);
    const lock = holdLock(dbPath, options.lockSeconds * 1000);
    children.push(lock.child);
    const { locked: lockedAt, waitedMs } = await lock.locked;
    for (const flip of flips) copyFileSync(flip.wrong, flip.file);
    console.log(`foreign-lock: write lock held by pid ${lock.child.pid}; ${flips.length} secrets replaced with wrong ones`);
    const { released: releasedAt } = await lock.released;
    const atRelease = await mark(url);
    console.log(`foreign-lock: lock released after ${((releasedAt - lockedAt) / 1000).toFixed(1)} s; watching ${options.afterSeconds} s`);
    await sleep(Math.max(0, releasedAt + options.afterSeconds * 1000 - Date.now()));
    const after = await mark(url);
    for (const flip of flips) copyFileSync(flip.good, flip.file);
    console.log(`foreign-lock: secrets restored; ${options.recoverSeconds} s for the recoveries`);
    await sleep(options.recoverSeconds * 1000);
    // At a quiet moment every probe of the period is done: logged probes and stored rows can be compared exactly.
    await sleep(Math.max(0, nextQuietMoment(Date.now(), options.periodSeconds, options.latencyMs) - Date.now()));
    const quietAt = Date.now();
    const fdsAtQuiet = readdirSync(`/proc/${daemon.pid}/fd`).length;
    const rows = probeRowsPerConnection(dbPath);
    const logs = readLogLines(logPath);
    const end = await mark(url);
    const cpuSeconds = processCpuSeconds(daemon.pid!) - cpuAtStart;
    const samples = await health.stop();
    const peakRssMiB = round(processMemory(daemon.pid!).peakRssBytes / 2 ** 20, 1);
    await stopProcess(daemon, 30_000);
    await stopProcess(jira.child, 10_000);

    // Probes: per connection, the "probe" log lines (one per probe made) against the stored rows.
    const logged = new Map<string, number>();
    let loggedDuringLock = 0;
    for (const line of logs) {
      if (line.msg !== 'probe' || !line.connection) continue;
      logged.set(line.connection, (logged.get(line.connection) ?? 0) + 1);
      const at = Date.parse(line.timestamp ?? '');
      if (at >= lockedAt && at <= releasedAt) loggedDuringLock += 1;
    }
    let missing = 0;
    let extra = 0;
    for (const { name } of connections) {
      const difference = (logged.get(name) ?? 0) - (rows.get(name) ?? 0);
      if (difference > 0) missing += difference;
      else extra -= difference;
    }
    const skippedTicks = logs.filter((line) => typeof line.msg === 'string' && line.msg.includes('tick skipped') && Date.parse(line.timestamp ?? '') >= lockedAt).length;

    // Slack: the messages after the warm-up, per connection and kind (the fallback text is "NAME: title — …").
    const messages = new Map<string, { opened: number; resolved: number; other: number }>();
    for (const request of slack.requests.slice(slackBefore)) {
      const text = String((request.body as { text?: unknown })?.text ?? '');
      const name = text.slice(0, text.indexOf(':'));
      const entry = messages.get(name) ?? { opened: 0, resolved: 0, other: 0 };
      if (text.includes(': auth regressed')) entry.opened += 1;
      else if (text.includes(': auth works again')) entry.resolved += 1;
      else entry.other += 1;
      messages.set(name, entry);
    }
    const flipNames = new Set(flips.map((flip) => flip.name));
    const perFlip = flips.map((flip) => messages.get(flip.name) ?? { opened: 0, resolved: 0, other: 0 });
    const notifications = {
      connectionsMadeToFail: flips.length,
      exactlyOneOpen: perFlip.filter((entry) => entry.opened === 1).length,
      noOpen: perFlip.filter((entry) => entry.opened === 0).length,
      severalOpens: perFlip.filter((entry) => entry.opened > 1).length,
      exactlyOneResolve: perFlip.filter((entry) => entry.resolved === 1).length,
      noResolve: perFlip.filter((entry) => entry.resolved === 0).length,
      severalResolves: perFlip.filter((entry) => entry.resolved > 1).length,
      messagesForOthers: [...messages].filter(([name]) => !flipNames.has(name)).reduce((sum, [, entry]) => sum + entry.opened + entry.resolved + entry.other, 0),
      otherKinds: perFlip.reduce((sum, entry) => sum + entry.other, 0),
      total: slack.requests.length - slackBefore,
    };

    const phases: [string, number, number][] = [
      // Requests sent in the last second before the lock may be answered under it: they count for no phase.
      ['before', healthFrom, before.at - 1000],
      ['during', lockedAt, releasedAt],
      ['after', releasedAt, end.at],
    ];
    const healthByPhase = Object.fromEntries(phases.map(([name, from, to]) => [name, summarizeHealth(samples, from, to, HEALTHZ_LIMIT_MS)])) as Record<string, HealthSummary>;
    const delays = { before: startDelay(warm, before), during: startDelay(before, atRelease), after: startDelay(atRelease, after), recovery: startDelay(after, end) };
    const verdict = {
      startDelayP99During: { value: delays.during.p99, limitSeconds: START_DELAY_P99_LIMIT_SECONDS, met: delays.during.met },
      startDelayP99After: { value: delays.after.p99, limitSeconds: START_DELAY_P99_LIMIT_SECONDS, met: delays.after.met },
      // The lock episode: from the lock to the end; "before" is the control (what the machine gives without a lock).
      healthz: { maxMs: Math.max(healthByPhase.during.maxMs ?? Infinity, healthByPhase.after.maxMs ?? Infinity), limitMs: HEALTHZ_LIMIT_MS, met: healthByPhase.during.met && healthByPhase.after.met },
      noTickSkipped: { skipped: skippedTicks, met: skippedTicks === 0 },
      everyProbeStored: { logged: [...logged.values()].reduce((a, b) => a + b, 0), rows: [...rows.values()].reduce((a, b) => a + b, 0), missing, extra, met: missing === 0 && extra === 0 },
      notificationsExactlyOnce: {
        met: notifications.exactlyOneOpen === flips.length && notifications.exactlyOneResolve === flips.length && notifications.messagesForOthers === 0 && notifications.otherKinds === 0,
      },
    };
    const met = Object.values(verdict).every((criterion) => criterion.met);
    const result = {
      at: new Date().toISOString(),
      met,
      verdict,
      options: { ...options, out: undefined },
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((value) => round(value, 2)) },
      lock: { waitedForItMs: waitedMs, heldSeconds: round((releasedAt - lockedAt) / 1000, 2) },
      healthz: healthByPhase,
      startDelay: delays,
      scrapes: Object.fromEntries(Object.entries({ warm, before, atRelease, after, end }).map(([name, m]) => [name, { atSeconds: round((m.at - lockedAt) / 1000, 1), scrapeSeconds: m.scrapeSeconds, loopLag: m.loopLag }])),
      /** Per second from the baseline on (seconds from the lock): /healthz requests sent, and the slowest answer (ms). */
      healthzTimeline: healthTimeline(samples, lockedAt),
      probes: { loggedDuringLock, skippedTicksFromLock: skippedTicks, quietMomentAfterReleaseSeconds: round((quietAt - releasedAt) / 1000, 1), openFdsAtQuietMoment: fdsAtQuiet },
      notifications,
      daemon: { cpuPercentOfOneCore: round((100 * cpuSeconds) / ((end.at - before.at) / 1000 + options.periodSeconds), 1), peakRssMiB },
      scrapeErrors,
      logMessages: countLogMessages(logs, (line) => line.level !== 'info' && Boolean(line.msg)),
    };
    printReport(result, delays, healthByPhase);
    writeResults(options.out, result);
    return met ? 0 : 1;
  } finally {
    clearTimeout(hardLimit);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await slack.close();
    if (options.keep) console.log(`work dir kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`foreign-lock: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
