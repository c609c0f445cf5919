import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownedBy, parseShard, shardOf } from '../../src/daemon/shard.js';

const names = Array.from({ length: 3000 }, (_, index) => ({ name: `conn-${index}` }));

test('every connection is owned by exactly one of N replicas, spread evenly', () => {
  const shares = [1, 2, 3].map((index) => ownedBy(names, { index, count: 3 }));
  assert.equal(shares.reduce((sum, share) => sum + share.length, 0), names.length);
  assert.equal(new Set(shares.flat().map((item) => item.name)).size, names.length);
  for (const share of shares) assert.ok(share.length > 850 && share.length < 1150, `uneven share: ${share.length}`);
  assert.deepEqual(ownedBy(names, null), names);
});

test('adding a replica moves only the connections the new replica takes', () => {
  const moved = names.filter(({ name }) => shardOf(name, 3) !== shardOf(name, 4));
  assert.ok(moved.every(({ name }) => shardOf(name, 4) === 4), 'a connection only ever moves to the new replica');
  assert.ok(moved.length > 600 && moved.length < 900, `moved ${moved.length} of 3000, expected about a quarter`);
});

test('shard syntax', () => {
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/3', '4/3', '1/0', 'x', '1-3']) assert.throws(() => parseShard(bad), /not a shard/);
});
