import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import cron from 'node-cron';
import { Scheduler } from '../../src/daemon/scheduler.js';
import { spreadOffsetMs } from '../../src/daemon/spread.js';

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
