// The /metrics side of the scale target: series per connection and the time one scrape takes at 1,000 and 10,000
// connections, measured on src/metrics itself (the daemon's only thread renders the scrape, so its time is CPU the
// probes do not get). Every connection has had a probe over TLS, a state and a token expiry: the most series a
// connection has by default. Run by `npm run bench` first; alone: node dist/bench/metrics-scrape.js [1000 10000].
import { fileURLToPath } from 'node:url';
import { AuthwatchMetrics, type MetricsConnection } from '../src/metrics/metrics.js';
import type { TlsDetails } from '../src/probe/observation.js';

export interface ScrapeMeasurement {
  connections: number;
  detail: boolean;
  seriesPerConnection: number;
  series: number;
  bytes: number;
  /** Median and worst of the timed renders, milliseconds. */
  medianMs: number;
  maxMs: number;
  renders: number;
}

const TLS: TlsDetails = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_128_GCM_SHA256',
  subject: 'CN=acme.atlassian.net',
  issuer: 'CN=Bench CA',
  sans: [],
  serial: '01',
  fingerprint256: 'AB:CD',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-12-31T00:00:00.000Z',
  chainEarliestNotAfter: '2026-10-01T00:00:00.000Z',
  authorized: true,
  authorizationError: null,
};

function loaded(count: number, detail: boolean): AuthwatchMetrics {
  const metrics = new AuthwatchMetrics({ detail, schedulePeriodSeconds: () => 60 });
  const connections: MetricsConnection[] = Array.from({ length: count }, (_, i) => ({
    name: `integration-${String(i).padStart(5, '0')}`,
    url: `https://tenant-${i % 100}.atlassian.net`,
    deployment: 'cloud',
    auth: { type: 'basic' },
    labels: { team: `team-${i % 20}` },
    tokenExpiresAt: '2027-05-01',
  }));
  metrics.setConnections(connections);
  metrics.setChannels(['slack', 'alertmanager']);
  metrics.configReloaded(true);
  const at = new Date().toISOString();
  const timings = { dns: 0.002, connect: 0.01, tls: 0.03, request: 0.001, first_byte: 0.2, download: 0.001, total: 0.244 };
  connections.forEach((connection, i) => {
    const failing = i % 10 === 0;
    metrics.recordProbe(connection.name, { outcome: failing ? 'basic_auth_rejected' : 'ok', httpStatus: failing ? 401 : 200, timings, at, tls: TLS });
    metrics.recordState(connection.name, failing ? { state: 'regressed', consecutiveFailures: 2, lastSuccessAt: at } : { state: 'ok', consecutiveFailures: 0, lastSuccessAt: at });
  });
  return metrics;
}

export async function measureScrape(count: number, detail = false, renders = 15): Promise<ScrapeMeasurement> {
  const metrics = loaded(count, detail);
  const text = await metrics.render();
  const first = 'integration-00000';
  const perConnection = text.split('\n').filter((line) => line.includes(`connection="${first}"`)).length;
  const series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  for (let i = 0; i < 3; i += 1) await metrics.render(); // warm-up: JIT
  const times: number[] = [];
  for (let i = 0; i < renders; i += 1) {
    const started = performance.now();
    await metrics.render();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Number(ms.toFixed(2));
  return { connections: count, detail, seriesPerConnection: perConnection, series, bytes: Buffer.byteLength(text), medianMs: round(times[Math.floor(times.length / 2)]!), maxMs: round(times.at(-1)!), renders };
}

export async function measureScrapes(counts: readonly number[] = [1000, 10000]): Promise<ScrapeMeasurement[]> {
  const results: ScrapeMeasurement[] = [];
  for (const count of counts) for (const detail of [false, true]) results.push(await measureScrape(count, detail));
  return results;
}

export function printScrapes(results: readonly ScrapeMeasurement[]): void {
  console.log('metrics: one /metrics render (default process metrics included)');
  console.log('  connections  detail  series/conn  series   bytes       median ms  max ms');
  for (const r of results) {
    console.log(
      `  ${String(r.connections).padStart(11)}  ${(r.detail ? 'on' : 'off').padStart(6)}  ${String(r.seriesPerConnection).padStart(11)}  ${String(r.series).padStart(7)}  ${String(r.bytes).padStart(10)}  ${String(r.medianMs).padStart(9)}  ${String(r.maxMs).padStart(6)}`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const results = await measureScrapes(counts.length > 0 ? counts : undefined);
  printScrapes(results);
  console.log(JSON.stringify(results));
}
