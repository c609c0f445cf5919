// One node-cron task per distinct schedule, shared by the connections on it (10,000 tasks on one expression
// would each compute the next match at every boundary, a second of CPU in one burst). A tick fans out to the
// schedule's connections; each waits for its fixed offset inside the spread window (so thousands of connections
// on one schedule don't fire in the same millisecond), then for a place under the global concurrency cap, then
// runs the cycle. A connection's tick is skipped while a cycle of that name still runs, including one started
// under a schedule that a reload has since changed or removed. The decisions are pure and live in
// ./schedule-plan.ts; this file keeps the cron tasks, the timers and the cycles in progress.
import { performance } from 'node:perf_hooks';
import cron from 'node-cron';
import pLimit, { type LimitFunction } from 'p-limit';
import { DEFAULT_FIRST_PROBE_SPREAD_MS, firstProbeSpreadMs, SPREAD_FRACTION, type JobActivity, periodFromMatches, planFirstProbe, planTick, spreadOffsetMs, startDelaySeconds, waitMs } from './schedule-plan.js';
import { derivedConcurrency, DurationWindow, INITIAL_P95_SECONDS, SATURATED_LOOP_UTILIZATION } from './concurrency.js';

export interface SchedulerOptions {
  /** The cap on cycles in flight; null derives it from the schedules and the observed durations (concurrency.ts). */
  concurrency: number | null;
  /** Upper bound of the per-connection offset; the effective window is also capped at half the schedule's period. */
  maxSpreadMs: number;
  onStartDelay: (seconds: number) => void;
  onSkippedOverlap: (name: string) => void;
  onError: (name: string, error: unknown) => void;
  now?: () => number;
  /** First probes after start are spread over this window (default 3 s). */
  firstProbeSpreadMs?: number;
  /** Makes the one ticker of a schedule (default: a node-cron task); tests pass one they fire by hand. */
  createTicker?: CreateTicker;
  /** The event loop's utilization (0–1) since the previous call (default: perf_hooks); tests pass their own. */
  loopUtilization?: () => number;
}

/** The event loop's utilization since the previous call of the returned function. */
export function loopUtilizationMeter(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, last);
    last = now;
    return since.utilization;
  };
}

/** What fires a schedule's ticks: a node-cron task in the daemon. */
export interface Ticker {
  start(): void;
  stop(): Promise<void> | void;
  destroy(): Promise<void> | void;
  /** The schedule's next matches from now. */
  nextRuns(count: number): Date[];
}

export type CreateTicker = (schedule: string, onTick: (scheduledAt: Date) => void) => Ticker;

/** One node-cron task per schedule expression. */
export const cronTicker: CreateTicker = (schedule, onTick) => {
  const task = cron.createTask(schedule, (context) => onTick(context.date), { name: `authwatch:${schedule}` });
  return {
    start: () => void task.start(),
    stop: () => task.stop(),
    destroy: () => task.destroy(),
    nextRuns: (count) => task.getNextRuns(count),
  };
};

/** unknown: no job of that name; not_run: stopping, or the cycle failed (reported through onError). */
export type RunNowResult = { status: 'unknown' } | { status: 'not_run' } | { status: 'ran'; value: unknown };

export interface ScheduledJob {
  name: string;
  schedule: string;
  run: () => Promise<unknown>;
}

function clearTimers(entry: Entry): void {
  if (entry.tickTimer) clearTimeout(entry.tickTimer);
  if (entry.firstProbeTimer) clearTimeout(entry.firstProbeTimer);
  entry.tickTimer = null;
  entry.firstProbeTimer = null;
}

interface Entry {
  job: ScheduledJob;
  offsetMs: number;
  /** A tick waiting for the connection's offset. */
  tickTimer: NodeJS.Timeout | null;
  /** The first probe after start waiting for its place in the spread; a tick does not wait for it (it keeps 10 s from it). */
  firstProbeTimer: NodeJS.Timeout | null;
}

/** A cycle from its tick's timer until it ends: waiting for a place under the cap, then running. */
interface Cycle {
  done: Promise<void>;
  /** Whether it got its place and started (a queued one may be dropped at stop and never settle). */
  started: boolean;
}

interface CronGroup {
  task: Ticker;
  periodMs: number;
  /** Names of the jobs on this schedule. */
  members: Set<string>;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  /** Cycles in progress by connection name; outlives the entry, so a rescheduled connection never runs twice at once. */
  private readonly cycles = new Map<string, Cycle>();
  /** Schedule expression → its one node-cron task. */
  private readonly groups = new Map<string, CronGroup>();
  private readonly limit: LimitFunction;
  private readonly durations = new DurationWindow();
  /** Cycles finished since the derived cap was last computed. */
  private finishedSinceDerive = 0;
  private readonly now: () => number;
  private readonly createTicker: CreateTicker;
  private readonly loopUtilization: () => number;
  private stopped = false;
  /** Settles when stop() begins: a runNow whose cycle stop() dropped from the queue must not wait forever. */
  private readonly stopping: Promise<void>;
  private signalStop!: () => void;

  constructor(private readonly options: SchedulerOptions) {
    this.limit = pLimit(options.concurrency ?? derivedConcurrency(0, INITIAL_P95_SECONDS));
    this.now = options.now ?? Date.now;
    this.createTicker = options.createTicker ?? cronTicker;
    this.loopUtilization = options.loopUtilization ?? loopUtilizationMeter();
    this.stopping = new Promise((resolve) => (this.signalStop = resolve));
  }

  /** Replaces the set of jobs: new ones are added, changed ones rescheduled, missing ones removed. */
  sync(jobs: ScheduledJob[]): void {
    const wanted = new Map(jobs.map((job) => [job.name, job]));
    for (const [name, entry] of this.entries) {
      const next = wanted.get(name);
      if (!next || next.schedule !== entry.job.schedule) this.remove(name);
      else entry.job = next;
    }
    for (const job of jobs) if (!this.entries.has(job.name)) this.add(job);
    this.deriveConcurrency();
  }

  /** The cap on cycles in flight right now. */
  concurrency(): number {
    return this.limit.concurrency;
  }

  /**
   * Little's law over the busiest part of each period: a schedule's connections start within its spread window,
   * so they arrive at members / window per second; each stays for about the p95 of the recent cycle durations.
   */
  private deriveConcurrency(): void {
    if (this.options.concurrency !== null) return;
    this.finishedSinceDerive = 0;
    let arrivalsPerSecond = 0;
    for (const group of this.groups.values()) {
      const windowMs = Math.max(1000, Math.min(Math.floor(group.periodMs * SPREAD_FRACTION), this.options.maxSpreadMs));
      arrivalsPerSecond += group.members.size / (windowMs / 1000);
    }
    const cap = derivedConcurrency(arrivalsPerSecond, this.durations.p95() ?? INITIAL_P95_SECONDS);
    // A loop with no time to spare makes every cycle longer, and the p95 with it: more cycles in flight would only
    // hold more sockets open, not finish more.
    const saturated = this.loopUtilization() >= SATURATED_LOOP_UTILIZATION;
    if (cap < this.limit.concurrency || (cap > this.limit.concurrency && !saturated)) this.limit.concurrency = cap;
  }

  private recordDuration(seconds: number): void {
    if (this.options.concurrency !== null) return;
    this.durations.add(seconds);
    this.finishedSinceDerive += 1;
    // Often at first (the initial guess may be far off), then every 64 cycles.
    if (this.finishedSinceDerive >= Math.min(64, Math.max(8, this.durations.size))) this.deriveConcurrency();
  }

  /** The period of the connection's schedule in seconds (null when it is not scheduled). */
  periodSeconds(name: string): number | null {
    const entry = this.entries.get(name);
    const group = entry ? this.groups.get(entry.job.schedule) : undefined;
    return group ? group.periodMs / 1000 : null;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Number of cycles running or waiting for a place right now. */
  busy(): number {
    return this.limit.activeCount + this.limit.pendingCount;
  }

  /** Stops ticking and waits up to graceMs for running cycles; returns the names still running after that. */
  async stop(graceMs: number): Promise<string[]> {
    this.stopped = true;
    this.signalStop();
    for (const group of this.groups.values()) await group.task.stop();
    for (const entry of this.entries.values()) clearTimers(entry);
    this.limit.clearQueue();
    // Cycles still waiting for a place were dropped by clearQueue (their promises never settle): only started ones count.
    const running = [...this.cycles].filter(([, cycle]) => cycle.started);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const result = await Promise.race([Promise.allSettled(running.map(([, cycle]) => cycle.done)).then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    for (const group of this.groups.values()) await group.task.destroy();
    return result === 'done' ? [] : running.filter(([name, cycle]) => this.cycles.get(name) === cycle).map(([name]) => name);
  }

  private add(job: ScheduledJob): void {
    const group = this.groupFor(job.schedule);
    const entry: Entry = { job, offsetMs: spreadOffsetMs(job.name, group.periodMs, this.options.maxSpreadMs), tickTimer: null, firstProbeTimer: null };
    this.entries.set(job.name, entry);
    group.members.add(job.name);
  }

  private remove(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    clearTimers(entry);
    this.entries.delete(name);
    const group = this.groups.get(entry.job.schedule);
    group?.members.delete(name);
    if (group && group.members.size === 0) {
      void group.task.destroy();
      this.groups.delete(entry.job.schedule);
    }
  }

  private groupFor(schedule: string): CronGroup {
    let group = this.groups.get(schedule);
    if (!group) {
      const members = new Set<string>();
      const task = this.createTicker(schedule, (scheduledAt) => {
        for (const name of members) this.tick(name, scheduledAt);
      });
      group = { task, periodMs: periodFromMatches(task.nextRuns(2)), members };
      this.groups.set(schedule, group);
      task.start();
    }
    return group;
  }

  /** `withFirstProbe`: a first probe waiting for its place counts as waiting too (for a second kickoff). */
  private activity(name: string, withFirstProbe = false): JobActivity | null {
    const entry = this.entries.get(name);
    if (!entry) return null;
    return { cycleInProgress: this.cycles.has(name), waitingForOffset: entry.tickTimer !== null || (withFirstProbe && entry.firstProbeTimer !== null) };
  }

  private tick(name: string, scheduledAt: Date): void {
    const entry = this.entries.get(name);
    const plan = planTick(scheduledAt.getTime(), entry?.offsetMs ?? 0, this.activity(name), this.stopped);
    if (plan.run) this.launch(name, entry!, plan.plannedStart, 'tickTimer');
    else if (plan.reason === 'overlap') this.options.onSkippedOverlap(name);
  }

  /**
   * A first probe of each named job now, spread over a few seconds (longer for many: firstProbeSpreadMs), instead
   * of leaving it unknown until its schedule first fires (up to a whole period); skipped for a job whose scheduled
   * probe comes within 10 s of it anyway.
   */
  kickoff(names: string[]): void {
    const spreadMs = firstProbeSpreadMs(names.length, this.options.firstProbeSpreadMs ?? DEFAULT_FIRST_PROBE_SPREAD_MS);
    const now = this.now();
    for (const name of names) {
      const entry = this.entries.get(name);
      const [nextTick] = entry ? (this.groups.get(entry.job.schedule)?.task.nextRuns(1) ?? []) : [];
      const plan = planFirstProbe({ name, now, nextTickAt: nextTick?.getTime(), offsetMs: entry?.offsetMs ?? 0, spreadMs, activity: this.activity(name, true), stopped: this.stopped });
      if (plan.run) this.launch(name, entry!, plan.plannedStart, 'firstProbeTimer');
    }
  }

  /**
   * Runs the job now, as its schedule would (same concurrency cap, never two cycles of one name at once): a
   * cycle already running is waited for first; one waiting for its spread offset is replaced by this one.
   */
  async runNow(name: string): Promise<RunNowResult> {
    for (;;) {
      const entry = this.entries.get(name);
      if (!entry) return { status: 'unknown' };
      if (this.stopped) return { status: 'not_run' };
      const running = this.cycles.get(name);
      if (running) {
        await Promise.race([running.done, this.stopping]);
        continue;
      }
      clearTimers(entry);
      let value: unknown;
      let ran = false;
      const cycle = this.startCycle(name, this.now(), async (job) => {
        value = await job.run();
        ran = true;
      });
      await Promise.race([cycle.done, this.stopping]);
      return ran ? { status: 'ran', value } : { status: 'not_run' };
    }
  }

  private launch(name: string, entry: Entry, plannedStart: number, slot: 'tickTimer' | 'firstProbeTimer'): void {
    entry[slot] = setTimeout(() => {
      entry[slot] = null;
      if (this.stopped || this.entries.get(name) !== entry || this.cycles.has(name)) return;
      this.startCycle(name, plannedStart, (job) => job.run());
    }, waitMs(plannedStart, this.now()));
  }

  private startCycle(name: string, plannedStart: number, run: (job: ScheduledJob) => Promise<unknown>): Cycle {
    const cycle: Cycle = { done: Promise.resolve(), started: false };
    cycle.done = this.limit(async () => {
      // The job of this name now: a reload may have replaced it, or removed it while this cycle queued.
      const job = this.entries.get(name)?.job;
      if (this.stopped || !job) return;
      cycle.started = true;
      const startedAt = this.now();
      this.options.onStartDelay(startDelaySeconds(plannedStart, startedAt));
      try {
        await run(job);
      } finally {
        this.recordDuration(Math.max(0, this.now() - startedAt) / 1000);
      }
    })
      .catch((error: unknown) => this.options.onError(name, error))
      .finally(() => {
        if (this.cycles.get(name) === cycle) this.cycles.delete(name);
      });
    this.cycles.set(name, cycle);
    return cycle;
  }
}
