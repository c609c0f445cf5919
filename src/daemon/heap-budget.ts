// Whether the configured connections fit V8's heap limit (the unit's NODE_OPTIONS --max-old-space-size=512): at
// 10,000 connections the daemon keeps ~9 KiB live per connection (docs/benchmarks.md), and V8 needs room above
// what is live to collect. A config that outgrows the limit would end the process with "heap out of memory";
// this says so at start and reload, with the setting to change, instead.
import { getHeapStatistics } from 'node:v8';

export const LIVE_BYTES_PER_CONNECTION = 9 * 1024;
/** What the daemon keeps live with no connection at all (code, metrics registry, SQLite statements). */
export const BASE_LIVE_BYTES = 24 * 1024 * 1024;
/** The heap limit should be at least this many times what is live. */
export const HEAP_HEADROOM = 2;

const MIB = 1024 * 1024;

export function heapLimitWarning(connections: number, heapLimitBytes: number = getHeapStatistics().heap_size_limit): string | null {
  const live = BASE_LIVE_BYTES + connections * LIVE_BYTES_PER_CONNECTION;
  if (live * HEAP_HEADROOM <= heapLimitBytes) return null;
  const suggested = Math.ceil((live * HEAP_HEADROOM * 1.5) / (256 * MIB)) * 256;
  return (
    `${connections} connections keep about ${Math.round(live / MIB)} MiB of heap live and the heap limit is ${Math.round(heapLimitBytes / MIB)} MiB: ` +
    `raise it, e.g. NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=${suggested}" (docs/install.md), or the process may end with "JavaScript heap out of memory"`
  );
}
