// The scheduler's decisions, as pure functions of fixed instants: where a connection sits inside its schedule's
// period, whether a tick (or a first probe after start) runs, when its cycle should start, and how late it did.
// src/daemon/scheduler.ts keeps the timers and the cron tasks and asks these; test/unit/scheduler.test.ts pins them.
//
// The lockout back-off is not here: it is a property of the connection's state, decided by `probeIsDue`
// (src/state/machine.ts) inside the cycle, so a scheduled tick, a first probe and `authwatch probe` all obey it.
import { createHash } from 'node:crypto';

/** The share of a schedule's period over which its connections are spread, leaving room to finish before the next tick. */
export const SPREAD_FRACTION = 0.8;

/** A first probe is not worth it when the schedule's own probe comes this soon anyway. */
export const FIRST_PROBE_UNLESS_DUE_WITHIN_MS = 10_000;

/** The first probes after start are spread over at least this window unless configured otherwise. */
export const DEFAULT_FIRST_PROBE_SPREAD_MS = 3000;

/**
 * ...and over a longer one when there are many: at most this many first probes a second, so a start adds about
 * half a busy minute's load instead of a burst (10,000 connections in 3 s held 1,000 sockets open and ran behind
 * for minutes; 250 a second on top of the schedule's own 208 still saturated the event loop for the first minute).
 */
export const FIRST_PROBES_PER_SECOND = 100;

/** The window the first probes of `count` connections are spread over. */
export function firstProbeSpreadMs(count: number, minimumMs: number = DEFAULT_FIRST_PROBE_SPREAD_MS): number {
  return Math.max(minimumMs, Math.ceil((count / FIRST_PROBES_PER_SECOND) * 1000));
}

/** The period assumed for a schedule whose next two matches cannot be computed. */
export const FALLBACK_PERIOD_MS = 60_000;

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

/** Time between two runs of a schedule, from its next two matches. */
export function periodFromMatches(matches: readonly Date[]): number {
  const [first, second] = matches;
  return first && second ? second.getTime() - first.getTime() : FALLBACK_PERIOD_MS;
}

/** What the scheduler knows about one connection when it has to decide. */
export interface JobActivity {
  /** A cycle of this name is running or waiting for a place under the concurrency cap. */
  cycleInProgress: boolean;
  /** A tick (or first probe) already waits for this connection's offset to start its cycle. */
  waitingForOffset: boolean;
}

export type Skip = 'stopped' | 'unknown' | 'overlap';

export type TickPlan = { run: true; plannedStart: number } | { run: false; reason: Skip };

/**
 * A tick of the connection's schedule at `scheduledAt`: it runs at scheduledAt + the connection's offset, or is
 * skipped while the previous one is still in progress (reported as an overlap) — never two cycles of one name.
 * `activity` is null for a name the scheduler no longer has.
 */
export function planTick(scheduledAt: number, offsetMs: number, activity: JobActivity | null, stopped: boolean): TickPlan {
  if (stopped) return { run: false, reason: 'stopped' };
  if (!activity) return { run: false, reason: 'unknown' };
  if (activity.cycleInProgress || activity.waitingForOffset) return { run: false, reason: 'overlap' };
  return { run: true, plannedStart: scheduledAt + offsetMs };
}

export type FirstProbePlan = { run: true; plannedStart: number } | { run: false; reason: Skip | 'due_soon' };

export interface FirstProbeFacts {
  name: string;
  now: number;
  /** When the schedule next fires (undefined when it cannot say). */
  nextTickAt: number | undefined;
  offsetMs: number;
  spreadMs: number;
  activity: JobActivity | null;
  stopped: boolean;
}

/**
 * A first probe right after start (or after a reload added the connection), so its state is not unknown until
 * its schedule first fires: spread over `spreadMs` by name; none for a connection already busy, nor for one
 * whose scheduled probe starts within FIRST_PROBE_UNLESS_DUE_WITHIN_MS of its place in that spread anyway.
 */
export function planFirstProbe(facts: FirstProbeFacts): FirstProbePlan {
  if (facts.stopped) return { run: false, reason: 'stopped' };
  if (!facts.activity) return { run: false, reason: 'unknown' };
  if (facts.activity.cycleInProgress || facts.activity.waitingForOffset) return { run: false, reason: 'overlap' };
  const plannedStart = facts.now + spreadOffsetMs(facts.name, Number.POSITIVE_INFINITY, facts.spreadMs);
  if (facts.nextTickAt !== undefined && facts.nextTickAt + facts.offsetMs - plannedStart <= FIRST_PROBE_UNLESS_DUE_WITHIN_MS) {
    return { run: false, reason: 'due_soon' };
  }
  return { run: true, plannedStart };
}

/** How long to wait before starting a cycle planned for `plannedStart` (never negative: a late one starts now). */
export function waitMs(plannedStart: number, now: number): number {
  return Math.max(0, plannedStart - now);
}

/** How late a cycle started against its plan, in seconds (the start-delay histogram; waiting for the cap counts). */
export function startDelaySeconds(plannedStart: number, startedAt: number): number {
  return Math.max(0, startedAt - plannedStart) / 1000;
}
