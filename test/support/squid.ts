// A real squid (Debian's /usr/sbin/squid) for the proxy tests: its own squid.conf, pid file, logs and (optionally)
// an htpasswd file for basic_ncsa_auth, all in a temporary directory; run in the foreground (`squid -N`) on a free
// loopback port and stopped by its PID.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { closedPort } from './jira-fixture.js';

const run = promisify(execFile);
export const SQUID = '/usr/sbin/squid';
export const BASIC_NCSA_AUTH = '/usr/lib/squid/basic_ncsa_auth';

export interface SquidOptions {
  /** Require basic proxy authentication with these credentials. */
  auth?: { username: string; password: string };
  /** Only CONNECTs to these ports are allowed; others get squid's 403 ERR_ACCESS_DENIED page. */
  allowedPorts?: number[];
}

export interface Squid {
  url: string;
  port: number;
  pid: number;
  /** The access log: one line per request, `time client status method url user`. */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

export async function startSquid(options: SquidOptions = {}): Promise<Squid> {
  const dir = await mkdtemp(join(tmpdir(), 'authwatch-squid-'));
  // squid drops to the `proxy` user after start: it must be able to write its logs here.
  await chmod(dir, 0o777);
  const port = await closedPort();
  const lines = [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${join(dir, 'squid.pid')}`,
    `cache_log ${join(dir, 'cache.log')}`,
    'logformat authwatch %ts.%03tu %>a %Ss/%03>Hs %rm %ru %un',
    `access_log stdio:${join(dir, 'access.log')} authwatch`,
    `coredump_dir ${dir}`,
    'netdb_filename none',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'cache deny all',
    'acl CONNECT method CONNECT',
  ];
  if (options.allowedPorts) {
    lines.push(`acl allowed_ports port ${options.allowedPorts.join(' ')}`, 'http_access deny CONNECT !allowed_ports');
  }
  if (options.auth) {
    const { stdout } = await run('openssl', ['passwd', '-apr1', options.auth.password]);
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `${options.auth.username}:${stdout.trim()}\n`, { mode: 0o644 });
    lines.push(
      `auth_param basic program ${BASIC_NCSA_AUTH} ${htpasswd}`,
      'auth_param basic realm authwatch-test-proxy',
      'acl authenticated proxy_auth REQUIRED',
      'http_access allow authenticated',
    );
  } else {
    lines.push('acl loopback src 127.0.0.1/32', 'http_access allow loopback');
  }
  lines.push('http_access deny all');
  const config = join(dir, 'squid.conf');
  await writeFile(config, `${lines.join('\n')}\n`);

  const child: ChildProcess = spawn(SQUID, ['-N', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
    stop,
  };
}

/** Squid writes no "ready" line to stdout; it is ready when its port accepts connections. */
async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`squid exited with ${child.exitCode}: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`squid did not listen on 127.0.0.1:${port}: ${output()}`);
}
