// The table and verdict lines of `npm run bench -- foreign-lock` (bench/foreign-lock.ts).
import type { HealthSummary } from './healthz-sampler.js';

export const START_DELAY_P99_LIMIT_SECONDS = 1;
export const HEALTHZ_LIMIT_MS = 100;

/** Start delays between two scrapes of the histogram (seconds; p99 beyond the last bucket is only a lower bound). */
export interface PhaseDelay {
  probes: number;
  observations: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  p99BeyondLastBucket: boolean;
  met: boolean;
}

export function printReport(
  result: { met: boolean; verdict: Record<string, { met: boolean }> & Record<string, unknown>; notifications: Record<string, number>; probes: Record<string, unknown>; daemon: Record<string, unknown>; logMessages: Record<string, number> },
  delays: Record<string, PhaseDelay>,
  health: Record<string, HealthSummary>,
): void {
  const cell = (value: unknown, width: number) => String(value ?? '-').padStart(width);
  console.log('');
  console.log(['phase', 'probes', 'delay p50', 'p95', 'p99', 'healthz n', 'p99 ms', 'max ms', '>100ms', 'errors'].map((title, index) => cell(title, index === 0 ? 8 : 10)).join(' '));
  for (const phase of ['before', 'during', 'after'] as const) {
    const d = delays[phase];
    const h = health[phase];
    const p99 = d.p99BeyondLastBucket ? `>${d.p99}` : d.p99;
    console.log([cell(phase, 8), ...[d.probes, d.p50, d.p95, p99, h.samples, h.p99Ms, h.maxMs, h.overLimit, h.errors].map((value) => cell(value, 10))].join(' '));
  }
  const v = result.verdict as unknown as {
    startDelayP99During: { met: boolean };
    startDelayP99After: { met: boolean };
    noTickSkipped: { met: boolean };
    healthz: { maxMs: number; met: boolean };
    everyProbeStored: { logged: number; rows: number; missing: number; extra: number; met: boolean };
    notificationsExactlyOnce: { met: boolean };
  };
  const word = (met: boolean) => (met ? 'met' : 'MISSED');
  const n = result.notifications;
  console.log('');
  console.log(`start delay p99 < ${START_DELAY_P99_LIMIT_SECONDS} s during the lock: ${word(v.startDelayP99During.met)}; after it: ${word(v.startDelayP99After.met)}; ticks skipped from the lock on: ${result.probes.skippedTicksFromLock} ${word(v.noTickSkipped.met)}`);
  console.log(`/healthz within ${HEALTHZ_LIMIT_MS} ms from the lock on: max ${v.healthz.maxMs} ms ${word(v.healthz.met)} (before the lock, the control: max ${health.before.maxMs} ms)`);
  console.log(`probes logged ${v.everyProbeStored.logged}, probe rows ${v.everyProbeStored.rows}: ${v.everyProbeStored.missing} missing, ${v.everyProbeStored.extra} extra ${word(v.everyProbeStored.met)} (${result.probes.loggedDuringLock} probes made during the lock)`);
  console.log(
    `Slack: ${n.connectionsMadeToFail} connections made to fail: exactly one "regressed" for ${n.exactlyOneOpen} (none ${n.noOpen}, several ${n.severalOpens}), exactly one "works again" for ${n.exactlyOneResolve} ` +
      `(none ${n.noResolve}, several ${n.severalResolves}); ${n.messagesForOthers} for other connections, ${n.otherKinds} of other kinds ${word(v.notificationsExactlyOnce.met)}`,
  );
  console.log(`daemon: ${result.daemon.cpuPercentOfOneCore}% of one core from the baseline on, peak RSS ${result.daemon.peakRssMiB} MiB`);
  const notable = Object.entries(result.logMessages);
  if (notable.length > 0) console.log(`daemon log (not info): ${notable.map(([key, count]) => `${key} ×${count}`).join('; ')}`);
  console.log(`foreign lock: ${result.met ? 'MET' : 'MISSED'}`);
}
