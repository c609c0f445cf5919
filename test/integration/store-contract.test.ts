// The store contract (test/support/store-contract.ts) against the SQLite store, each test on a fresh database file.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../../src/config/load.js';
import { openStore } from '../../src/store/store.js';
import { storeContract } from '../support/store-contract.js';
import { testConnection } from '../support/connections.js';

const root = mkdtempSync(join(tmpdir(), 'authwatch-store-contract-'));
after(() => rmSync(root, { recursive: true, force: true }));
let databases = 0;

const connection = (name: string): Connection => testConnection(name);

storeContract('SQLite', (connections) => {
  const store = openStore(join(root, `db${++databases}`, 'authwatch.db'));
  store.upsertConnections(connections.map(connection), new Date(0));
  return { store, close: () => store.close() };
});
