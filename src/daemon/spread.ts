import { createHash } from 'node:crypto';

/**
 * A stable offset for a connection inside its schedule's period: the same name always gets the same offset
 * (probes stay evenly spaced), different names spread evenly. At most half the period and at most maxSpreadMs.
 */
export function spreadOffsetMs(name: string, periodMs: number, maxSpreadMs: number): number {
  const window = Math.min(Math.floor(periodMs / 2), maxSpreadMs);
  if (window <= 0) return 0;
  const fraction = createHash('sha256').update(name).digest().readUInt32BE(0) / 0x1_0000_0000;
  return Math.floor(fraction * window);
}
