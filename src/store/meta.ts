// The meta table's keys: the per-database HMAC key for credential fingerprints, the history's bookkeeping (schema_version is db.ts's).
import { randomBytes } from 'node:crypto';
import { StoreError } from './db.js';
import type { SqliteContext } from './sqlite.js';

/** 32 random bytes, created by the first writer that asks; a reader of a database without one is told to start the daemon. */
export function fingerprintKey(db: SqliteContext): Buffer {
  const select = db.sql("SELECT value FROM meta WHERE key = 'fingerprint_key'");
  let row = select.get() as { value: string } | undefined;
  if (!row && !db.readonly) {
    db.sql("INSERT INTO meta (key, value) VALUES ('fingerprint_key', ?) ON CONFLICT (key) DO NOTHING").run(randomBytes(32).toString('hex'));
    row = select.get() as { value: string } | undefined;
  }
  if (!row) throw new StoreError(`${db.path} has no fingerprint key yet; start "authwatch run" once`);
  return Buffer.from(row.value, 'hex');
}

/** Keys of the history's bookkeeping: the last hour rolled up (rollups.ts), the raw probes' pruning cutoff (probes.ts). */
export type NumberKey = 'rolled_up_through_hour' | 'probes_pruned_before_ms';

export function readNumber(db: SqliteContext, key: NumberKey): number | null {
  const row = db.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row ? Number(row.value) : null;
}

/** Inside the caller's transaction. */
export function writeNumber(db: SqliteContext, key: NumberKey, value: number): void {
  db.sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(value));
}
