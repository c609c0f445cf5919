import { createHash } from 'node:crypto';

/** The share of a schedule's period over which its connections are spread, leaving room to finish before the next tick. */
export const SPREAD_FRACTION = 0.8;

/**
 * A stable offset for a connection inside its schedule's period: the same name always gets the same offset
 * (probes stay evenly spaced), different names spread evenly. At most SPREAD_FRACTION of the period and at most
 * maxSpreadMs (a daily 09:00 check should still run at about 09:00).
 */
export function spreadOffsetMs(name: string, periodMs: number, maxSpreadMs: number): number {
  const window = Math.min(Math.floor(periodMs * SPREAD_FRACTION), maxSpreadMs);
  if (window <= 0) return 0;
  const fraction = createHash('sha256').update(name).digest().readUInt32BE(0) / 0x1_0000_0000;
  return Math.floor(fraction * window);
}
