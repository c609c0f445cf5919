// connection_ids: each connection name's small integer id, which probe rows and roll-ups carry instead of the name.
// Cached in memory once read or created; a name is given its id the first time it is configured or recorded.
import type { SqliteContext, Staged } from './sqlite.js';

export class ConnectionIds {
  private readonly ids: Staged<string, number>;

  constructor(private readonly db: SqliteContext) {
    this.ids = db.staging();
  }

  /** The name's id, created (inside the caller's transaction) when it has none yet. */
  idOf(name: string): number {
    const cached = this.ids.get(name);
    if (cached !== undefined) return cached;
    let row = this.db.sql('SELECT id FROM connection_ids WHERE name = ?').get(name) as { id: number } | undefined;
    if (!row && !this.db.readonly) row = this.db.sql('INSERT INTO connection_ids (name) VALUES (?) RETURNING id').get(name) as { id: number };
    if (!row) return -1; // read-only and never recorded: matches no row
    this.ids.set(name, row.id);
    return row.id;
  }

  /** The id of a name already recorded, or null (never creates one). */
  existingIdOf(name: string): number | null {
    const cached = this.ids.get(name);
    if (cached !== undefined) return cached;
    const row = this.db.sql('SELECT id FROM connection_ids WHERE name = ?').get(name) as { id: number } | undefined;
    return row ? row.id : null;
  }

  all(): { id: number; name: string }[] {
    return this.db.sql('SELECT id, name FROM connection_ids ORDER BY id').all() as { id: number; name: string }[];
  }
}
