// Real Prometheus and Alertmanager processes for tests, each on a free loopback port with its own temporary
// directory. Reusable by later end-to-end tests (e.g. Prometheus scraping a running authwatch).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireTool } from './deploy-tools.js';

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The temporary directory holding its config and storage. */
  dir: string;
  /** Everything it printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the OS picks it; the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface DaemonSpec {
  tool: string;
  args: (port: number, dir: string) => string[];
  /** Path answering 200 once the server serves requests. */
  readyPath: string;
  dir: string;
}

async function startDaemon(spec: DaemonSpec): Promise<RunningServer> {
  const executable = requireTool(spec.tool);
  let lastError: Error | null = null;
  // Another process may take the port between freePort() and the bind: try a fresh port a few times.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    // Run inside its directory: relative paths Alertmanager opens itself (api_url_file) resolve there.
    const child = spawn(executable, spec.args(port, spec.dir), { cwd: spec.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const url = `http://127.0.0.1:${port}`;
    const stop = () => stopChild(child);
    try {
      await waitUntilReady(child, `${url}${spec.readyPath}`, () => output);
      return {
        url,
        dir: spec.dir,
        output: () => output,
        stop: async () => {
          await stop();
          rmSync(spec.dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await stop();
      lastError = error as Error;
      if (!/address already in use/.test(output)) break;
    }
  }
  rmSync(spec.dir, { recursive: true, force: true });
  throw lastError ?? new Error(`${spec.tool} did not start`);
}

async function waitUntilReady(child: ChildProcess, readyUrl: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${readyUrl} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    }
    try {
      const response = await fetch(readyUrl);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${readyUrl} was not ready within 30 s:\n${output()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/**
 * Starts `prometheus` with `configYaml` as prometheus.yml; `files` are written beside it (rule files, relative
 * to the config as in deploy/prometheus/). With no scrape targets it still evaluates any PromQL query.
 */
export async function startPrometheus(options: { configYaml: string; files?: Record<string, string> }): Promise<RunningServer & { query(expr: string): Promise<PromQueryResult> }> {
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-prometheus-'));
  writeFiles(dir, { 'prometheus.yml': options.configYaml, ...options.files });
  const server = await startDaemon({
    tool: 'prometheus',
    dir,
    readyPath: '/-/ready',
    args: (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
  });
  return { ...server, query: (expr: string) => instantQuery(server.url, expr) };
}

export interface PromQueryResult {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

/** GET /api/v1/query: Prometheus answers 400 with errorType "bad_data" for PromQL that does not parse. */
export async function instantQuery(prometheusUrl: string, expr: string): Promise<PromQueryResult> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await response.json()) as PromQueryResult;
}

/**
 * GET /api/v1/query_range, as Grafana runs a time-series panel's query over the dashboard's time range.
 * `start`/`end` in seconds since the epoch, `stepSeconds` the resolution.
 */
export async function rangeQuery(prometheusUrl: string, expr: string, range: { start: number; end: number; stepSeconds: number }): Promise<PromQueryResult> {
  const params = new URLSearchParams({ query: expr, start: String(range.start), end: String(range.end), step: String(range.stepSeconds) });
  const response = await fetch(`${prometheusUrl}/api/v1/query_range?${params}`);
  return (await response.json()) as PromQueryResult;
}

/** Starts `prometheus-alertmanager` with `configYaml`; `files` (templates) are written beside it. Clustering is off. */
export async function startAlertmanager(options: { configYaml: string; files?: Record<string, string> }): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'authwatch-alertmanager-'));
  writeFiles(dir, { 'alertmanager.yml': options.configYaml, ...options.files });
  return startDaemon({
    tool: 'prometheus-alertmanager',
    dir,
    readyPath: '/-/ready',
    args: (port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=http://127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
  });
}
