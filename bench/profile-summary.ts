// Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`, or `node --cpu-prof`): where the CPU went,
// by function (self and inclusive) and by area (authwatch module, dependency, Node.js internals).
//   node dist/bench/profile-summary.js PROFILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

const NOT_CODE = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a function lives: an authwatch source folder, a dependency, or Node.js itself. */
function areaOf(url: string, functionName: string): string {
  if (NOT_CODE.has(functionName) && url === '') return functionName;
  if (url === '') return '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1];
  const own = /\/dist\/(src\/[^/]+)\//.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return url;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  if (positionals.length !== 1) throw new Error('usage: profile-summary.js PROFILE.cpuprofile [--top N]');
  const top = Number(values.top);
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
  };

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const id of profile.samples) {
    const node = byId.get(id)!;
    total += 1;
    if (node.callFrame.functionName === '(idle)') {
      idle += 1;
      continue;
    }
    self.set(keyOf(node), (self.get(keyOf(node)) ?? 0) + 1);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + 1);
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const key = keyOf(byId.get(current)!);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
    }
  }
  const busy = total - idle;
  const percent = (count: number) => `${((100 * count) / busy).toFixed(1).padStart(5)}%`;
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [key, count] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${percent(count)}  ${key}`);
  };
  console.log(`${total} samples, ${((100 * idle) / total).toFixed(1)}% idle; percentages below are of the ${busy} busy samples`);
  print('by area (self time)', areas);
  print('by function, self time', self);
  print('by function, inclusive time', inclusive);
}

main();
