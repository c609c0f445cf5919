// Splitting connections between replicas (`run --shard I/N`) by rendezvous hashing: every replica computes the
// same owner for a name without talking to the others, and going from N to N+1 replicas moves only ~1/(N+1)
// of the connections.
import { createHash } from 'node:crypto';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) throw new Error(`"${text}" is not a shard: use I/N with 1 ≤ I ≤ N, e.g. 2/3`);
  return { index, count };
}

function score(name: string, shard: number): bigint {
  return createHash('sha256').update(`${shard}\u0000${name}`).digest().readBigUInt64BE(0);
}

/** The 1-based shard that owns a connection name. */
export function shardOf(name: string, count: number): number {
  let owner = 1;
  let best = -1n;
  for (let shard = 1; shard <= count; shard++) {
    const candidate = score(name, shard);
    if (candidate > best) {
      best = candidate;
      owner = shard;
    }
  }
  return owner;
}

export function ownedBy<T extends { name: string }>(items: readonly T[], shard: Shard | null): T[] {
  return shard ? items.filter((item) => shardOf(item.name, shard.count) === shard.index) : [...items];
}
