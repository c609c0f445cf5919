// The store contract (test/support/store-contract.ts) against the SQLite store, each test on a fresh database file.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../../src/config/load.js';
import { openStore } from '../../src/store/store.js';
import { storeContract } from '../support/store-contract.js';

const root = mkdtempSync(join(tmpdir(), 'authwatch-store-contract-'));
after(() => rmSync(root, { recursive: true, force: true }));
let databases = 0;

function connection(name: string): Connection {
  return {
    name,
    url: `https://${name}.atlassian.net`,
    deployment: 'cloud',
    path: '/rest/api/3/myself',
    probeUrl: `https://${name}.atlassian.net/rest/api/3/myself`,
    auth: { type: 'basic', username: 'bot@acme.com', secret: { env: 'TOKEN' } },
    expect: null,
    labels: {},
    schedule: '* * * * *',
    timeoutMs: 15_000,
    failureThreshold: 2,
    recoveryThreshold: 1,
    tls: { minVersion: 'TLSv1.2', maxVersion: null, caFile: null, serverName: null },
    tokenExpiresAt: null,
  };
}

storeContract('SQLite', (connections) => {
  const store = openStore(join(root, `db${++databases}`, 'authwatch.db'));
  store.upsertConnections(connections.map(connection), new Date(0));
  return { store, close: () => store.close() };
});
