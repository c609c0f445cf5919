// What a V8 heap snapshot holds, by constructor (DevTools' "Summary" view, shallow sizes): the top entries by bytes.
//   node dist/bench/heap-summary.js FILE.heapsnapshot [--top 30]
// Taken with `npm run bench -- --heap-snapshot` (the daemon at the end of the measured window).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  strings: string[];
}

export interface HeapEntry {
  type: string;
  name: string;
  count: number;
  selfBytes: number;
}

/** Shallow bytes and object counts grouped by node type and constructor name (strings grouped by type alone). */
export function summarize(snapshot: HeapSnapshot): { totalBytes: number; entries: HeapEntry[] } {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const groups = new Map<string, HeapEntry>();
  let totalBytes = 0;
  for (let offset = 0; offset < snapshot.nodes.length; offset += width) {
    const type = types[snapshot.nodes[offset + typeAt]] ?? 'unknown';
    const bytes = snapshot.nodes[offset + sizeAt];
    totalBytes += bytes;
    // One group per string type (their names are their contents), per constructor for the rest.
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' ? '' : snapshot.strings[snapshot.nodes[offset + nameAt]].slice(0, 80);
    const key = `${type}\u0000${name}`;
    const entry = groups.get(key) ?? { type, name, count: 0, selfBytes: 0 };
    entry.count += 1;
    entry.selfBytes += bytes;
    groups.set(key, entry);
  }
  return { totalBytes, entries: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes) };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
  if (positionals.length !== 1) throw new Error('usage: heap-summary.js FILE.heapsnapshot [--top 30]');
  const { totalBytes, entries } = summarize(JSON.parse(readFileSync(positionals[0], 'utf8')) as HeapSnapshot);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
  console.log(`${mib(totalBytes)} MiB in the snapshot (shallow sizes)`);
  console.log(`${'MiB'.padStart(8)} ${'share'.padStart(6)} ${'count'.padStart(9)}  type / constructor`);
  for (const entry of entries.slice(0, Number(values.top))) {
    console.log(`${mib(entry.selfBytes).padStart(8)} ${((100 * entry.selfBytes) / totalBytes).toFixed(1).padStart(5)}% ${String(entry.count).padStart(9)}  ${entry.type}${entry.name ? ` ${entry.name}` : ''}`);
  }
}

main();
