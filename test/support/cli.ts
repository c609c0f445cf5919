// Runs the built CLI (dist/src/cli/main.js) as a process, the way a user or systemd would.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
  /** Node.js options before the script, e.g. --expose-gc. */
  nodeArgs?: string[];
}

/** Environment for child processes: the test's own, minus anything that could leak in from the developer's shell. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.AUTHWATCH_CONFIG;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_PATH, ...args], { env: childEnv(options.env), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

export interface LogLine {
  timestamp: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** `authwatch run` as a child process, with its JSON log collected as it arrives. */
export class DaemonProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    configPath: string,
    options: { env?: Record<string, string | undefined>; args?: string[]; logLevel?: string; nodeArgs?: string[] } = {},
  ) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_PATH, '--config', configPath, '--log-level', options.logLevel ?? 'debug', 'run', ...(options.args ?? [])], {
      env: childEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = once(this.child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** Every JSON log line so far (non-JSON lines are kept as msg). */
  logs(): LogLine[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as LogLine;
        } catch {
          return { timestamp: '', level: 'raw', msg: line };
        }
      });
  }

  /** Waits until a log line matches, or fails with the log so far. */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 30_000, what = 'log line'): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.logs().find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) break;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}\n--- stdout ---\n${this.stdout.slice(-5000)}\n--- stderr ---\n${this.stderr.slice(-2000)}`);
  }

  /** The URL the daemon listens on, from its start line. */
  async url(timeoutMs = 30_000): Promise<string> {
    const started = await this.waitForLog((line) => line.msg === 'authwatch started', timeoutMs, 'authwatch started');
    return String(started.listen);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  wait(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }
}

/** Polls until `check` returns a truthy value (or throws the last error after timeoutMs). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw lastError instanceof Error ? lastError : new Error(`condition not met within ${timeoutMs} ms`);
}
