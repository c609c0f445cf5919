// /healthz sampled at a fixed rate, each request timed on its own: a request is sent every intervalMs whether or not
// the previous ones were answered, so a daemon whose event loop stops for 5 s shows 5 s answers (and a hundred of
// them), not one late sample.
import http from 'node:http';

export interface HealthSample {
  /** When the request was sent (epoch ms). */
  at: number;
  /** Milliseconds to the whole answer; null when the request failed. */
  ms: number | null;
  status: number | null;
  error: string | null;
}

export interface HealthSummary {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Answers slower than the limit, and failed requests. */
  overLimit: number;
  errors: number;
  met: boolean;
}

const TIMEOUT_MS = 60_000;

function one(url: URL): Promise<HealthSample> {
  const at = Date.now();
  const started = performance.now();
  return new Promise((resolve) => {
    // A fresh connection each time (no keep-alive): what a load balancer's or systemd's health check does.
    const request = http.get(url, { agent: false, timeout: TIMEOUT_MS }, (response) => {
      response.resume();
      response.once('end', () => resolve({ at, ms: performance.now() - started, status: response.statusCode ?? null, error: null }));
    });
    request.once('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    request.once('error', (error: NodeJS.ErrnoException) => resolve({ at, ms: null, status: null, error: error.code ?? error.message }));
  });
}

export function sampleHealthz(daemonUrl: string, intervalMs: number): { stop(): Promise<HealthSample[]> } {
  const url = new URL('/healthz', daemonUrl);
  const pending: Promise<HealthSample>[] = [];
  const timer = setInterval(() => pending.push(one(url)), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      return Promise.all(pending);
    },
  };
}

export function summarizeHealth(samples: HealthSample[], from: number, to: number, limitMs: number): HealthSummary {
  const inWindow = samples.filter((sample) => sample.at >= from && sample.at < to);
  const answered = inWindow.filter((sample) => sample.ms !== null && sample.status === 200).map((sample) => sample.ms!).sort((a, b) => a - b);
  const quantile = (q: number) => (answered.length === 0 ? null : Number(answered[Math.min(answered.length - 1, Math.ceil(q * answered.length) - 1)].toFixed(1)));
  const errors = inWindow.length - answered.length;
  const overLimit = answered.filter((ms) => ms > limitMs).length + errors;
  return { samples: inWindow.length, p50Ms: quantile(0.5), p99Ms: quantile(0.99), maxMs: quantile(1), overLimit, errors, met: inWindow.length > 0 && overLimit === 0 };
}
