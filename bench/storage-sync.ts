// What synchronous = FULL costs per commit compared with NORMAL, on the disk under --dir (default: the OS temp
// directory): N probe-only cycles recorded through the real store each way. docs/reliability.md quotes the result.
//   npm run build && node dist/bench/storage-sync.js [--commits 2000] [--dir /var/lib/authwatch]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../src/store/db.js';
import { SqliteStore } from '../src/store/store.js';
import { advance, initialState } from '../src/state/machine.js';
import type { Connection } from '../src/config/load.js';
import type { ProbeObservation } from '../src/probe/observation.js';

const { values } = parseArgs({ options: { commits: { type: 'string', default: '2000' }, dir: { type: 'string' } } });
const commits = Number(values.commits);

const connection = {
  name: 'bench', url: 'https://bench.atlassian.net', deployment: 'cloud', path: '/rest/api/3/myself', labels: {},
  auth: { type: 'basic', username: 'bot@acme.com', secret: { env: 'TOKEN' } },
} as unknown as Connection;

function observation(startedAt: string): ProbeObservation {
  return {
    connection: 'bench', startedAt, url: 'https://bench.atlassian.net/rest/api/3/myself',
    credential: { status: 'ok', problem: null, fingerprint: '0123456789abcdef', findings: [] },
    oauth: null, error: null,
    http: { status: 200, contentType: 'application/json', headers: { 'x-aaccountid': '5b10ac8d82e05b22cc7d4ef5' }, message: '', json: null, bodyBytes: 300, bodyTruncated: false },
    identity: { accountId: '5b10ac8d82e05b22cc7d4ef5', name: null, key: null, emailAddress: 'bot@acme.com', displayName: 'Bot', active: true },
    tls: null,
    timings: { dns: 0.001, connect: 0.01, tls: 0.02, request: 0.0001, first_byte: 0.1, download: 0.001, total: 0.14 },
  };
}

function measure(mode: 'NORMAL' | 'FULL'): number {
  const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'authwatch-sync-bench-'));
  try {
    const path = join(dir, 'authwatch.db');
    const db = openDb(path);
    const store = new SqliteStore(db, path, false);
    store.upsertConnections([connection], new Date());
    // The first probe is a state change (unknown → ok); every later one is probe-only.
    const first = advance(initialState(), { outcome: 'ok', at: new Date(0).toISOString() }, { failureThreshold: 1, recoveryThreshold: 1, lockoutBackoff: false });
    store.recordCycle({ observation: observation(new Date(0).toISOString()), diagnosis: { outcome: 'ok', class: 'ok', detail: '' }, next: first.next, events: [{ kind: 'state_changed', from: 'unknown', to: 'ok' }] });
    db.pragma(`synchronous = ${mode}`);
    const started = process.hrtime.bigint();
    for (let i = 1; i <= commits; i++) {
      const at = new Date(i * 60_000).toISOString();
      store.recordCycle({ observation: observation(at), diagnosis: { outcome: 'ok', class: 'ok', detail: '' }, next: { ...first.next, lastProbeAt: at } });
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    store.close();
    return ms / commits;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const normal = measure('NORMAL');
const full = measure('FULL');
console.log(JSON.stringify({ commits, dir: values.dir ?? tmpdir(), msPerCommit: { NORMAL: +normal.toFixed(3), FULL: +full.toFixed(3) }, fullOverNormal: +(full / normal).toFixed(1) }));
