// What every table module shares: the connection, its prepared-statement cache, transactions and durability.
//
// Rules: only the Store's methods open transactions; table helpers run inside them. Probe-only transactions
// commit without an fsync (synchronous = NORMAL); anything a notification depends on commits `durably`.
import type { Db, Statement } from './db.js';

export class SqliteContext {
  private readonly statements = new Map<string, Statement>();

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

  /** Runs `work` in one IMMEDIATE write transaction (a nested call becomes part of the outer one). */
  write<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
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
