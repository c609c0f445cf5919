import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heapLimitWarning } from '../../src/daemon/heap-budget.js';

const MIB = 1024 * 1024;

test("a config that outgrows the heap limit is told at start, with the setting to raise; one that fits is not", () => {
  const unitLimit = 536 * MIB; // heap_size_limit under --max-semi-space-size=8 --max-old-space-size=512
  assert.equal(heapLimitWarning(10_000, unitLimit), null, 'the benchmarked 10,000 fit');
  assert.equal(heapLimitWarning(25_000, unitLimit), null);
  const warning = heapLimitWarning(60_000, unitLimit);
  assert.ok(warning);
  assert.match(warning, /^60000 connections keep about 551 MiB of heap live and the heap limit is 536 MiB/);
  assert.match(warning, /--max-old-space-size=1792/);
  assert.equal(heapLimitWarning(60_000, 4096 * MIB), null, 'a raised limit');
});
