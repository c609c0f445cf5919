// `npm run bench -- side-by-side` (node dist/bench/side-by-side.js): CPU per probe of authwatch and of Prometheus
// blackbox_exporter doing the same work — a fresh TLS 1.3 handshake with an RSA-2048 certificate, Cloud basic auth
// on /rest/api/3/myself, the body read and checked — against the same simulated Jira, at the same probe rate.
//
//   node dist/bench/side-by-side.js [--rate 40] [--warmup-seconds 30] [--seconds 60] [--latency-ms 0]
//                                   [--blackbox /usr/bin/prometheus-blackbox-exporter] [--out FILE]
//                                   [--node-options "..."]  (default: the NODE_OPTIONS of the systemd unit)
//                                   [--cpu-prof DIR] [--authwatch-only]   (a V8 profile of the daemon; no peer)
//
// CPU per probe falls with load for both, so the peer is driven at the rate the daemon achieved (measured first),
// never flat out. authwatch runs on its default settings with `--rate × 10` connections on a 10-second schedule;
// blackbox_exporter gets `GET /probe` requests paced by this harness. CPU is user+system from /proc/PID/stat over the
// measured window, after a warm-up. The harness's own CPU (pacing, HTTP client) is not counted for either.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { generateApiToken } from '../src/demo/simulated-jira.js';
import { CLI_PATH, childEnv } from '../test/support/cli.js';
import { configYaml } from '../test/support/daemon-config.js';
import type { JiraProcessSpec } from './jira-process.js';
import { startJiraProcess } from './jira-launcher.js';
import { processCpuSeconds, processMemory } from './measure.js';
import { unitNodeOptions, writeResults } from './harness.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TENANT = 'bench';
const EMAIL = 'integration@bench.example.com';
const SCHEDULE_SECONDS = 10;

interface Options {
  rate: number;
  warmupSeconds: number;
  seconds: number;
  latencyMs: number;
  blackbox: string;
  out: string;
  nodeOptions: string;
  cpuProfDir: string | null;
  authwatchOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string', default: '40' },
      'warmup-seconds': { type: 'string', default: '30' },
      seconds: { type: 'string', default: '60' },
      'latency-ms': { type: 'string', default: '0' },
      blackbox: { type: 'string', default: '/usr/bin/prometheus-blackbox-exporter' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'side-by-side-latest.json') },
      'node-options': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'authwatch-only': { type: 'boolean', default: false },
    },
  });
  const whole = (name: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
    return value;
  };
  return {
    rate: whole('rate', values.rate!, 1),
    warmupSeconds: whole('warmup-seconds', values['warmup-seconds']!, 0),
    seconds: whole('seconds', values.seconds!, 10),
    latencyMs: whole('latency-ms', values['latency-ms']!, 0),
    blackbox: values.blackbox!,
    out: resolve(values.out!),
    nodeOptions: values['node-options'] ?? unitNodeOptions(),
    cpuProfDir: values['cpu-prof'] ? resolve(values['cpu-prof']) : null,
    authwatchOnly: values['authwatch-only']!,
  };
}

/** An RSA-2048 CA and a leaf for 127.0.0.1 signed by it, made with the openssl CLI. */
function makeRsaPki(dir: string): { caFile: string; keyFile: string; certFile: string } {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=authwatch bench CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('leaf.key'), '-out', file('leaf.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('leaf.pem'), '-days', '2', '-extfile', file('leaf.ext'));
  return { caFile: file('ca.pem'), keyFile: file('leaf.key'), certFile: file('leaf.pem') };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== null) return value;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s`);
}

interface Measurement {
  probes: number;
  seconds: number;
  probesPerSecond: number;
  cpuSeconds: number;
  cpuMsPerProbe: number;
  peakRssMiB: number;
  failures: number;
}

function measurement(probes: number, seconds: number, cpuSeconds: number, pid: number, failures: number): Measurement {
  return {
    probes,
    seconds: Number(seconds.toFixed(1)),
    probesPerSecond: Number((probes / seconds).toFixed(2)),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    cpuMsPerProbe: Number(((1000 * cpuSeconds) / Math.max(probes, 1)).toFixed(3)),
    peakRssMiB: Number((processMemory(pid).peakRssBytes / 2 ** 20).toFixed(1)),
    failures,
  };
}

const PROBES_TOTAL = /^authwatch_probes_total\{[^\n]*\} (\S+)$/gm;
const OK_PROBES = /^authwatch_probes_total\{[^\n]*outcome="ok"[^\n]*\} (\S+)$/gm;

async function probeCounts(url: string): Promise<{ all: number; ok: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return { all: sum(PROBES_TOTAL), ok: sum(OK_PROBES) };
}

async function measureAuthwatch(options: Options, work: string, baseUrl: string, caFile: string, secretFile: string): Promise<Measurement> {
  const connections = options.rate * SCHEDULE_SECONDS;
  const entries = Array.from({ length: connections }, (_, index) => ({
    name: `side-${String(index).padStart(5, '0')}`,
    url: `${baseUrl}/${TENANT}`,
    deployment: 'cloud',
    auth: { type: 'basic', username: EMAIL, secret: { file: secretFile } },
    tls: { caFile },
  }));
  const configPath = join(work, 'authwatch.yaml');
  // The daemon's defaults, except the schedule that sets the rate.
  writeFileSync(configPath, configYaml({ connections: entries, defaults: { schedule: `*/${SCHEDULE_SECONDS} * * * * *` } }, join(work, 'authwatch.db')));
  const logPath = join(work, 'authwatch.log');
  const log = openSync(logPath, 'w');
  const profile = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  const daemon = spawn(process.execPath, [...profile, CLI_PATH, '--config', configPath, 'run'], {
    env: childEnv({ NODE_OPTIONS: options.nodeOptions }),
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  try {
    const url = await waitUntil('authwatch started', 60_000, () => {
      const line = readFileSync(logPath, 'utf8').split('\n').find((text) => text.includes('"authwatch started"'));
      return line ? String((JSON.parse(line) as { listen: string }).listen) : null;
    });
    await sleep(options.warmupSeconds * 1000);
    const before = { at: performance.now(), cpu: processCpuSeconds(daemon.pid!), counts: await probeCounts(url) };
    await sleep(options.seconds * 1000);
    const cpu = processCpuSeconds(daemon.pid!);
    const at = performance.now();
    const counts = await probeCounts(url);
    const probes = counts.all - before.counts.all;
    return measurement(probes, (at - before.at) / 1000, cpu - before.cpu, daemon.pid!, probes - (counts.ok - before.counts.ok));
  } finally {
    await stop(daemon);
  }
}

async function measureBlackbox(options: Options, work: string, baseUrl: string, caFile: string, secret: string, rate: number): Promise<Measurement> {
  const configPath = join(work, 'blackbox.yml');
  writeFileSync(
    configPath,
    [
      'modules:',
      '  jira_myself:',
      '    prober: http',
      '    timeout: 15s',
      '    http:',
      '      method: GET',
      '      valid_status_codes: [200]',
      '      preferred_ip_protocol: ip4',
      '      headers: { Accept: application/json }',
      '      fail_if_body_not_matches_regexp: [\'"accountId"\']',
      `      basic_auth: { username: ${JSON.stringify(EMAIL)}, password: ${JSON.stringify(secret)} }`,
      `      tls_config: { ca_file: ${JSON.stringify(caFile)} }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const port = await freePort();
  const exporter = spawn(options.blackbox, [`--config.file=${configPath}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const probeUrl = `http://127.0.0.1:${port}/probe?module=jira_myself&target=${encodeURIComponent(`${baseUrl}/${TENANT}/rest/api/3/myself`)}`;
  let completed = 0;
  let failed = 0;
  let inFlight = 0;
  const probeOnce = async () => {
    inFlight += 1;
    try {
      const text = await (await fetch(probeUrl)).text();
      if (!/^probe_success 1$/m.test(text)) failed += 1;
    } catch {
      failed += 1;
    } finally {
      inFlight -= 1;
      completed += 1;
    }
  };
  // Paced like a schedule: probes are started at `rate` per second, whatever the previous ones are doing.
  let started = 0;
  const pacingStart = performance.now();
  const pacer = setInterval(() => {
    const due = Math.floor(((performance.now() - pacingStart) / 1000) * rate);
    while (started < due && inFlight < 1000) {
      started += 1;
      void probeOnce();
    }
  }, 5);
  try {
    await waitUntil('blackbox_exporter answering', 30_000, async () => ((await fetch(`http://127.0.0.1:${port}/metrics`)).ok ? true : null));
    await sleep(options.warmupSeconds * 1000);
    const before = { at: performance.now(), cpu: processCpuSeconds(exporter.pid!), completed, failed };
    await sleep(options.seconds * 1000);
    const cpu = processCpuSeconds(exporter.pid!);
    const at = performance.now();
    return measurement(completed - before.completed, (at - before.at) / 1000, cpu - before.cpu, exporter.pid!, failed - before.failed);
  } finally {
    clearInterval(pacer);
    await waitUntil('the last blackbox probes', 30_000, () => (inFlight === 0 ? true : null)).catch(() => undefined);
    await stop(exporter);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = mkdtempSync(join(os.tmpdir(), 'authwatch-side-by-side-'));
  let jira: ChildProcess | undefined;
  try {
    const pki = makeRsaPki(work);
    const token = generateApiToken();
    const secretFile = join(work, 'token');
    writeFileSync(secretFile, token, { mode: 0o600 });
    const spec: JiraProcessSpec = {
      keyFile: pki.keyFile,
      certFile: pki.certFile,
      latencyMs: options.latencyMs,
      tenants: [{ name: TENANT, deployment: 'cloud', user: { emailAddress: EMAIL }, credentials: { apiToken: token } }],
    };
    const specPath = join(work, 'jira.json');
    writeFileSync(specPath, JSON.stringify(spec));
    const started = await startJiraProcess(specPath);
    jira = started.child;

    console.log(
      `authwatch: ${options.rate * SCHEDULE_SECONDS} connections every ${SCHEDULE_SECONDS} s (${options.rate} probes/s), ${options.warmupSeconds} s warm-up, ${options.seconds} s measured, NODE_OPTIONS "${options.nodeOptions}"…`,
    );
    const authwatch = await measureAuthwatch(options, work, started.baseUrl, pki.caFile, secretFile);
    console.log(`  ${authwatch.probes} probes at ${authwatch.probesPerSecond}/s, ${authwatch.cpuMsPerProbe} ms CPU per probe, ${authwatch.failures} not ok`);
    if (options.authwatchOnly) return;
    console.log(`blackbox_exporter: paced at authwatch's achieved ${authwatch.probesPerSecond} probes/s…`);
    const blackbox = await measureBlackbox(options, work, started.baseUrl, pki.caFile, token, authwatch.probesPerSecond);
    console.log(`  ${blackbox.probes} probes at ${blackbox.probesPerSecond}/s, ${blackbox.cpuMsPerProbe} ms CPU per probe, ${blackbox.failures} not ok`);

    const ratio = Number((authwatch.cpuMsPerProbe / blackbox.cpuMsPerProbe).toFixed(2));
    const result = {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), node: process.version, kernel: os.release() },
      command: `node dist/bench/side-by-side.js ${process.argv.slice(2).join(' ')}`.trim(),
      options,
      authwatch,
      blackbox,
      cpuPerProbeRatio: ratio,
    };
    writeResults(options.out, result);
    console.log(`CPU per probe: authwatch ${authwatch.cpuMsPerProbe} ms, blackbox_exporter ${blackbox.cpuMsPerProbe} ms: ${ratio}× (${options.out})`);
  } finally {
    if (jira) await stop(jira);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`side-by-side: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
