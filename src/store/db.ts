// Opening the SQLite file: pragmas, numbered migrations, refusing a database newer than the code.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export type Db = Database.Database;
export type Statement = Database.Statement<unknown[], unknown>;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** A database that can't be used, explained in one line (what, where, how to fix). */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** How long a write waits for another process's lock at start-up, in the CLI, and at shutdown's last flush. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * The package's migrations/ folder, found by walking up from this file: works from src/store/
 * (ts), dist/src/store/ (built) and a global install (node_modules/authwatch/dist/src/store/).
 */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return join(dir, 'migrations');
    const parent = dirname(dir);
    if (parent === dir) throw new StoreError(`cannot find the migrations/ folder above ${fileURLToPath(import.meta.url)}; is authwatch installed completely?`);
    dir = parent;
  }
}

/** The migration files in version order; versions must run 1, 2, 3… without gaps. */
export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = MIGRATION_FILE.exec(file);
      if (!match) throw new StoreError(`migration file ${join(dir, file)} is not named NNN_name.sql`);
      return { version: Number(match[1]), name: match[2], sql: readFileSync(join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StoreError(`migrations in ${dir} must be numbered 001, 002, … without gaps or duplicates (found ${String(migration.version).padStart(3, '0')} at position ${index + 1})`);
    }
  });
  return migrations;
}

export interface OpenDbOptions {
  /** Open for reading only (status/history while the daemon writes): no migration, no writes. */
  readonly?: boolean;
  migrations?: Migration[];
}

/** Opens (creating if needed) and migrates the database; read-only opens check the schema instead. */
export function openDb(path: string, options: OpenDbOptions = {}): Db {
  const migrations = options.migrations ?? readMigrations(defaultMigrationsDir());
  const known = migrations.length;
  let db: Db;
  try {
    if (options.readonly) {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } else {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (options.readonly && (code === 'SQLITE_CANTOPEN' || !existsSync(path))) {
      throw new StoreError(`no authwatch database at ${path}: has "authwatch run" started with this storage.path?`, { cause: error });
    }
    throw new StoreError(`cannot open the database ${path}: ${(error as Error).message} (check storage.path and its permissions)`, { cause: error });
  }
  try {
    db.pragma(`busy_timeout = ${DEFAULT_BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    if (options.readonly) {
      checkReadableSchema(db, path, known);
    } else {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StoreError(`cannot switch ${path} to WAL mode (got ${String(mode)}); use a local file system for storage.path`);
      // Durability (docs/reliability.md): migrations commit with FULL (the WAL is fsynced at each commit), then the
      // new schema is checkpointed into the main file and the directory entries are fsynced, so a power cut
      // right after the first start cannot leave a database without tables. Later transactions run NORMAL and
      // the store raises them to FULL where a notification depends on them.
      db.pragma('synchronous = FULL');
      const { from, to } = migrate(db, path, migrations);
      if (to > from) {
        db.pragma('wal_checkpoint(TRUNCATE)');
        fsyncDirectory(dirname(path));
      }
      db.pragma('synchronous = NORMAL');
    }
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StoreError) throw error;
    const message = (error as Error).message;
    throw new StoreError(`cannot use the database ${path}: ${message}${/not a database/i.test(message) ? ' (storage.path must point to an authwatch SQLite file)' : ''}`, { cause: error });
  }
}

/** Makes the names of files created in `dir` (the database, its -wal and -shm) survive a power cut. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The highest applied migration, 0 for a new database. */
export function schemaVersion(db: Db): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return 0;
  return (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
}

function tooNew(path: string, version: number, known: number): StoreError {
  return new StoreError(
    `database schema version ${version} is newer than this authwatch (knows up to ${known}); upgrade authwatch or use another storage.path (${path})`,
  );
}

/** Applies the pending migrations, each in its own transaction; a no-op when up to date. */
export function migrate(db: Db, path: string, migrations: Migration[]): { from: number; to: number } {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const from = schemaVersion(db);
  if (from > migrations.length) throw tooNew(path, from, migrations.length);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of migrations.slice(from)) {
    const apply = db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(migration.version),
      );
    });
    try {
      apply.immediate();
    } catch (error) {
      throw new StoreError(`migration ${String(migration.version).padStart(3, '0')}_${migration.name} failed on ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
  return { from, to: migrations.length };
}

function checkReadableSchema(db: Db, path: string, known: number): void {
  const version = schemaVersion(db);
  if (version === 0) throw new StoreError(`${path} is not an authwatch database (no schema_migrations table)`);
  if (version > known) throw tooNew(path, version, known);
  if (version < known) {
    throw new StoreError(`database schema version ${version} at ${path} is older than this authwatch (${known}); start "authwatch run" once to migrate it`);
  }
}
