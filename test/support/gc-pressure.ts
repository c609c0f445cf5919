// Preloaded into a daemon under test (`node --expose-gc --import …/gc-pressure.js`): forces a full garbage
// collection every few milliseconds, so that objects owned by native addons (better-sqlite3 statements) are
// finalized many times while the daemon works. It reports on stderr every 50 collections and on exit.
import { PerformanceObserver } from 'node:perf_hooks';
import { writeSync } from 'node:fs';

const FORCED_EVERY_MS = Number(process.env.AUTHWATCH_GC_PRESSURE_MS ?? 20);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('gc-pressure needs node --expose-gc');

let collections = 0;
const REPORT_EVERY = 50;
new PerformanceObserver((list) => {
  const before = Math.floor(collections / REPORT_EVERY);
  collections += list.getEntries().length;
  if (Math.floor(collections / REPORT_EVERY) > before) writeSync(2, `gc-pressure: ${collections} collections\n`);
}).observe({ entryTypes: ['gc'] });
setInterval(() => collect(), FORCED_EVERY_MS).unref();
process.on('exit', (code) => writeSync(2, `gc-pressure: ${collections} collections, exit ${code}\n`));
