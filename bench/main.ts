// `npm run bench [-- MODE] [-- options]`: MODE `side-by-side` compares CPU per probe with blackbox_exporter
// (bench/side-by-side.ts), `status-page` times the status page in Chromium (bench/status-page.ts), `foreign-lock`
// holds the SQLite write lock from another process under load (bench/foreign-lock.ts), `inflight-memory` measures
// the memory of one probe in flight (bench/inflight-memory.ts), `storage-size` measures the probe history's bytes
// and upkeep at scale (bench/storage-size.ts); without a mode, the 10,000-connection run (bench/run.ts). Each reads
// its own options.
const MODES: Record<string, string> = {
  'side-by-side': './side-by-side.js',
  'status-page': './status-page.js',
  'foreign-lock': './foreign-lock.js',
  'inflight-memory': './inflight-memory.js',
  'storage-size': './storage-size.js',
};
const mode = MODES[process.argv[2] ?? ''];
if (mode) process.argv.splice(2, 1);
await import(mode ?? './run.js');
