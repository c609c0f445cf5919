// The store contract (test/support/store-contract.ts) against the in-memory store (test/support/memory-store.ts).
import { MemoryStore } from '../support/memory-store.js';
import { storeContract } from '../support/store-contract.js';

storeContract('in memory', () => ({ store: new MemoryStore(), close: () => {} }));
