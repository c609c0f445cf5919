// The connections table (the registry of configured connections, removed ones kept with removed_at) and the
// summaries the API, CLI and status page list: a connection with its state and its last probe.
import type { Connection, Deployment } from '../config/load.js';
import type { AuthType } from '../config/schema.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import { initialState } from '../state/machine.js';
import { iso, type Instant } from '../time/instant.js';
import type { ConnectionIds } from './connection-ids.js';
import type { SqliteContext } from './sqlite.js';
import { stateFromRow, type StateRow } from './states.js';
import type { ConnectionSummary } from './types.js';

export class ConnectionTable {
  constructor(private readonly db: SqliteContext, private readonly ids: ConnectionIds) {}

  upsert(configured: readonly Connection[], now: Instant): { added: string[]; removed: string[] } {
    const at = iso(now);
    return this.db.write(() => {
      const before = new Map(
        (this.db.sql('SELECT name, removed_at FROM connections').all() as { name: string; removed_at: string | null }[]).map((r) => [r.name, r.removed_at]),
      );
      const upsert = this.db.sql(`INSERT INTO connections (name, url, path, deployment, auth_type, labels, first_seen, last_seen_in_config, removed_at)
        VALUES (@name, @url, @path, @deployment, @authType, @labels, @at, @at, NULL)
        ON CONFLICT (name) DO UPDATE SET url = excluded.url, path = excluded.path, deployment = excluded.deployment,
          auth_type = excluded.auth_type, labels = excluded.labels, last_seen_in_config = excluded.last_seen_in_config, removed_at = NULL`);
      const added: string[] = [];
      const names = new Set<string>();
      for (const c of configured) {
        names.add(c.name);
        upsert.run({ name: c.name, url: c.url, path: c.path, deployment: c.deployment, authType: c.auth.type, labels: JSON.stringify(c.labels), at });
        this.ids.idOf(c.name);
        if (!before.has(c.name) || before.get(c.name) !== null) added.push(c.name);
      }
      const removed = [...before].filter(([name, removedAt]) => removedAt === null && !names.has(name)).map(([name]) => name);
      const markRemoved = this.db.sql('UPDATE connections SET removed_at = ? WHERE name = ?');
      for (const name of removed) markRemoved.run(at, name);
      return { added, removed };
    });
  }

  list(options: { includeRemoved?: boolean } = {}): ConnectionSummary[] {
    const rows = this.db.sql(`${SUMMARY_SELECT} WHERE @all OR c.removed_at IS NULL ORDER BY c.name`).all({ all: options.includeRemoved ? 1 : 0 }) as SummaryRow[];
    return rows.map(summaryFromRow);
  }

  summary(name: string): ConnectionSummary | null {
    const row = this.db.sql(`${SUMMARY_SELECT} WHERE c.name = ?`).get(name) as SummaryRow | undefined;
    return row ? summaryFromRow(row) : null;
  }
}

type SummaryRow = StateRow & Record<string, unknown>;

const SUMMARY_SELECT = `SELECT c.name AS c_name, c.url AS c_url, c.path AS c_path, c.deployment AS c_deployment, c.auth_type AS c_auth_type,
        c.labels AS c_labels, c.first_seen AS c_first_seen, c.removed_at AS c_removed_at, s.*,
        p.id AS p_id, p.started_ms AS p_started_ms, d.outcome AS p_outcome, d.class AS p_class, d.detail AS p_detail,
        d.http_status AS p_http_status, p.total_us AS p_total_us,
        json_extract(d.observation, '$.tls.protocol') AS p_tls_protocol, json_extract(d.observation, '$.tls.cipher') AS p_tls_cipher,
        json_extract(d.observation, '$.tls.notAfter') AS p_tls_not_after, json_extract(d.observation, '$.tls.chainEarliestNotAfter') AS p_tls_chain,
        json_extract(d.observation, '$.tls.authorized') AS p_tls_authorized, json_extract(d.observation, '$.tls.authorizationError') AS p_tls_error
      FROM connections c
      LEFT JOIN connection_state s ON s.name = c.name
      LEFT JOIN probes p ON p.id = s.last_probe_id
      LEFT JOIN probe_details d ON d.id = p.detail_id`;

function summaryFromRow(row: SummaryRow): ConnectionSummary {
  return {
    name: row.c_name as string,
    url: row.c_url as string,
    path: row.c_path as string,
    deployment: row.c_deployment as Deployment,
    authType: row.c_auth_type as AuthType,
    labels: JSON.parse(row.c_labels as string) as Record<string, string>,
    firstSeen: row.c_first_seen as string,
    removedAt: row.c_removed_at as string | null,
    state: row.state ? stateFromRow(row) : initialState(),
    lastProbe:
      row.p_id == null
        ? null
        : {
            id: row.p_id as number,
            startedAt: new Date(row.p_started_ms as number).toISOString(),
            outcome: row.p_outcome as Outcome,
            class: row.p_class as OutcomeClass,
            detail: row.p_detail as string,
            httpStatus: row.p_http_status as number | null,
            totalSeconds: row.p_total_us == null ? null : (row.p_total_us as number) / 1e6,
            tls:
              row.p_tls_authorized == null
                ? null
                : {
                    protocol: row.p_tls_protocol as string | null,
                    cipher: row.p_tls_cipher as string | null,
                    notAfter: row.p_tls_not_after as string | null,
                    chainEarliestNotAfter: row.p_tls_chain as string | null,
                    authorized: row.p_tls_authorized === 1,
                    authorizationError: row.p_tls_error as string | null,
                  },
          },
  };
}
