// docs/outcomes.md is generated from the outcome guide by scripts/outcomes-doc.mjs; it must not drift from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { OUTCOMES, outcomeClass } from '../../src/diagnosis/outcome-names.js';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REGENERATE = 'npm run build && node scripts/outcomes-doc.mjs > docs/outcomes.md';

async function generated(): Promise<string> {
  const { stdout } = await run(process.execPath, ['scripts/outcomes-doc.mjs'], { cwd: ROOT });
  return stdout;
}

test('docs/outcomes.md is what scripts/outcomes-doc.mjs prints from the current outcome guide', async () => {
  const [expected, committed] = await Promise.all([generated(), readFile(join(ROOT, 'docs', 'outcomes.md'), 'utf8')]);
  assert.ok(committed === expected, `docs/outcomes.md is out of date; regenerate it with:\n  ${REGENERATE}`);
});

test('the generated doc has every outcome once, with its class and every remediation step for both deployments', async () => {
  const doc = await generated();
  const headings = [...doc.matchAll(/^### `([a-z_]+)` — /gm)].map((match) => match[1]);
  assert.deepEqual(headings, [...OUTCOMES]);
  const tableRows = [...doc.matchAll(/^\| \[`([a-z_]+)`\]\(#\1\) \| ([a-z]+) \| .+ \|$/gm)].map((match) => [match[1], match[2]]);
  assert.deepEqual(tableRows, OUTCOMES.map((outcome) => [outcome, outcomeClass(outcome)]));
  for (const [index, outcome] of OUTCOMES.entries()) {
    const start = doc.indexOf(`### \`${outcome}\``);
    const end = index + 1 < OUTCOMES.length ? doc.indexOf(`### \`${OUTCOMES[index + 1]}\``) : doc.length;
    const section = doc.slice(start, end);
    assert.match(section, new RegExp(`^\\*\\*Class:\\*\\* ${outcomeClass(outcome)}$`, 'm'));
    for (const deployment of ['cloud', 'datacenter'] as const) {
      const guide = describeOutcome(outcome, deployment);
      assert.ok(section.includes(guide.explanation), `${outcome} (${deployment}): explanation`);
      for (const step of guide.remediation) assert.ok(section.includes(`. ${step}\n`), `${outcome} (${deployment}): step "${step.slice(0, 40)}…"`);
    }
  }
});
