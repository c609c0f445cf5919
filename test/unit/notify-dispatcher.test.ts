import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher, decideRetry, DEFAULT_RETRY_POLICY, type DeliveryOutcome } from '../../src/notify/dispatcher.js';
import { MemoryOutbox } from '../../src/notify/memory-outbox.js';
import type { Notifier } from '../../src/notify/registry.js';
import type { Channel, DeliveryResult } from '../../src/notify/types.js';

const T0 = new Date('2025-03-04T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

/** A channel whose answers are scripted; records what it was asked to send. */
function scriptedNotifier(channel: Channel, target: string, answers: DeliveryResult[] = []) {
  const sent: unknown[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const notifier: Notifier & { sent: unknown[]; maxInFlight: () => number } = {
    channel,
    target,
    sent,
    maxInFlight: () => maxInFlight,
    render: (n) => n,
    async deliver(payload) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      sent.push(payload);
      return answers.shift() ?? { kind: 'delivered' };
    },
  };
  return notifier;
}

function setup(notifiers: Notifier[]) {
  const outbox = new MemoryOutbox();
  const results: string[] = [];
  const dispatcher = new Dispatcher({
    outbox,
    notifiers: () => notifiers,
    onResult: (channel, result: DeliveryOutcome) => results.push(`${channel}:${result}`),
  });
  const add = (channel: Channel, target: string, payload: unknown, now = T0) =>
    outbox.enqueue({ channel, target, payload, dedupeKey: `${channel}|${target}|${JSON.stringify(payload)}` }, now)!;
  return { outbox, dispatcher, results, add };
}

test('a delivered row is marked delivered and counted', async () => {
  const slack = scriptedNotifier('slack', 'webhook');
  const { outbox, dispatcher, results, add } = setup([slack]);
  add('slack', 'webhook', { n: 1 });
  assert.deepEqual(await dispatcher.runOnce(T0), { delivered: 1, retried: 0, failed: 0 });
  assert.deepEqual(slack.sent, [{ n: 1 }]);
  assert.equal(outbox.list()[0].status, 'delivered');
  assert.deepEqual(results, ['slack:delivered']);
  assert.deepEqual(await dispatcher.runOnce(at(60_000)), { delivered: 0, retried: 0, failed: 0 }, 'never sent again');
});

test('retries back off 2 s, 4 s, 8 s… honour a longer Retry-After, and deliver exactly once', async () => {
  const slack = scriptedNotifier('slack', 'webhook', [
    { kind: 'retry', afterMs: null, reason: 'Slack answered HTTP 500' },
    { kind: 'retry', afterMs: null, reason: 'Slack answered HTTP 502' },
    { kind: 'retry', afterMs: 30_000, reason: 'Slack answered HTTP 429' },
  ]);
  const { outbox, dispatcher, results, add } = setup([slack]);
  const row = add('slack', 'webhook', { n: 1 });
  await dispatcher.runOnce(T0);
  assert.deepEqual(outbox.list()[0].nextAttemptAt, at(2000));
  assert.equal(outbox.list()[0].lastError, 'Slack answered HTTP 500');
  await dispatcher.runOnce(at(1999));
  assert.equal(slack.sent.length, 1, 'not before the back-off');
  await dispatcher.runOnce(at(2000));
  assert.deepEqual(outbox.list()[0].nextAttemptAt, at(2000 + 4000));
  await dispatcher.runOnce(at(6000));
  assert.deepEqual(outbox.list()[0].nextAttemptAt, at(6000 + 30_000), 'Retry-After wins when longer than the back-off');
  await dispatcher.runOnce(at(36_000));
  assert.equal(slack.sent.length, 4);
  assert.equal(row.status, 'delivered');
  assert.deepEqual(results, ['slack:retried', 'slack:retried', 'slack:retried', 'slack:delivered']);
});

test('a rejection (e.g. 404 no_service) fails the row at once: never retried', async () => {
  const slack = scriptedNotifier('slack', 'webhook', [{ kind: 'rejected', reason: 'Slack answered HTTP 404 no_service' }]);
  const { outbox, dispatcher, results, add } = setup([slack]);
  add('slack', 'webhook', { n: 1 });
  await dispatcher.runOnce(T0);
  await dispatcher.runOnce(at(86_400_000));
  assert.equal(slack.sent.length, 1);
  assert.equal(outbox.list()[0].status, 'failed');
  assert.equal(outbox.list()[0].lastError, 'Slack answered HTTP 404 no_service');
  assert.deepEqual(results, ['slack:failed']);
});

test('a row that keeps failing is given up after the maximum age', async () => {
  const answers = Array.from({ length: 400 }, (): DeliveryResult => ({ kind: 'retry', afterMs: null, reason: 'Slack could not be reached: ECONNREFUSED' }));
  const slack = scriptedNotifier('slack', 'webhook', answers);
  const { outbox, dispatcher, add } = setup([slack]);
  add('slack', 'webhook', { n: 1 });
  let now = T0;
  while (outbox.list()[0].status === 'pending') {
    await dispatcher.runOnce(now);
    now = outbox.list()[0].nextAttemptAt;
  }
  const row = outbox.list()[0];
  assert.equal(row.status, 'failed');
  assert.match(row.lastError!, /^gave up after 1d and \d+ attempts: Slack could not be reached: ECONNREFUSED$/);
  assert.deepEqual(row.finishedAt, at(DEFAULT_RETRY_POLICY.maxAgeMs), 'the last attempt is at the deadline');
  assert.ok(slack.sent.length > 250 && slack.sent.length < 320, `5-minute cap over a day: ${slack.sent.length} attempts`);
});

test('FIFO per lane: a row waiting for a retry holds back the rows behind it; other lanes carry on', async () => {
  const slack = scriptedNotifier('slack', 'webhook', [{ kind: 'retry', afterMs: null, reason: 'HTTP 500' }]);
  const amA = scriptedNotifier('alertmanager', 'http://a:9093');
  const amB = scriptedNotifier('alertmanager', 'http://b:9093', [{ kind: 'retry', afterMs: null, reason: 'down' }]);
  const { dispatcher, add } = setup([slack, amA, amB]);
  add('slack', 'webhook', 'opened');
  add('alertmanager', 'http://a:9093', 'firing');
  add('alertmanager', 'http://b:9093', 'firing');
  add('slack', 'webhook', 'resolved');
  add('alertmanager', 'http://a:9093', 'resolved');
  add('alertmanager', 'http://b:9093', 'resolved');
  await dispatcher.runOnce(T0);
  assert.deepEqual(slack.sent, ['opened'], 'resolved must not overtake opened');
  assert.deepEqual(amA.sent, ['firing', 'resolved'], 'one Alertmanager being down delays nothing for another');
  assert.deepEqual(amB.sent, ['firing']);
  await dispatcher.runOnce(at(2000));
  assert.deepEqual(slack.sent, ['opened', 'opened', 'resolved']);
  assert.deepEqual(amB.sent, ['firing', 'firing', 'resolved']);
});

test('one send at a time per lane, and concurrent passes never send a row twice', async () => {
  const slack = scriptedNotifier('slack', 'webhook');
  const { dispatcher, add } = setup([slack]);
  for (let index = 0; index < 5; index++) add('slack', 'webhook', index);
  await Promise.all([dispatcher.runOnce(T0), dispatcher.runOnce(T0), dispatcher.runOnce(T0)]);
  assert.deepEqual(slack.sent, [0, 1, 2, 3, 4]);
  assert.equal(slack.maxInFlight(), 1);
});

test('a row for a channel that is no longer configured fails instead of blocking its lane', async () => {
  const { outbox, dispatcher, results, add } = setup([]);
  add('alertmanager', 'http://user:pw@old:9093', 'firing');
  await dispatcher.runOnce(T0);
  assert.equal(outbox.list()[0].status, 'failed');
  assert.equal(outbox.list()[0].lastError, 'alertmanager http://old:9093 is no longer configured');
  assert.deepEqual(results, ['alertmanager:failed']);
});

test('a notifier that throws is retried, and its message (which could hold anything) is not kept', async () => {
  const broken: Notifier = {
    channel: 'slack',
    target: 'webhook',
    render: (n) => n,
    deliver: async () => {
      throw new Error('https://hooks.slack.com/services/T/B/secret');
    },
  };
  const { outbox, dispatcher, add } = setup([broken]);
  add('slack', 'webhook', 'x');
  await dispatcher.runOnce(T0);
  assert.equal(outbox.list()[0].status, 'pending');
  assert.equal(outbox.list()[0].lastError, 'internal error in the slack notifier (Error)');
});

test('decideRetry: the back-off is capped at 5 minutes, and the next attempt never goes past the deadline', () => {
  const created = { attempts: 20, createdAt: T0 };
  const decision = decideRetry(created, { kind: 'retry', afterMs: null, reason: 'x' }, at(60_000), DEFAULT_RETRY_POLICY);
  assert.deepEqual(decision, { action: 'retry', attempts: 21, nextAttemptAt: at(60_000 + 300_000) });
  const nearEnd = decideRetry(created, { kind: 'retry', afterMs: 3_600_000, reason: 'x' }, at(86_000_000), DEFAULT_RETRY_POLICY);
  assert.deepEqual(nearEnd, { action: 'retry', attempts: 21, nextAttemptAt: at(86_400_000) });
});

/** A channel whose sends each wait until the test releases them (or until the gate is opened for good). */
function gatedNotifier(channel: Channel, target: string) {
  const sent: unknown[] = [];
  const waiting: (() => void)[] = [];
  let open = false;
  let inFlight = 0;
  let maxInFlight = 0;
  const notifier: Notifier = {
    channel,
    target,
    render: (n) => n,
    async deliver(payload) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight--;
      sent.push(payload);
      return { kind: 'delivered' };
    },
  };
  return {
    notifier,
    sent,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    releaseOne: () => waiting.shift()?.(),
    openGate: () => {
      open = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited++) {
    if (waited > 2000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

test('lanes are independent: a slow Alertmanager does not hold Slack to one row per answer', async (t) => {
  const alertmanager = gatedNotifier('alertmanager', 'http://am:9093');
  const slack = scriptedNotifier('slack', 'webhook');
  const { dispatcher, add, outbox } = setup([alertmanager.notifier, slack]);
  t.after(() => alertmanager.openGate());
  add('alertmanager', 'http://am:9093', 'firing');
  for (const text of ['opened', 'reminder', 'resolved']) add('slack', 'webhook', text);
  add('alertmanager', 'http://am:9093', 'resolved');
  add('slack', 'webhook', 'opened again');

  const pass = dispatcher.runOnce(T0);
  await until(() => slack.sent.length === 4, 'every Slack row while the first Alertmanager send hangs');
  assert.deepEqual(slack.sent, ['opened', 'reminder', 'resolved', 'opened again'], 'Slack keeps its order');
  assert.deepEqual(alertmanager.sent, []);
  assert.equal(alertmanager.inFlight(), 1);

  alertmanager.releaseOne();
  await until(() => alertmanager.sent.length === 1 && alertmanager.inFlight() === 1, 'the second Alertmanager send');
  alertmanager.releaseOne();
  assert.deepEqual(await pass, { delivered: 6, retried: 0, failed: 0 });
  assert.deepEqual(alertmanager.sent, ['firing', 'resolved'], 'Alertmanager keeps its order');
  assert.equal(alertmanager.maxInFlight(), 1, 'one send at a time in the slow lane');
  assert.equal(slack.maxInFlight(), 1, 'one send at a time in the fast lane');
  assert.ok(outbox.list().every((row) => row.status === 'delivered'));
});

test('stop() lets the send in flight finish and be recorded, and starts no further one', async (t) => {
  const slack = gatedNotifier('slack', 'webhook');
  const outbox = new MemoryOutbox();
  const results: string[] = [];
  const dispatcher = new Dispatcher({ outbox, notifiers: () => [slack.notifier], clock: () => T0, onResult: (channel, result) => results.push(`${channel}:${result}`) });
  t.after(() => slack.openGate());
  for (const index of [1, 2, 3]) outbox.enqueue({ channel: 'slack', target: 'webhook', payload: index, dedupeKey: `k${index}` }, T0);
  dispatcher.start();
  await until(() => slack.inFlight() === 1, 'the first send');

  const stopping = dispatcher.stop();
  slack.openGate();
  await stopping;
  assert.deepEqual(slack.sent, [1], 'only the send that was in flight when stop() was called');
  assert.deepEqual(results, ['slack:delivered'], 'and it was recorded');
  assert.deepEqual(outbox.list().map((row) => row.status), ['delivered', 'pending', 'pending']);
});

test('an accepted row whose delivery cannot be recorded is never sent again, and is recorded once the outbox accepts writes', async () => {
  const slack = scriptedNotifier('slack', 'webhook');
  const alertmanager = scriptedNotifier('alertmanager', 'http://am:9093');
  const { outbox, dispatcher, add } = setup([slack, alertmanager]);
  let locked = true;
  const markDelivered = outbox.markDelivered.bind(outbox);
  outbox.markDelivered = (id, when) => {
    if (locked && outbox.list().find((row) => row.id === id)?.channel === 'slack') throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    markDelivered(id, when);
  };
  add('slack', 'webhook', 'opened');
  add('slack', 'webhook', 'resolved');
  add('alertmanager', 'http://am:9093', 'firing');

  assert.deepEqual(await dispatcher.runOnce(T0), { delivered: 2, retried: 0, failed: 0 }, 'the pass does not fail; the other lane is recorded');
  assert.deepEqual(slack.sent, ['opened']);
  assert.equal(outbox.list()[0].status, 'pending', 'not yet recorded');
  assert.equal(dispatcher.unrecordedCount, 1);
  // Still locked, and later passes, before and after the back-off: the accepted row is held, its lane waits.
  for (const ms of [500, 1500, 10_000]) await dispatcher.runOnce(at(ms));
  assert.deepEqual(slack.sent, ['opened'], 'never sent twice');

  locked = false;
  await dispatcher.runOnce(at(60_000));
  assert.equal(outbox.list()[0].status, 'delivered', 'recorded once the outbox accepts writes');
  assert.equal(dispatcher.unrecordedCount, 0);
  assert.deepEqual(slack.sent, ['opened', 'resolved'], 'the lane carries on in order');
});
