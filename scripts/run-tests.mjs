// Runs the compiled tests (dist/test/**/*.test.js) with node's test runner.
// node --test on Node 20 does not expand globs, and a pattern that matches nothing "passes" with 0 tests,
// so the files are listed here and a run that executed no test is a failure.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const only = process.argv.slice(2); // e.g. unit integration e2e
const root = 'dist/test';

function findTests(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findTests(path);
    return entry.endsWith('.test.js') ? [path] : [];
  });
}

const files = findTests(root)
  .filter((file) => only.length === 0 || only.some((part) => file.startsWith(join(root, part))))
  .sort();
if (files.length === 0) {
  console.error(`no test files found under ${root} ${only.join(' ')}: did the build run?`);
  process.exit(1);
}

// Unit tests are pure and share nothing: run in one process they skip two dozen Node.js start-ups (most of the
// layer's wall time). Every other layer keeps a process per file. Node.js 22 has the flag only as experimental.
const unitOnly = files.every((file) => file.startsWith(join(root, 'unit')));
const isolation = process.allowedNodeEnvironmentFlags.has('--test-isolation') ? '--test-isolation=none' : '--experimental-test-isolation=none';
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...(unitOnly ? [isolation] : []), ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const count = (name) => Number(new RegExp(`^\\S*\\s*${name} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);
  const tests = count('tests');
  const passed = count('pass');
  // A test whose before hook failed is reported as cancelled, not failed: count it as the failure it is.
  const failed = count('fail') + count('cancelled');
  console.log(`\n${passed} passed, ${failed} failed, ${count('skipped')} skipped`);
  if (tests === 0) {
    console.error('no test was executed');
    process.exit(1);
  }
  process.exit(code ?? 1);
});
