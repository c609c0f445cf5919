// What the benchmarks that run the built daemon share: starting it with its JSON log in a file (as journald would
// take it), waiting for its start line, stopping a child, reading the log back, the machine's facts, and printing.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiToken, generatePat, type JiraDeployment, type TenantOptions } from '../src/demo/simulated-jira.js';
import { CLI_PATH, childEnv } from '../test/support/cli.js';
import { parseUnit } from '../test/support/deploy-systemd.js';

const UNIT_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'systemd', 'authwatch.service');

/**
 * The NODE_OPTIONS the shipped systemd unit starts the daemon with (its Environment= lines), so that a benchmark
 * measures the daemon as deployed; '' when the unit sets none.
 */
export function unitNodeOptions(): string {
  const entries = parseUnit(readFileSync(UNIT_PATH, 'utf8')).filter((entry) => entry.section === 'Service' && entry.key === 'Environment');
  let options = '';
  for (const { value } of entries) {
    const match = /^"?NODE_OPTIONS=(.*?)"?$/.exec(value);
    if (match) options = match[1];
  }
  return options;
}

export interface BenchTenant {
  name: string;
  deployment: JiraDeployment;
  email: string;
  goodSecretFile: string;
  wrongSecretFile: string;
}

/** Tenants alternate Cloud (basic: email + API token) and DC (bearer PAT); each has a right and a wrong secret file. */
export function planTenants(count: number, secretsDir: string): { tenants: BenchTenant[]; options: TenantOptions[] } {
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

export interface LogLine {
  timestamp?: string;
  level?: string;
  msg?: string;
  listen?: string;
  connection?: string;
  [field: string]: unknown;
}

/** How often each `level: msg` appears among the log lines `keep` lets through. */
export function countLogMessages(lines: readonly LogLine[], keep: (line: LogLine) => boolean): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    if (!keep(line)) continue;
    const key = `${line.level}: ${line.msg}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A benchmark's result as JSON at `path` (its folder made if needed), and a line saying where. */
export function writeResults(path: string, result: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results written to ${path}`);
}

export function readLogLines(path: string): LogLine[] {
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

export interface DaemonSpawn {
  configPath: string;
  logPath: string;
  /** Node.js options before the script (--cpu-prof, --max-semi-space-size=…). */
  nodeArgs?: string[];
  /** Options of `authwatch run` (--concurrency N). */
  runArgs?: string[];
  env?: Record<string, string | undefined>;
  /** NODE_OPTIONS of the daemon; default: the systemd unit's (unitNodeOptions). */
  nodeOptions?: string;
  /** Default info; debug logs every probe (a repeated outcome is a debug line). */
  logLevel?: 'info' | 'debug';
}

/** The built daemon (`authwatch run`), its stdout and stderr appended to logPath. */
export function spawnDaemon(spec: DaemonSpawn): ChildProcess {
  const logFd = openSync(spec.logPath, 'a');
  const args = [...(spec.nodeArgs ?? []), CLI_PATH, '--config', spec.configPath, '--log-level', spec.logLevel ?? 'info', 'run', ...(spec.runArgs ?? [])];
  const nodeOptions = spec.nodeOptions ?? unitNodeOptions();
  const env = childEnv({ ...spec.env, NODE_OPTIONS: nodeOptions === '' ? undefined : nodeOptions });
  const daemon = spawn(process.execPath, args, { env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  return daemon;
}

/** The daemon's URL from its "authwatch started" line. */
export async function waitForStart(daemon: ChildProcess, logPath: string, timeoutMs: number): Promise<string> {
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

/** SIGTERM, SIGKILL after graceMs; the seconds it took to exit. */
export async function stopProcess(child: ChildProcess, graceMs: number): Promise<number> {
  const started = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  return (Date.now() - started) / 1000;
}

export function round(value: number | null, digits = 3): number | null {
  return value === null ? null : Number(value.toFixed(digits));
}

export function machineFacts(): Record<string, unknown> {
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

export function pad(value: unknown, width: number): string {
  const text = value === null || value === undefined ? '-' : String(value);
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** Prints rows under titled, right-aligned columns. */
export function printColumns<T>(columns: [string, number, (row: T) => unknown][], rows: T[]): void {
  console.log(columns.map(([title, width]) => pad(title, width)).join('  '));
  for (const row of rows) console.log(columns.map(([, width, cell]) => pad(cell(row), width)).join('  '));
}

/** Scrapes that failed on a connection error (ECONNRESET seen at 10,000 connections while the daemon's loop is saturated) and were retried. */
export const scrapeErrors: string[] = [];

/** GET /metrics; one retry after a connection error, recorded in scrapeErrors (a second failure throws). */
export async function scrapeMetrics(url: string): Promise<{ text: string; seconds: number }> {
  try {
    return await scrapeOnce(url);
  } catch (error) {
    scrapeErrors.push(`${new Date().toISOString()} ${(error as Error).message}`);
    return scrapeOnce(url);
  }
}

async function scrapeOnce(url: string): Promise<{ text: string; seconds: number }> {
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(120_000) });
    text = await response.text();
  } catch (error) {
    // fetch's own message ("fetch failed") hides what happened: the socket error is its cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`GET ${url}/metrics failed after ${((performance.now() - started) / 1000).toFixed(1)} s: ${cause?.code ?? ''} ${cause?.message ?? (error as Error).message}`);
  }
  const seconds = (performance.now() - started) / 1000;
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return { text, seconds };
}
