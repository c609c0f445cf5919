// How a probe is stored compactly (pure): the observation splits into what repeats from probe to probe (the
// detail: stored once in probe_details and referenced until it changes) and what differs on every probe (its
// start, its timings, and — when it failed — the request ids and rate-limit counters of the answer). Joining the
// parts gives the observation back (http.json, the parsed body, is never stored).
import { TIMING_PHASES, type ProbeObservation, type ProbeTimings } from '../probe/observation.js';

/** Answer headers whose value differs on every request: kept per probe, and only for a probe that failed. */
export function isVolatileHeader(name: string): boolean {
  return name === 'x-arequestid' || name === 'atl-traceid' || (name.startsWith('x-ratelimit-') && name !== 'x-ratelimit-limit');
}

export interface StoredParts {
  /** JSON of the observation without connection, start, timings and volatile values; equal text = same detail. */
  detail: string;
  /** JSON of the volatile values, or null when there are none to keep. */
  volatile: string | null;
  /** Each phase of TIMING_PHASES in microseconds. */
  timingsUs: (number | null)[];
}

interface Volatile {
  headers?: Record<string, string>;
  proxy?: { connect: number | null; tunnel_seconds: number | null };
}

export function splitObservation(observation: ProbeObservation, failed: boolean): StoredParts {
  const { http, proxy } = observation;
  const volatile: Volatile = {};
  let headers = http?.headers;
  if (http) {
    for (const name of Object.keys(http.headers)) {
      if (!isVolatileHeader(name)) continue;
      if (headers === http.headers) headers = { ...http.headers };
      if (failed) (volatile.headers ??= {})[name] = http.headers[name];
      delete headers![name];
    }
  }
  if (proxy) volatile.proxy = { connect: proxy.connect, tunnel_seconds: proxy.tunnel_seconds };
  const detail = JSON.stringify({
    url: observation.url,
    credential: observation.credential,
    oauth: observation.oauth,
    error: observation.error,
    http: http && {
      status: http.status,
      contentType: http.contentType,
      headers,
      message: http.message,
      bodyBytes: http.bodyBytes,
      bodyTruncated: http.bodyTruncated,
    },
    identity: observation.identity,
    tls: observation.tls,
    proxy: proxy && { ...proxy, connect: null, tunnel_seconds: null },
    clientCertificate: observation.clientCertificate,
  });
  return {
    detail,
    volatile: volatile.headers || volatile.proxy ? JSON.stringify(volatile) : null,
    timingsUs: TIMING_PHASES.map((phase) => toMicroseconds(observation.timings[phase])),
  };
}

type StoredDetail = Omit<ProbeObservation, 'connection' | 'startedAt' | 'timings'>;

export function joinObservation(connection: string, startedAt: string, detail: string, volatileJson: string | null, timingsUs: readonly (number | null)[]): ProbeObservation {
  const stored = JSON.parse(detail) as StoredDetail;
  const volatile = volatileJson ? (JSON.parse(volatileJson) as Volatile) : {};
  const timings = {} as ProbeTimings;
  TIMING_PHASES.forEach((phase, index) => (timings[phase] = timingsUs[index] == null ? null : timingsUs[index]! / 1e6));
  const observation: ProbeObservation = {
    connection,
    startedAt,
    url: stored.url,
    credential: stored.credential,
    oauth: stored.oauth ?? null,
    error: stored.error ?? null,
    http: stored.http ? { ...stored.http, headers: { ...stored.http.headers, ...volatile.headers }, json: null } : null,
    identity: stored.identity ?? null,
    tls: stored.tls ?? null,
    timings,
  };
  if (stored.proxy) observation.proxy = volatile.proxy ? { ...stored.proxy, ...volatile.proxy } : stored.proxy;
  else if (stored.proxy === null) observation.proxy = null;
  if (stored.clientCertificate !== undefined) observation.clientCertificate = stored.clientCertificate;
  return observation;
}

function toMicroseconds(seconds: number | null): number | null {
  return seconds == null ? null : Math.round(seconds * 1e6);
}
