// `npm run bench [-- MODE] [-- options]`: MODE `side-by-side` compares CPU per probe with blackbox_exporter
// (bench/side-by-side.ts); without a mode, the 10,000-connection run (bench/run.ts). Each reads its own options.
const [mode] = process.argv.slice(2);
if (mode === 'side-by-side') {
  process.argv.splice(2, 1);
  await import('./side-by-side.js');
} else {
  await import('./run.js');
}
