// `npm run bench -- inflight-memory`: what one probe in flight costs in memory. N real probers (src/probe, shared TLS
// context as in the daemon) probe the benchmark's simulated Jira (its own process), which answers only after
// --latency-ms, so all N sit in flight at once — connected, TLS done, request sent, waiting — as they do when the
// daemon runs behind or Jira is slow. The RSS, V8 heap and external memory of this process are read after a full
// collection before, while the N wait, and after they finished; the difference divided by N is the cost per probe.
//
//   node dist/bench/inflight-memory.js [--probes 500] [--latency-ms 8000] [--rounds 2] [--out FILE]
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseConfigText } from '../src/config/load.js';
import { createTestPki } from '../src/demo/pki.js';
import { generateApiToken } from '../src/demo/simulated-jira.js';
import { createProber, SecureContextCache } from '../src/probe/prober.js';
import { configYaml } from '../test/support/daemon-config.js';
import { machineFacts, round, stopProcess, writeResults } from './harness.js';
import { startJiraProcess } from './jira-launcher.js';
import type { JiraProcessSpec } from './jira-process.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MIB = (bytes: number) => round(bytes / 2 ** 20, 2)!;

interface Reading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  fds: number;
}

// A full collection on demand without --expose-gc on the command line (npm run bench passes no node options).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function read(): Reading {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers, fds: readdirSync('/proc/self/fd').length };
}

function perProbe(from: Reading, to: Reading, probes: number): Record<string, number> {
  const kib = (bytes: number) => round(bytes / 1024 / probes, 1)!;
  return { rssKiB: kib(to.rss - from.rss), heapUsedKiB: kib(to.heapUsed - from.heapUsed), externalKiB: kib(to.external - from.external), fds: round((to.fds - from.fds) / probes, 2)! };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      probes: { type: 'string', default: '500' },
      'latency-ms': { type: 'string', default: '8000' },
      rounds: { type: 'string', default: '2' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'inflight-memory-latest.json') },
    },
  });
  const probes = Number(values.probes);
  const latencyMs = Number(values['latency-ms']);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(os.tmpdir(), 'authwatch-inflight-'));
  const machine = machineFacts();
  try {
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = await createTestPki(pkiDir);
    const token = generateApiToken();
    const email = 'integration@bench.example.com';
    const secretFile = join(dir, 'token');
    writeFileSync(secretFile, `${token}\n`, { mode: 0o600 });
    const spec: JiraProcessSpec = {
      keyFile: pki.good.keyFile,
      certFile: pki.good.certFile,
      tenants: [{ name: 'bench', deployment: 'cloud', user: { emailAddress: email }, credentials: { apiToken: token } }],
      latencyMs,
    };
    const specPath = join(dir, 'jira.json');
    writeFileSync(specPath, JSON.stringify(spec));
    const jira = await startJiraProcess(specPath);
    try {
      const connections = Array.from({ length: probes }, (_, index) => ({
        name: `inflight-${index}`,
        url: `${jira.baseUrl}/bench`,
        deployment: 'cloud',
        auth: { type: 'basic', username: email, secret: { file: secretFile } },
        tls: { caFile: pki.caFile },
      }));
      const config = parseConfigText(configYaml({ connections, defaults: { timeout: `${Math.ceil(latencyMs / 1000) + 15}s` } }, join(dir, 'unused.db')));
      const secureContexts = new SecureContextCache();
      const fingerprintKey = randomBytes(32);
      const probers = config.connections.map((connection) => createProber(connection, { fingerprintKey, secureContexts }));
      const results: Record<string, unknown>[] = [];
      for (let pass = 1; pass <= rounds; pass += 1) {
        const idle = read();
        const started = Date.now();
        const pending = probers.map((prober) => prober.probe());
        // Every probe has connected, shaken hands and sent its request long before Jira answers.
        await sleep(Math.min(latencyMs / 2, 4_000 + probes * 4));
        const waiting = read();
        const observations = await Promise.all(pending);
        const done = read();
        const ok = observations.filter((observation) => observation.http?.status === 200).length;
        const row = {
          round: pass,
          okProbes: ok,
          seconds: round((Date.now() - started) / 1000, 1),
          idleMiB: { rss: MIB(idle.rss), heapUsed: MIB(idle.heapUsed), external: MIB(idle.external) },
          waitingMiB: { rss: MIB(waiting.rss), heapUsed: MIB(waiting.heapUsed), external: MIB(waiting.external) },
          doneMiB: { rss: MIB(done.rss), heapUsed: MIB(done.heapUsed), external: MIB(done.external) },
          inFlightPerProbe: perProbe(idle, waiting, probes),
          keptPerProbe: perProbe(idle, done, probes),
        };
        results.push(row);
        console.log(
          `round ${pass}: ${ok}/${probes} ok; per probe in flight: RSS ${row.inFlightPerProbe.rssKiB} KiB, heap ${row.inFlightPerProbe.heapUsedKiB} KiB, ` +
            `external ${row.inFlightPerProbe.externalKiB} KiB, ${row.inFlightPerProbe.fds} fds; RSS kept after: ${row.keptPerProbe.rssKiB} KiB/probe ` +
            `(RSS ${row.idleMiB.rss} → ${row.waitingMiB.rss} → ${row.doneMiB.rss} MiB)`,
        );
      }
      writeResults(resolve(values.out!), { at: new Date().toISOString(), probes, latencyMs, machine, results });
    } finally {
      await stopProcess(jira.child, 10_000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`inflight-memory: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
