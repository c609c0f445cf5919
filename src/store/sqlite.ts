// What every table module shares: the connection, its prepared-statement cache, transactions and durability.
//
// Rules: only the Store's methods open transactions; table helpers run inside them. Probe-only transactions
// commit without an fsync (synchronous = NORMAL); anything a notification depends on commits `durably`.
// In-memory caches of what was written (ids, each connection's current probe detail) are Staged values: a change
// made inside a transaction takes effect when that transaction (or savepoint) commits and is forgotten when it
// rolls back, so a cache never points at a row the database does not have.
import type { Db, Statement } from './db.js';
import { Staged } from './staged.js';

export { Staged } from './staged.js';

export class SqliteContext {
  private readonly statements = new Map<string, Statement>();
  private readonly staged: Staged<unknown, unknown>[] = [];

  constructor(readonly db: Db, readonly path: string, readonly readonly: boolean) {}

  /** A prepared statement, prepared once per database connection. */
  sql(source: string): Statement {
    let statement = this.statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement;
  }

  /** A cache whose changes follow this connection's transactions (see Staged). */
  staging<K, V>(): Staged<K, V> {
    const staged = new Staged<K, V>();
    this.staged.push(staged as Staged<unknown, unknown>);
    return staged;
  }

  /** Runs `work` in one IMMEDIATE write transaction (a nested call becomes a savepoint of the outer one). */
  write<T>(work: () => T): T {
    // Every cache's level wraps the transaction: it commits or rolls back with it.
    let run = () => this.db.transaction(work).immediate();
    for (const staged of this.staged) {
      const inner = run;
      run = () => staged.within(inner);
    }
    return run();
  }

  /** Runs `work` in one DEFERRED (read) transaction: one snapshot for several selects. */
  read<T>(work: () => T): T {
    return this.db.transaction(work).deferred();
  }

  /**
   * Runs `write` with synchronous = FULL: its commit returns only after the WAL is fsynced. Inside a transaction
   * (SQLite refuses to change the safety level there) it joins it: the outer transaction is the durable one.
   */
  durably<T>(write: () => T): T {
    if (this.db.inTransaction) return write();
    this.db.pragma('synchronous = FULL');
    try {
      return write();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }
}
