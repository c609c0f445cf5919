import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import cron from 'node-cron';
import { Scheduler } from '../../src/daemon/scheduler.js';
import { spreadOffsetMs } from '../../src/daemon/spread.js';
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

test('a slow connection is not probed twice at once, and the global cap holds', async () => {
  let running = 0;
  let maxRunning = 0;
  const runs = new Map<string, number>();
  const skipped: string[] = [];
  const delays: number[] = [];
  const scheduler = new Scheduler({
    concurrency: 1,
    maxSpreadMs: 0,
    onStartDelay: (seconds) => delays.push(seconds),
    onSkippedOverlap: (name) => skipped.push(name),
    onError: (name, error) => assert.fail(`${name}: ${String(error)}`),
  });
  const job = (name: string, busyMs: number) => ({
    name,
    schedule: '* * * * * *',
    run: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs.set(name, (runs.get(name) ?? 0) + 1);
      await sleep(busyMs);
      running--;
    },
  });
  scheduler.sync([job('slow', 1500), job('fast', 10)]);
  // Slow holds the one place 1.5 s at a time, so its next tick finds it busy; fast runs between slow's runs,
  // about every 2 s: three or more times in 6.2 s, whichever job a tick queues first.
  await sleep(6200);
  const stillRunning = await scheduler.stop(5000);
  assert.deepEqual(stillRunning, []);
  assert.equal(maxRunning, 1, 'the global concurrency cap of 1 was exceeded');
  assert.ok(skipped.includes('slow'), 'the slow connection should have had overlapping ticks skipped');
  assert.ok((runs.get('fast') ?? 0) >= 2, 'the fast connection kept being probed');
  assert.ok(delays.some((seconds) => seconds > 0.5), 'waiting for the cap shows up as start delay');
});

test('sync adds, keeps and removes jobs by name', async () => {
  const scheduler = new Scheduler({ concurrency: 4, maxSpreadMs: 0, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: () => {} });
  const noop = async () => {};
  scheduler.sync([{ name: 'a', schedule: '*/5 * * * *', run: noop }, { name: 'b', schedule: '*/5 * * * *', run: noop }]);
  scheduler.sync([{ name: 'b', schedule: '*/5 * * * *', run: noop }, { name: 'c', schedule: '* * * * *', run: noop }]);
  assert.deepEqual(scheduler.names().sort(), ['b', 'c']);
  await scheduler.stop(100);
});

test('jobs on one schedule share one cron task and all run; a removed job stops, a moved job follows its new schedule', async () => {
  const runs = new Map<string, number>();
  const scheduler = new Scheduler({ concurrency: 8, maxSpreadMs: 0, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: () => {} });
  const job = (name: string, schedule: string) => ({ name, schedule, run: async () => void runs.set(name, (runs.get(name) ?? 0) + 1) });
  const tasksBefore = cron.getTasks().size;
  scheduler.sync([job('a', '* * * * * *'), job('b', '* * * * * *'), job('c', '* * * * * *')]);
  assert.equal(cron.getTasks().size - tasksBefore, 1, 'three jobs on one schedule should share one node-cron task');
  await sleep(2300);
  for (const name of ['a', 'b', 'c']) assert.ok((runs.get(name) ?? 0) >= 2, `${name} ran ${runs.get(name) ?? 0} times in 2.3 s`);

  scheduler.sync([job('b', '* * * * * *'), job('c', '*/1 * * * * *')]);
  assert.equal(cron.getTasks().size - tasksBefore, 2);
  runs.clear();
  await sleep(2300);
  assert.equal(runs.get('a'), undefined, 'a removed job must not run');
  assert.ok((runs.get('b') ?? 0) >= 2, `b ran ${runs.get('b') ?? 0} times`);
  assert.ok((runs.get('c') ?? 0) >= 2, `c ran ${runs.get('c') ?? 0} times on its new schedule`);
  await scheduler.stop(1000);
  assert.equal(cron.getTasks().size, tasksBefore, 'stop destroys the cron tasks');
});

/** A job that runs until the test lets it finish, recording how many runs of it overlap. */
function gatedJob(name: string) {
  const state = { started: 0, finished: 0, running: 0, maxRunning: 0, release: () => {} };
  let gate = new Promise<void>((resolve) => (state.release = resolve));
  const job = (schedule: string) => ({
    name,
    schedule,
    run: async () => {
      state.started++;
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      await gate;
      state.running--;
      state.finished++;
      gate = Promise.resolve();
    },
  });
  return { state, job };
}

/** After a failed assertion too: no cron task or gated run may keep the test process alive. */
async function cleanUp(scheduler: Scheduler, state: { release: () => void }): Promise<void> {
  state.release();
  if (!stoppedSchedulers.has(scheduler)) await scheduler.stop(0);
}
const stoppedSchedulers = new WeakSet<Scheduler>();

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('a schedule changed while its probe runs: the new schedule skips until the old run ends, and stop waits for it', async (t) => {
  const skipped: string[] = [];
  const scheduler = new Scheduler({ concurrency: 4, maxSpreadMs: 0, onStartDelay: () => {}, onSkippedOverlap: (name) => skipped.push(name), onError: () => {} });
  const { state, job } = gatedJob('jira-prod');
  t.after(() => cleanUp(scheduler, state));
  scheduler.sync([job('* * * * * *')]);
  await until(() => state.started === 1, 'the first run');

  scheduler.sync([job('*/1 * * * * *')]);
  await until(() => skipped.includes('jira-prod'), "a tick of the new schedule during the old schedule's run");
  assert.equal(state.started, 1, 'the rescheduled connection must not start a second run while the first one is in flight');

  let stopped = false;
  stoppedSchedulers.add(scheduler);
  const stopping = scheduler.stop(10_000).then((names) => {
    stopped = true;
    return names;
  });
  await sleep(300);
  assert.equal(stopped, false, 'stop() must wait for the run started under the old schedule');
  state.release();
  assert.deepEqual(await stopping, []);
  assert.equal(state.finished, 1);
  assert.equal(state.maxRunning, 1);
});

test('a connection removed while its probe runs is still reported by stop() when the grace runs out', async (t) => {
  const scheduler = new Scheduler({ concurrency: 4, maxSpreadMs: 0, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: () => {} });
  const { state, job } = gatedJob('jira-old');
  t.after(() => cleanUp(scheduler, state));
  scheduler.sync([job('* * * * * *')]);
  await until(() => state.started === 1, 'the first run');
  scheduler.sync([]);
  assert.deepEqual(scheduler.names(), []);
  stoppedSchedulers.add(scheduler);
  assert.deepEqual(await scheduler.stop(200), ['jira-old'], 'the removed connection is still running and must be named');
  state.release();
  await until(() => state.finished === 1, 'the run to end');
});

test('kickoff: a first run of each job within the spread window, none for a job whose schedule fires soon anyway', async () => {
  const runs: string[] = [];
  const scheduler = new Scheduler({ concurrency: 4, maxSpreadMs: 0, firstProbeSpreadMs: 300, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: (name, error) => assert.fail(`${name}: ${String(error)}`) });
  const job = (name: string, schedule: string) => ({ name, schedule, run: async () => void runs.push(name) });
  // Yearly schedules: without the kickoff these would stay unknown for months.
  scheduler.sync([job('yearly-a', '0 0 1 1 *'), job('yearly-b', '0 0 1 1 *'), job('every-second', '* * * * * *')]);
  scheduler.kickoff(scheduler.names());
  scheduler.kickoff(scheduler.names()); // a second call while the first runs are pending adds none
  await sleep(1500);
  await scheduler.stop(1000);
  assert.deepEqual(runs.filter((name) => name.startsWith('yearly')).sort(), ['yearly-a', 'yearly-b'], 'one first run each');
  assert.ok(runs.includes('every-second'), 'the every-second job runs on its schedule');
});

test('runNow: runs the job and returns its value, waits for a cycle in progress first, and knows unknown names', async () => {
  let running = 0;
  let overlapped = false;
  let value = 0;
  const scheduler = new Scheduler({ concurrency: 4, maxSpreadMs: 0, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: (name, error) => assert.fail(`${name}: ${String(error)}`) });
  scheduler.sync([
    {
      name: 'slow',
      schedule: '0 0 1 1 *',
      run: async () => {
        running++;
        overlapped ||= running > 1;
        await sleep(200);
        running--;
        return ++value;
      },
    },
  ]);
  const [first, second] = await Promise.all([scheduler.runNow('slow'), scheduler.runNow('slow')]);
  assert.deepEqual([first, second].map((result) => (result.status === 'ran' ? result.value : null)).sort(), [1, 2], 'two runs, one after the other');
  assert.equal(overlapped, false, 'never two cycles of one job at once');
  assert.deepEqual(await scheduler.runNow('nope'), { status: 'unknown' });
  await scheduler.stop(1000);
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
  let clock = 1_000_000;
  const scheduler = new Scheduler({ concurrency: null, maxSpreadMs: 60_000, now: () => clock, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: (name, error) => assert.fail(`${name}: ${String(error)}`) });
  stoppedSchedulers.add(scheduler);
  // Each cycle takes 300 ms of the scheduler's clock.
  const jobs = Array.from({ length: 10_000 }, (_, index) => ({ name: `conn-${index}`, schedule: '* * * * *', run: async () => void (clock += 300) }));
  scheduler.sync(jobs);
  assert.equal(scheduler.concurrency(), derivedConcurrency(10_000 / 48, 1), 'before any probe: 1 s assumed');
  for (let index = 0; index < 64; index += 1) assert.equal((await scheduler.runNow(`conn-${index}`)).status, 'ran');
  assert.equal(scheduler.concurrency(), 125, 'at 300 ms a probe');
  scheduler.sync(jobs.slice(0, 100));
  assert.equal(scheduler.concurrency(), DERIVED_CONCURRENCY_MIN, 'fewer connections, the floor');
  await scheduler.stop(100);

  const fixed = new Scheduler({ concurrency: 7, maxSpreadMs: 60_000, onStartDelay: () => {}, onSkippedOverlap: () => {}, onError: () => {} });
  stoppedSchedulers.add(fixed);
  fixed.sync(jobs);
  assert.equal(fixed.concurrency(), 7, '--concurrency N overrides');
  await fixed.stop(100);
});
