// The scheduler's decisions at fixed instants (src/daemon/schedule-plan.ts), then the Scheduler itself driven by
// tickers fired by hand and a clock the test sets: no test here waits on a real cron or on real time.
// test/integration/scheduler-timers.test.ts shows the real node-cron tasks and timers fire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type CreateTicker, Scheduler, type SchedulerOptions } from '../../src/daemon/scheduler.js';
import {
  DEFAULT_FIRST_PROBE_SPREAD_MS,
  FIRST_PROBE_UNLESS_DUE_WITHIN_MS,
  FIRST_PROBES_PER_SECOND,
  firstProbeSpreadMs,
  periodFromMatches,
  planFirstProbe,
  planTick,
  spreadOffsetMs,
  startDelaySeconds,
  waitMs,
} from '../../src/daemon/schedule-plan.js';
import { initialState, probeIsDue } from '../../src/state/machine.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const idle = { cycleInProgress: false, waitingForOffset: false };
import { derivedConcurrency, DERIVED_CONCURRENCY_MAX, DERIVED_CONCURRENCY_MIN, DurationWindow } from '../../src/daemon/concurrency.js';

test('spread offsets are stable per name, spread over the window, and never beyond 80% of the period', () => {
  const offsets = Array.from({ length: 1000 }, (_, index) => spreadOffsetMs(`conn-${index}`, 60_000, 20_000));
  assert.equal(spreadOffsetMs('conn-1', 60_000, 20_000), offsets[1]);
  assert.ok(offsets.every((offset) => offset >= 0 && offset < 20_000));
  const buckets = new Array(10).fill(0);
  for (const offset of offsets) buckets[Math.floor(offset / 2000)]++;
  assert.ok(buckets.every((count) => count > 50), `offsets are uneven: ${buckets.join(',')}`);
  const shortPeriod = Array.from({ length: 200 }, (_, index) => spreadOffsetMs(`conn-${index}`, 1000, 20_000));
  assert.ok(shortPeriod.every((offset) => offset < 800), 'room is left to finish before the next tick');
  assert.ok(shortPeriod.some((offset) => offset > 600), 'and the window is used');
  assert.equal(spreadOffsetMs('x', 0, 20_000), 0);
});

test("a schedule's period comes from its next two matches, a minute when it cannot say", () => {
  assert.equal(periodFromMatches([new Date(T0), new Date(T0 + 300_000)]), 300_000);
  assert.equal(periodFromMatches([new Date(T0)]), 60_000);
  assert.equal(periodFromMatches([]), 60_000);
});

test('a tick runs at its instant plus the offset, and is skipped while the previous probe is still in progress', () => {
  assert.deepEqual(planTick(T0, 12_345, idle, false), { run: true, plannedStart: T0 + 12_345 });
  assert.deepEqual(planTick(T0, 0, { cycleInProgress: true, waitingForOffset: false }, false), { run: false, reason: 'overlap' });
  assert.deepEqual(planTick(T0, 0, { cycleInProgress: false, waitingForOffset: true }, false), { run: false, reason: 'overlap' }, 'a tick still waiting for its offset counts as in progress');
  assert.deepEqual(planTick(T0, 0, idle, true), { run: false, reason: 'stopped' });
  assert.deepEqual(planTick(T0, 0, null, false), { run: false, reason: 'unknown' });
});

test('the lockout back-off holds a tick until its instant, then the first tick after it runs', () => {
  const held = { ...initialState(), backoffUntil: new Date(T0 + 15 * 60_000).toISOString() };
  assert.equal(probeIsDue(held, new Date(T0 + 14 * 60_000)), false);
  assert.equal(probeIsDue(held, new Date(T0 + 15 * 60_000)), true);
  assert.equal(probeIsDue(held, new Date(T0), { lockoutBackoff: false }), true, 'no back-off for a connection it no longer applies to');
});

test('the first probe after start: spread over the window by name, none when the schedule fires within 10 s anyway', () => {
  const facts = { name: 'jira-prod', now: T0, nextTickAt: T0 + 3_600_000, offsetMs: 0, spreadMs: 3000, activity: idle, stopped: false };
  const plan = planFirstProbe(facts);
  assert.ok(plan.run && plan.plannedStart >= T0 && plan.plannedStart < T0 + 3000, JSON.stringify(plan));
  assert.deepEqual(planFirstProbe(facts), plan, 'the same name gets the same place');
  const starts = Array.from({ length: 200 }, (_, index) => planFirstProbe({ ...facts, name: `conn-${index}` })).map((p) => (p.run ? p.plannedStart - T0 : -1));
  assert.ok(starts.every((ms) => ms >= 0 && ms < 3000) && starts.some((ms) => ms > 2000), 'spread over the whole window');

  const dueAt = T0 + FIRST_PROBE_UNLESS_DUE_WITHIN_MS;
  assert.deepEqual(planFirstProbe({ ...facts, nextTickAt: dueAt }), { run: false, reason: 'due_soon' });
  assert.deepEqual(planFirstProbe({ ...facts, nextTickAt: dueAt - 5000, offsetMs: 4000 }), { run: false, reason: 'due_soon' });
  assert.equal(planFirstProbe({ ...facts, nextTickAt: dueAt - 5000, offsetMs: 5001 + (plan.run ? plan.plannedStart - T0 : 0) }).run, true, "the connection's offset moves its scheduled probe beyond 10 s");
  assert.equal(planFirstProbe({ ...facts, nextTickAt: undefined }).run, true);
  assert.deepEqual(planFirstProbe({ ...facts, activity: { cycleInProgress: false, waitingForOffset: true } }), { run: false, reason: 'overlap' }, 'a second kickoff adds none');
  assert.deepEqual(planFirstProbe({ ...facts, stopped: true }), { run: false, reason: 'stopped' });
  assert.deepEqual(planFirstProbe({ ...facts, activity: null }), { run: false, reason: 'unknown' });
});

test('many first probes are spread over a longer window: at most FIRST_PROBES_PER_SECOND, and none within 10 s of the scheduled one', () => {
  assert.equal(firstProbeSpreadMs(1), DEFAULT_FIRST_PROBE_SPREAD_MS);
  assert.equal(firstProbeSpreadMs(200), DEFAULT_FIRST_PROBE_SPREAD_MS);
  assert.equal(firstProbeSpreadMs(10_000), (10_000 / FIRST_PROBES_PER_SECOND) * 1000);
  assert.equal(firstProbeSpreadMs(10, 20_000), 20_000, 'a configured window is a minimum');
  // 10,000 connections on `* * * * *` started 30 s before the minute: each first probe either keeps 10 s from the
  // connection's scheduled probe or is left to it, and no second has more than its share.
  const spreadMs = firstProbeSpreadMs(10_000);
  const nextTickAt = T0 + 30_000;
  const perSecond = new Map<number, number>();
  let skipped = 0;
  for (let index = 0; index < 10_000; index += 1) {
    const name = `conn-${index}`;
    const offsetMs = spreadOffsetMs(name, 60_000, 60_000);
    const plan = planFirstProbe({ name, now: T0, nextTickAt, offsetMs, spreadMs, activity: idle, stopped: false });
    if (!plan.run) {
      skipped += 1;
      continue;
    }
    assert.ok(nextTickAt + offsetMs - plan.plannedStart > FIRST_PROBE_UNLESS_DUE_WITHIN_MS);
    const second = Math.floor((plan.plannedStart - T0) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  assert.ok(skipped > 1000 && skipped < 9500, `${skipped} left to their scheduled probe`);
  assert.ok(Math.max(...perSecond.values()) < FIRST_PROBES_PER_SECOND * 1.3, `at most ${Math.max(...perSecond.values())} in one second`);
});

test('the wait before a planned start is never negative, and the start delay counts how late it began', () => {
  assert.equal(waitMs(T0 + 2500, T0), 2500);
  assert.equal(waitMs(T0, T0 + 2500), 0);
  assert.equal(startDelaySeconds(T0, T0 + 1500), 1.5);
  assert.equal(startDelaySeconds(T0 + 1500, T0), 0);
});

/** Tickers the test fires by hand; every schedule matches each second from the test's clock unless told otherwise. */
class ManualTickers {
  readonly made: { schedule: string; onTick: (at: Date) => void; started: boolean; destroyed: boolean }[] = [];
  constructor(
    private readonly clock: { now: number },
    private readonly periods: Record<string, number> = {},
  ) {}

  readonly create: CreateTicker = (schedule, onTick) => {
    const ticker = { schedule, onTick, started: false, destroyed: false };
    this.made.push(ticker);
    return {
      start: () => void (ticker.started = true),
      stop: () => {},
      destroy: () => void (ticker.destroyed = true),
      nextRuns: (count) => {
        const period = this.periods[schedule] ?? 1000;
        const first = (Math.floor(this.clock.now / period) + 1) * period;
        return Array.from({ length: count }, (_, index) => new Date(first + index * period));
      },
    };
  };

  live(): string[] {
    return this.made.filter((ticker) => ticker.started && !ticker.destroyed).map((ticker) => ticker.schedule);
  }

  /** Fires the live ticker of the schedule at the clock's instant. */
  fire(schedule: string): void {
    const ticker = this.made.find((candidate) => candidate.schedule === schedule && !candidate.destroyed);
    assert.ok(ticker, `no live ticker for ${schedule}`);
    ticker.onTick(new Date(this.clock.now));
  }
}

function harness(options: Partial<SchedulerOptions> = {}, periods?: Record<string, number>) {
  const clock = { now: T0 };
  const tickers = new ManualTickers(clock, periods);
  const skipped: string[] = [];
  const delays: number[] = [];
  const scheduler = new Scheduler({
    concurrency: 4,
    maxSpreadMs: 0,
    firstProbeSpreadMs: 0,
    onStartDelay: (seconds) => delays.push(seconds),
    onSkippedOverlap: (name) => skipped.push(name),
    onError: (name, error) => assert.fail(`${name}: ${String(error)}`),
    now: () => clock.now,
    createTicker: tickers.create,
    ...options,
  });
  return { clock, tickers, skipped, delays, scheduler };
}

/** Jobs that run until the test releases them, announcing every start and end, counting overlapping runs. */
class GatedJobs {
  readonly events = new EventEmitter();
  readonly started = new Map<string, number>();
  readonly finished = new Map<string, number>();
  running = 0;
  maxRunning = 0;
  private readonly gates = new Map<string, () => void>();

  job(name: string, schedule: string, value?: () => unknown) {
    return {
      name,
      schedule,
      run: async () => {
        this.started.set(name, (this.started.get(name) ?? 0) + 1);
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        await new Promise<void>((resolve) => {
          this.gates.set(name, resolve);
          this.events.emit(`start:${name}`);
        });
        this.running--;
        this.finished.set(name, (this.finished.get(name) ?? 0) + 1);
        this.events.emit(`end:${name}`);
        return value?.();
      },
    };
  }

  /** Resolves when the named job's run has started (call before the action that starts it). */
  starts(name: string): Promise<unknown> {
    return once(this.events, `start:${name}`);
  }

  ends(name: string): Promise<unknown> {
    return once(this.events, `end:${name}`);
  }

  release(name: string): void {
    const gate = this.gates.get(name);
    this.gates.delete(name);
    gate?.();
  }

  releaseAll(): void {
    for (const name of [...this.gates.keys()]) this.release(name);
  }
}

/** Lets timers of 0 ms, the concurrency queue and settled promises run, so "nothing happened" is observed, not slept on. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await nextTurn();
}

test('a slow connection is not probed twice at once, the global cap holds, and waiting for it shows as start delay', async (t) => {
  const { clock, tickers, skipped, delays, scheduler } = harness({ concurrency: 1 });
  const jobs = new GatedJobs();
  t.after(async () => {
    jobs.releaseAll();
    await scheduler.stop(0);
  });
  scheduler.sync([jobs.job('slow', '* * * * * *'), jobs.job('fast', '* * * * * *')]);
  const slowStarts = jobs.starts('slow');
  tickers.fire('* * * * * *');
  await slowStarts;
  await settle();
  assert.equal(jobs.started.get('fast'), undefined, 'fast waits for the one place');

  clock.now += 1000;
  tickers.fire('* * * * * *');
  assert.deepEqual(skipped.sort(), ['fast', 'slow'], 'both are still in progress at the next tick: skipped, not queued twice');

  clock.now += 500;
  const fastStarts = jobs.starts('fast');
  jobs.release('slow');
  await fastStarts;
  assert.equal(jobs.maxRunning, 1, 'the global concurrency cap of 1 was exceeded');
  assert.deepEqual(delays, [0, 1.5], 'fast started 1.5 s after its tick, behind slow');
  jobs.release('fast');
  await jobs.ends('fast');

  clock.now += 500;
  const again = jobs.starts('slow');
  tickers.fire('* * * * * *');
  await again;
  assert.equal(jobs.started.get('slow'), 2, 'the slow connection is probed again at the first tick after its run');
});

test('sync adds, keeps and removes jobs by name, one ticker per schedule, reporting its period', async () => {
  const { tickers, scheduler } = harness({}, { '*/5 * * * *': 300_000 });
  const noop = async () => {};
  scheduler.sync([{ name: 'a', schedule: '*/5 * * * *', run: noop }, { name: 'b', schedule: '*/5 * * * *', run: noop }]);
  assert.deepEqual(tickers.live(), ['*/5 * * * *']);
  assert.equal(scheduler.periodSeconds('a'), 300);
  scheduler.sync([{ name: 'b', schedule: '*/5 * * * *', run: noop }, { name: 'c', schedule: '* * * * *', run: noop }]);
  assert.deepEqual(scheduler.names().sort(), ['b', 'c']);
  assert.equal(scheduler.periodSeconds('a'), null);
  scheduler.sync([{ name: 'c', schedule: '* * * * *', run: noop }]);
  assert.deepEqual(tickers.live(), ['* * * * *'], "a schedule's ticker goes with its last connection");
  await scheduler.stop(0);
  assert.deepEqual(tickers.live(), [], 'stop destroys the tickers');
});

test('jobs on one schedule share one ticker and all run; a removed job stops, a moved job follows its new schedule', async () => {
  const { clock, tickers, scheduler } = harness();
  const runs: string[] = [];
  const ran = new EventEmitter();
  const job = (name: string, schedule: string) => ({ name, schedule, run: async () => void (runs.push(name), ran.emit('run')) });
  const runsOf = async (count: number) => {
    while (runs.length < count) await once(ran, 'run');
    await settle();
    return runs.splice(0).sort();
  };
  scheduler.sync([job('a', '* * * * * *'), job('b', '* * * * * *'), job('c', '* * * * * *')]);
  assert.equal(tickers.made.length, 1, 'three jobs on one schedule share one ticker');
  tickers.fire('* * * * * *');
  assert.deepEqual(await runsOf(3), ['a', 'b', 'c']);

  scheduler.sync([job('b', '* * * * * *'), job('c', '*/1 * * * * *')]);
  assert.deepEqual(tickers.live().sort(), ['* * * * * *', '*/1 * * * * *']);
  clock.now += 1000;
  tickers.fire('* * * * * *');
  assert.deepEqual(await runsOf(1), ['b'], 'a removed job must not run, a moved one not on its old schedule');
  tickers.fire('*/1 * * * * *');
  assert.deepEqual(await runsOf(1), ['c'], 'c runs on its new schedule');
  await scheduler.stop(0);
});

test('a schedule changed while its probe runs: the new schedule skips until the old run ends, and stop waits for it', async (t) => {
  const { tickers, skipped, scheduler } = harness();
  const jobs = new GatedJobs();
  t.after(() => jobs.releaseAll());
  scheduler.sync([jobs.job('jira-prod', '* * * * * *')]);
  const started = jobs.starts('jira-prod');
  tickers.fire('* * * * * *');
  await started;

  scheduler.sync([jobs.job('jira-prod', '*/1 * * * * *')]);
  tickers.fire('*/1 * * * * *');
  assert.deepEqual(skipped, ['jira-prod'], "a tick of the new schedule during the old schedule's run is skipped");
  await settle();
  assert.equal(jobs.started.get('jira-prod'), 1, 'the rescheduled connection must not start a second run while the first one is in flight');

  let stopped = false;
  const stopping = scheduler.stop(3_600_000).then((names) => {
    stopped = true;
    return names;
  });
  await settle();
  assert.equal(stopped, false, 'stop() must wait for the run started under the old schedule');
  jobs.release('jira-prod');
  assert.deepEqual(await stopping, []);
  assert.equal(jobs.finished.get('jira-prod'), 1);
  assert.equal(jobs.maxRunning, 1);
});

test('a connection removed while its probe runs is still reported by stop() when the grace runs out', async (t) => {
  const { tickers, scheduler } = harness();
  const jobs = new GatedJobs();
  t.after(() => jobs.releaseAll());
  scheduler.sync([jobs.job('jira-old', '* * * * * *')]);
  const started = jobs.starts('jira-old');
  tickers.fire('* * * * * *');
  await started;
  scheduler.sync([]);
  assert.deepEqual(scheduler.names(), []);
  assert.deepEqual(await scheduler.stop(0), ['jira-old'], 'the removed connection is still running and must be named');
  const ended = jobs.ends('jira-old');
  jobs.release('jira-old');
  await ended;
});

test('kickoff: a first run of each job, none for a job whose schedule fires soon anyway, none twice', async () => {
  const { tickers, scheduler } = harness({}, { '0 0 1 1 *': 365 * 86_400_000 });
  const runs: string[] = [];
  const ran = new EventEmitter();
  const job = (name: string, schedule: string) => ({ name, schedule, run: async () => void (runs.push(name), ran.emit('run')) });
  // Yearly schedules: without the kickoff these would stay unknown for months.
  scheduler.sync([job('yearly-a', '0 0 1 1 *'), job('yearly-b', '0 0 1 1 *'), job('every-second', '* * * * * *')]);
  scheduler.kickoff(scheduler.names());
  scheduler.kickoff(scheduler.names()); // a second call while the first runs are pending adds none
  while (runs.length < 2) await once(ran, 'run');
  await settle();
  assert.deepEqual(runs.sort(), ['yearly-a', 'yearly-b'], 'one first run each; the every-second job waits for its tick');
  tickers.fire('* * * * * *');
  await once(ran, 'run');
  assert.equal(runs.at(-1), 'every-second', 'the every-second job runs on its schedule');
  await scheduler.stop(0);
});

test("a tick is not skipped for a first probe still waiting for its place in the spread: it keeps 10 s from it by plan", async () => {
  // The first probe is planned an hour of real time away (a long spread); the tick comes first and must run.
  const { tickers, skipped, scheduler } = harness({ firstProbeSpreadMs: 3_600_000 }, { '0 * * * *': 3_600_000 });
  const runs: string[] = [];
  const ran = new EventEmitter();
  scheduler.sync([{ name: 'hourly', schedule: '0 * * * *', run: async () => void (runs.push('hourly'), ran.emit('run')) }]);
  scheduler.kickoff(scheduler.names());
  await settle();
  tickers.fire('0 * * * *');
  await once(ran, 'run');
  assert.deepEqual(skipped, [], 'no overlap reported');
  assert.deepEqual(runs, ['hourly']);
  scheduler.kickoff(scheduler.names());
  await settle();
  assert.deepEqual(runs, ['hourly'], 'a second kickoff adds no first probe while one waits');
  await scheduler.stop(0);
});

test('runNow: runs the job and returns its value, waits for a cycle in progress first, and knows unknown names', async (t) => {
  const { scheduler } = harness();
  const jobs = new GatedJobs();
  t.after(() => jobs.releaseAll());
  let value = 0;
  scheduler.sync([jobs.job('slow', '0 0 1 1 *', () => ++value)]);
  const firstStarts = jobs.starts('slow');
  const both = Promise.all([scheduler.runNow('slow'), scheduler.runNow('slow')]);
  await firstStarts;
  await settle();
  assert.equal(jobs.started.get('slow'), 1, 'the second waits for the first');
  const secondStarts = jobs.starts('slow');
  jobs.release('slow');
  await secondStarts;
  jobs.release('slow');
  const [first, second] = await both;
  assert.deepEqual([first, second].map((result) => (result.status === 'ran' ? result.value : null)).sort(), [1, 2], 'two runs, one after the other');
  assert.equal(jobs.maxRunning, 1, 'never two cycles of one job at once');
  assert.deepEqual(await scheduler.runNow('nope'), { status: 'unknown' });
  await scheduler.stop(0);
  assert.deepEqual(await scheduler.runNow('slow'), { status: 'not_run' }, 'nothing runs after stop');
});

test('derived concurrency: Little\'s law over the spread window, with headroom, within 32..1000', () => {
  // 10,000 a minute start within 48 s (80% of the period): 208/s; at 0.3 s each, 63 in flight on average.
  assert.equal(derivedConcurrency(10_000 / 48, 0.3), 125);
  assert.equal(derivedConcurrency(0, 1), DERIVED_CONCURRENCY_MIN);
  assert.equal(derivedConcurrency(10_000 / 48, 10), DERIVED_CONCURRENCY_MAX, 'a Jira timing out is bounded by memory');
  const window = new DurationWindow();
  assert.equal(window.p95(), null);
  for (let index = 1; index <= 100; index += 1) window.add(index / 100);
  assert.equal(window.p95(), 0.95);
});

test('without --concurrency the cap follows the schedules and the observed cycle durations', async () => {
  const clock = { now: T0 };
  const tickers = new ManualTickers(clock, { '* * * * *': 60_000 });
  const options = { maxSpreadMs: 60_000, now: () => clock.now, createTicker: tickers.create, onStartDelay: () => {}, onSkippedOverlap: () => {}, loopUtilization: () => 0.3 };
  const scheduler = new Scheduler({ ...options, concurrency: null, onError: (name, error) => assert.fail(`${name}: ${String(error)}`) });
  // Each cycle takes 300 ms of the scheduler's clock.
  const jobs = Array.from({ length: 10_000 }, (_, index) => ({ name: `conn-${index}`, schedule: '* * * * *', run: async () => void (clock.now += 300) }));
  scheduler.sync(jobs);
  assert.equal(scheduler.concurrency(), derivedConcurrency(10_000 / 48, 1), 'before any probe: 1 s assumed');
  for (let index = 0; index < 64; index += 1) assert.equal((await scheduler.runNow(`conn-${index}`)).status, 'ran');
  assert.equal(scheduler.concurrency(), 125, 'at 300 ms a probe');
  scheduler.sync(jobs.slice(0, 100));
  assert.equal(scheduler.concurrency(), DERIVED_CONCURRENCY_MIN, 'fewer connections, the floor');
  await scheduler.stop(100);

  const fixed = new Scheduler({ ...options, concurrency: 7, onError: () => {} });
  fixed.sync(jobs);
  assert.equal(fixed.concurrency(), 7, '--concurrency N overrides');
  await fixed.stop(100);
});

test('the derived cap is not raised while the event loop is saturated: longer cycles then mean a busy loop, not a slow Jira', async () => {
  const clock = { now: T0 };
  const tickers = new ManualTickers(clock, { '* * * * *': 60_000 });
  const loop = { utilization: 0.3 };
  const scheduler = new Scheduler({
    maxSpreadMs: 60_000,
    now: () => clock.now,
    createTicker: tickers.create,
    onStartDelay: () => {},
    onSkippedOverlap: () => {},
    loopUtilization: () => loop.utilization,
    concurrency: null,
    onError: (name, error) => assert.fail(`${name}: ${String(error)}`),
  });
  const cycleMs = { value: 10 };
  const jobs = Array.from({ length: 10_000 }, (_, index) => ({ name: `conn-${index}`, schedule: '* * * * *', run: async () => void (clock.now += cycleMs.value) }));
  scheduler.sync(jobs);
  let next = 0;
  const runMany = async (count: number) => {
    for (let index = 0; index < count; index += 1) assert.equal((await scheduler.runNow(`conn-${next++ % 10_000}`)).status, 'ran');
  };
  await runMany(600);
  assert.equal(scheduler.concurrency(), DERIVED_CONCURRENCY_MIN, 'fast cycles: the floor');
  loop.utilization = 0.97;
  cycleMs.value = 2000;
  await runMany(600);
  assert.equal(scheduler.concurrency(), DERIVED_CONCURRENCY_MIN, 'cycles 200x longer on a saturated loop: not raised');
  loop.utilization = 0.5;
  await runMany(64);
  assert.equal(scheduler.concurrency(), derivedConcurrency(10_000 / 48, 2), 'the same cycles with time to spare on the loop: raised');
  await scheduler.stop(100);
});

