// The real timers: node-cron tasks and the spread timers of src/daemon/scheduler.ts fire on their own. The
// decisions they feed are pinned at fixed instants in test/unit/scheduler.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import cron from 'node-cron';
import { Scheduler } from '../../src/daemon/scheduler.js';

test('a real cron task ticks every connection on its schedule, the first probe after start fires, and stop destroys the task', async () => {
  const runs = new Map<string, number>();
  const ran = new EventEmitter();
  const delays: number[] = [];
  const scheduler = new Scheduler({
    concurrency: 4,
    maxSpreadMs: 200,
    firstProbeSpreadMs: 200,
    onStartDelay: (seconds) => delays.push(seconds),
    onSkippedOverlap: () => {},
    onError: (name, error) => assert.fail(`${name}: ${String(error)}`),
  });
  const job = (name: string, schedule: string) => ({
    name,
    schedule,
    run: async () => {
      runs.set(name, (runs.get(name) ?? 0) + 1);
      ran.emit('run');
    },
  });
  const tasksBefore = cron.getTasks().size;
  try {
    scheduler.sync([job('a', '* * * * * *'), job('b', '* * * * * *'), job('yearly', '0 0 1 1 *')]);
    assert.equal(cron.getTasks().size - tasksBefore, 2, 'one node-cron task per schedule');
    scheduler.kickoff(['yearly']);
    const everyoneTwice = () => (runs.get('a') ?? 0) >= 2 && (runs.get('b') ?? 0) >= 2 && (runs.get('yearly') ?? 0) >= 1;
    const timeout = AbortSignal.timeout(30_000);
    while (!everyoneTwice()) await once(ran, 'run', { signal: timeout });
    assert.equal(runs.get('yearly'), 1, 'the yearly job ran once, by its first probe');
    assert.ok(delays.every((seconds) => seconds >= 0));
  } finally {
    await scheduler.stop(1000);
  }
  assert.equal(cron.getTasks().size, tasksBefore, 'stop destroys the cron tasks');
});
