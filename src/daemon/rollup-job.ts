// The probe history's upkeep, run by the daemon's maintenance at start and hourly: roll up the finished hours, then
// prune raw probes older than storage.retention — never one of an hour not rolled up yet, so an hour pruned while
// the roll-up was behind (after a long stop, or an upgrade with months of raw probes) is not lost from the roll-ups —
// then the roll-ups older than storage.rollupRetention. Each step works in short transactions and yields between
// them; `shouldContinue` (false once shutdown began) stops it between two of them, and the next run goes on.
import type { MaintenanceStore } from '../store/ports.js';

export interface HistoryUpkeep {
  /** Hours rolled up. */
  hours: number;
  /** Raw probes deleted. */
  probes: number;
  /** Roll-up rows deleted. */
  rollups: number;
}

export async function maintainHistory(
  store: Pick<MaintenanceStore, 'rollUp' | 'rolledUpBefore' | 'pruneProbes' | 'pruneRollups'>,
  storage: { retentionMs: number; rollupRetentionMs: number },
  now: Date,
  shouldContinue: () => boolean = () => true,
): Promise<HistoryUpkeep> {
  const done: HistoryUpkeep = { hours: 0, probes: 0, rollups: 0 };
  done.hours = await store.rollUp(now, undefined, shouldContinue);
  if (!shouldContinue()) return done;
  const rolledUpBefore = store.rolledUpBefore();
  if (rolledUpBefore !== null) {
    const cutoff = Math.min(now.getTime() - storage.retentionMs, Date.parse(rolledUpBefore));
    done.probes = await store.pruneProbes(new Date(cutoff), undefined, shouldContinue);
    if (!shouldContinue()) return done;
  }
  done.rollups = await store.pruneRollups(new Date(now.getTime() - storage.rollupRetentionMs), undefined, shouldContinue);
  return done;
}
