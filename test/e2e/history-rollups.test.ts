// `authwatch history` (the built CLI, as a process) over a database whose older probes were rolled up into hours and
// pruned, as the daemon's hourly upkeep leaves it: raw probes where they are kept, one labelled line (or JSON
// object) per hour before that, and only raw probes for a range inside the retention.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maintainHistory } from '../../src/daemon/rollup-job.js';
import type { Outcome } from '../../src/diagnosis/outcome-names.js';
import { openStore } from '../../src/store/store.js';
import type { HourlySummary } from '../../src/store/types.js';
import { runCli } from '../support/cli.js';
import { daemonWorkspace, type DaemonWorkspace } from '../support/daemon-config.js';
import { HOUR_MS, historyConnection, recordProbe } from '../support/history-fixture.js';

const DAY_MS = 24 * HOUR_MS;

describe('authwatch history across the raw retention', () => {
  let workspace: DaemonWorkspace;
  /** The start of the hour in which the first day's rejections began. */
  let rejectedHour: string;

  before(async () => {
    workspace = daemonWorkspace('authwatch-history-');
    workspace.write({ connections: [{ name: 'a', url: 'https://a.atlassian.net', auth: { type: 'basic', username: 'bot@acme.com', secret: { env: 'A_TOKEN' } } }] });
    // Three days up to the last whole hour, a probe every 10 minutes, rejected for two hours on the first day;
    // then the upkeep with a one-day retention.
    const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const start = end - 3 * DAY_MS;
    rejectedHour = new Date(start + 6 * HOUR_MS).toISOString();
    const store = openStore(workspace.dbPath);
    store.upsertConnections([historyConnection('a')], new Date(start - DAY_MS));
    for (let t = start; t < end; t += 10 * 60_000) {
      const outcome: Outcome = t >= start + 6 * HOUR_MS && t < start + 8 * HOUR_MS ? 'basic_auth_rejected' : 'ok';
      recordProbe(store, 'a', new Date(t).toISOString(), outcome, outcome === 'ok' ? 0.25 : 0.125);
    }
    const upkeep = await maintainHistory(store, { retentionMs: DAY_MS, rollupRetentionMs: 400 * DAY_MS }, new Date());
    assert.ok(upkeep.probes > 0, 'the older probes were pruned');
    store.close();
  });
  after(() => workspace.cleanup());

  it('--json: raw probes from the first whole hour kept, hourly summaries before it', async () => {
    const result = await runCli(['--config', workspace.configPath, 'history', 'a', '--since', '4d', '--limit', '1000', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { probes: { startedAt: string }[]; events: { to: string }[]; hoursBefore: string; hours: HourlySummary[] };
    assert.ok(parsed.hoursBefore, 'hoursBefore says where the summaries end');
    assert.ok(parsed.probes.length > 0 && parsed.probes.every((probe) => probe.startedAt >= parsed.hoursBefore));
    assert.ok(parsed.hours.length >= 47 && parsed.hours.every((hour) => hour.hour < parsed.hoursBefore), `${parsed.hours.length} hours`);
    assert.ok(parsed.hours.every((hour) => hour.outcomes.reduce((sum, o) => sum + o.probes, 0) === 6), 'six probes an hour');
    const rejected = parsed.hours.find((hour) => hour.hour === rejectedHour)!;
    assert.deepEqual(rejected.outcomes.map((o) => [o.outcome, o.probes, o.totalSeconds.sum]), [['basic_auth_rejected', 6, 0.75]]);
    assert.deepEqual(rejected.states, { ok: 600, regressed: 3000 }, 'regressed from the second rejection, 10 minutes in');
    assert.deepEqual(parsed.events.map((event) => event.to).reverse(), ['ok', 'regressed', 'ok'], 'state changes are kept');
  });

  it('text: a labelled line per hour below the raw probes', async () => {
    const result = await runCli(['--config', workspace.configPath, 'history', 'a', '--since', '4d', '--limit', '1000']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    const divider = lines.findIndex((line) => /^---- before \S+Z: one line per hour \(raw probes are kept for storage\.retention\) ----$/.test(line));
    assert.ok(divider > 0, result.stdout.slice(0, 2000));
    assert.match(lines[divider - 1], /Z {2}ok {21}HTTP 200 {4}detail of ok$/, 'raw probes above it');
    assert.match(lines[divider + 1], /^\S+T\d\d:00:00\.000Z {2}hour {2}6 probes: ok 6; total avg 0\.250 s, max 0\.250 s; in state ok 60m$/);
    assert.ok(lines.includes(`${rejectedHour}  hour  6 probes: basic_auth_rejected 6; total avg 0.125 s, max 0.125 s; in state regressed 50m, ok 10m`), result.stdout);
  });

  it('a range inside the retention shows raw probes only, as before', async () => {
    const result = await runCli(['--config', workspace.configPath, 'history', 'a', '--since', '12h', '--limit', '1000', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { probes: unknown[]; hoursBefore: string | null; hours: unknown[] };
    assert.deepEqual([parsed.hours, parsed.hoursBefore], [[], null]);
    assert.ok(parsed.probes.length > 60, `${parsed.probes.length} probes`);
    const text = await runCli(['--config', workspace.configPath, 'history', 'a', '--since', '12h']);
    assert.doesNotMatch(text.stdout, /one line per hour|hour {2}\d+ probes/);
  });
});
