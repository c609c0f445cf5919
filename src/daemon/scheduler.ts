// One node-cron task per connection. A tick waits for the connection's fixed offset inside the spread window
// (so thousands of connections on one schedule don't fire in the same millisecond), then for a place under the
// global concurrency cap, then runs the cycle. A connection's tick is skipped while its previous cycle still runs.
import cron, { type ScheduledTask } from 'node-cron';
import pLimit, { type LimitFunction } from 'p-limit';
import { spreadOffsetMs } from './spread.js';

export interface SchedulerOptions {
  concurrency: number;
  /** Upper bound of the per-connection offset; the effective window is also capped at half the schedule's period. */
  maxSpreadMs: number;
  onStartDelay: (seconds: number) => void;
  onSkippedOverlap: (name: string) => void;
  onError: (name: string, error: unknown) => void;
  now?: () => number;
}

export interface ScheduledJob {
  name: string;
  schedule: string;
  run: () => Promise<void>;
}

interface Entry {
  job: ScheduledJob;
  task: ScheduledTask;
  offsetMs: number;
  /** The cycle, from the tick until it ends: waiting for a place under the cap, then running. */
  running: Promise<void> | null;
  /** Whether the cycle has got its place and started (a queued one may be dropped at stop and never settle). */
  started: boolean;
  pendingTimer: NodeJS.Timeout | null;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly limit: LimitFunction;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.limit = pLimit(options.concurrency);
    this.now = options.now ?? Date.now;
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
    for (const entry of this.entries.values()) {
      await entry.task.stop();
      if (entry.pendingTimer) clearTimeout(entry.pendingTimer);
    }
    this.limit.clearQueue();
    // Cycles still waiting for a place were dropped by clearQueue (their promises never settle): only started ones count.
    const running = [...this.entries.values()].filter((entry) => entry.running && entry.started);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const result = await Promise.race([Promise.allSettled(running.map((entry) => entry.running)).then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    for (const entry of this.entries.values()) await entry.task.destroy();
    return result === 'done' ? [] : running.filter((entry) => entry.started).map((entry) => entry.job.name);
  }

  private add(job: ScheduledJob): void {
    const task = cron.createTask(job.schedule, (context) => this.tick(job.name, context.date), { name: `authwatch:${job.name}` });
    const entry: Entry = { job, task, offsetMs: 0, running: null, started: false, pendingTimer: null };
    entry.offsetMs = spreadOffsetMs(job.name, periodOf(task), this.options.maxSpreadMs);
    this.entries.set(job.name, entry);
    void task.start();
  }

  private remove(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    if (entry.pendingTimer) clearTimeout(entry.pendingTimer);
    void entry.task.destroy();
    this.entries.delete(name);
  }

  private tick(name: string, scheduledAt: Date): void {
    const entry = this.entries.get(name);
    if (!entry || this.stopped) return;
    if (entry.running || entry.pendingTimer) {
      this.options.onSkippedOverlap(name);
      return;
    }
    const plannedStart = scheduledAt.getTime() + entry.offsetMs;
    entry.pendingTimer = setTimeout(() => {
      entry.pendingTimer = null;
      if (this.stopped || this.entries.get(name) !== entry) return;
      entry.running = this.limit(async () => {
        if (this.stopped) return;
        entry.started = true;
        this.options.onStartDelay(Math.max(0, this.now() - plannedStart) / 1000);
        await entry.job.run();
      })
        .catch((error: unknown) => this.options.onError(name, error))
        .finally(() => {
          entry.running = null;
          entry.started = false;
        });
    }, Math.max(0, plannedStart - this.now()));
  }
}

/** Time between two runs of the task, from its next two matches. */
function periodOf(task: ScheduledTask): number {
  const [first, second] = task.getNextRuns(2);
  return first && second ? second.getTime() - first.getTime() : 60_000;
}
