// The benchmark's simulated Jira, in a process of its own so that its CPU is measured apart from the daemon's.
// Usage: node dist/bench/jira-process.js SPEC.json — SPEC holds the TLS key/cert files and the tenants with their
// credentials. Prints one JSON line {"baseUrl": ...} once listening; exits when its stdin closes (the benchmark
// died or is done) or on SIGTERM, so it never outlives the run.
import { readFileSync } from 'node:fs';
import { SimulatedJira, type TenantOptions } from '../src/demo/simulated-jira.js';

export interface JiraProcessSpec {
  keyFile: string;
  certFile: string;
  tenants: TenantOptions[];
  /** Answer every request this many milliseconds late (a Jira far away). */
  latencyMs?: number;
}

async function main(): Promise<void> {
  const specPath = process.argv[2];
  if (!specPath) throw new Error('usage: jira-process.js SPEC.json');
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as JiraProcessSpec;
  const jira = new SimulatedJira({
    tls: { key: readFileSync(spec.keyFile, 'utf8'), cert: readFileSync(spec.certFile, 'utf8') },
    tenants: spec.tenants,
    responseDelayMs: spec.latencyMs,
  });
  const baseUrl = await jira.start();
  // The request log is not needed here and would grow by one record per probe; trim it every few seconds.
  const trim = setInterval(() => {
    for (const name of jira.tenantNames()) jira.clearRequests(name);
  }, 5_000);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(trim);
    void jira.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop).on('close', stop).resume();
  process.stdout.write(`${JSON.stringify({ baseUrl })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`jira-process: ${(error as Error).message}\n`);
  process.exit(1);
});
