// The probes table: one row per probe, every part of the observation in its own column (http.json is not stored).
// Pruned by retention, except each connection's last probe and last ok probe (connection_state.last_probe_id /
// last_ok_probe_id), so "what changed since the last success" survives a long outage.
import type { Diagnosis } from '../diagnosis/types.js';
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import type { ProbeObservation, TlsDetails } from '../probe/observation.js';
import { iso, type Instant } from '../time/instant.js';
import type { SqliteContext } from './sqlite.js';
import type { HourlyOutcomeCount, StoredProbe } from './types.js';

export class ProbeTable {
  constructor(private readonly db: SqliteContext) {}

  insert(observation: ProbeObservation, diagnosis: Diagnosis, startedAt: string): number {
    return Number(this.db.sql(INSERT_PROBE).run(probeRow(observation, diagnosis, startedAt)).lastInsertRowid);
  }

  /** One probe by id, or null when pruned. */
  byId(id: number): StoredProbe | null {
    const row = this.db.sql('SELECT * FROM probes WHERE id = ?').get(id) as ProbeRow | undefined;
    return row ? probeFromRow(row) : null;
  }

  recent(name: string, limit: number): StoredProbe[] {
    const rows = this.db.sql('SELECT * FROM probes WHERE connection = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(name, limit) as ProbeRow[];
    return rows.map(probeFromRow);
  }

  /** Newest first, started at or after `from` (a stored instant). */
  since(name: string, from: string, limit: number): StoredProbe[] {
    const rows = this.db.sql('SELECT * FROM probes WHERE connection = ? AND started_at >= ? ORDER BY started_at DESC, id DESC LIMIT ?').all(name, from, limit) as ProbeRow[];
    return rows.map(probeFromRow);
  }

  lastOk(name: string): StoredProbe | null {
    const row = this.db.sql('SELECT p.* FROM connection_state s JOIN probes p ON p.id = s.last_ok_probe_id WHERE s.name = ?').get(name) as ProbeRow | undefined;
    return row ? probeFromRow(row) : null;
  }

  hourlyOutcomeCounts(names: readonly string[], since: Instant): HourlyOutcomeCount[] {
    if (names.length === 0) return [];
    // Only these connections (a page of the status page), from probes_connection_started_class alone.
    return this.db.sql(`SELECT connection, substr(started_at, 1, 13) || ':00:00.000Z' AS hour, class, count(*) AS probes
      FROM probes WHERE connection IN (SELECT value FROM json_each(@names)) AND started_at >= @since
      GROUP BY connection, hour, class ORDER BY connection, hour, class`).all({ names: JSON.stringify(names), since: iso(since) }) as HourlyOutcomeCount[];
  }

  /**
   * Deletes probes that started before `olderThan`, batchSize rows per short transaction, yielding to
   * the event loop between batches so probes and HTTP keep running. Keeps every connection's last
   * probe and last ok probe. Returns the number deleted.
   */
  async prune(olderThan: Instant, batchSize = 500, shouldContinue: () => boolean = () => true): Promise<number> {
    const cutoff = iso(olderThan);
    const batch = this.db.db.transaction(
      () =>
        this.db.sql(`DELETE FROM probes WHERE id IN (
          SELECT id FROM probes WHERE started_at < @cutoff
            AND id NOT IN (SELECT last_probe_id FROM connection_state WHERE last_probe_id IS NOT NULL)
            AND id NOT IN (SELECT last_ok_probe_id FROM connection_state WHERE last_ok_probe_id IS NOT NULL)
          ORDER BY started_at LIMIT @batchSize)`).run({ cutoff, batchSize }).changes,
    );
    let total = 0;
    for (;;) {
      const deleted = batch.immediate();
      total += deleted;
      if (deleted < batchSize) return total;
      await new Promise((resolve) => setImmediate(resolve));
      if (!shouldContinue()) return total;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Row mapping

const bool = (value: boolean | null | undefined): number | null => (value == null ? null : value ? 1 : 0);
const fromBool = (value: number | null): boolean | null => (value == null ? null : value === 1);

interface ProbeRow {
  id: number;
  connection: string;
  started_at: string;
  url: string;
  outcome: Outcome;
  class: OutcomeClass;
  detail: string;
  dns_seconds: number | null;
  connect_seconds: number | null;
  tls_seconds: number | null;
  request_seconds: number | null;
  first_byte_seconds: number | null;
  download_seconds: number | null;
  total_seconds: number | null;
  http_status: number | null;
  content_type: string | null;
  headers: string | null;
  message: string | null;
  body_bytes: number | null;
  body_truncated: number | null;
  has_identity: number;
  identity_account_id: string | null;
  identity_name: string | null;
  identity_key: string | null;
  identity_email: string | null;
  identity_display_name: string | null;
  identity_active: number | null;
  tls_protocol: string | null;
  tls_cipher: string | null;
  tls_subject: string | null;
  tls_issuer: string | null;
  tls_sans: string | null;
  tls_serial: string | null;
  tls_fingerprint256: string | null;
  tls_not_before: string | null;
  tls_not_after: string | null;
  tls_chain_earliest_not_after: string | null;
  tls_authorized: number | null;
  tls_authorization_error: string | null;
  credential_status: 'ok' | 'missing' | 'malformed';
  credential_problem: string | null;
  credential_fingerprint: string | null;
  credential_findings: string;
  oauth_ok: number | null;
  oauth_from_cache: number | null;
  oauth_http_status: number | null;
  oauth_error: string | null;
  oauth_expires_at: string | null;
  error_code: string | null;
  error_phase: string | null;
  error_message: string | null;
}

const PROBE_COLUMNS = [
  'connection', 'started_at', 'url', 'outcome', 'class', 'detail',
  'dns_seconds', 'connect_seconds', 'tls_seconds', 'request_seconds', 'first_byte_seconds', 'download_seconds', 'total_seconds',
  'http_status', 'content_type', 'headers', 'message', 'body_bytes', 'body_truncated',
  'has_identity', 'identity_account_id', 'identity_name', 'identity_key', 'identity_email', 'identity_display_name', 'identity_active',
  'tls_protocol', 'tls_cipher', 'tls_subject', 'tls_issuer', 'tls_sans', 'tls_serial', 'tls_fingerprint256',
  'tls_not_before', 'tls_not_after', 'tls_chain_earliest_not_after', 'tls_authorized', 'tls_authorization_error',
  'credential_status', 'credential_problem', 'credential_fingerprint', 'credential_findings',
  'oauth_ok', 'oauth_from_cache', 'oauth_http_status', 'oauth_error', 'oauth_expires_at',
  'error_code', 'error_phase', 'error_message',
] as const satisfies readonly (keyof ProbeRow)[];
const INSERT_PROBE = `INSERT INTO probes (${PROBE_COLUMNS.join(', ')}) VALUES (${PROBE_COLUMNS.map((c) => `@${c}`).join(', ')})`;

function probeRow(o: ProbeObservation, d: Diagnosis, startedAt: string): Omit<ProbeRow, 'id'> {
  const { http, identity, tls, oauth, error, credential, timings } = o;
  return {
    connection: o.connection,
    started_at: startedAt,
    url: o.url,
    outcome: d.outcome,
    class: d.class,
    detail: d.detail,
    dns_seconds: timings.dns,
    connect_seconds: timings.connect,
    tls_seconds: timings.tls,
    request_seconds: timings.request,
    first_byte_seconds: timings.first_byte,
    download_seconds: timings.download,
    total_seconds: timings.total,
    http_status: http?.status ?? null,
    content_type: http?.contentType ?? null,
    headers: http ? JSON.stringify(http.headers) : null,
    message: http?.message ?? null,
    body_bytes: http?.bodyBytes ?? null,
    body_truncated: bool(http?.bodyTruncated),
    has_identity: identity ? 1 : 0,
    identity_account_id: identity?.accountId ?? null,
    identity_name: identity?.name ?? null,
    identity_key: identity?.key ?? null,
    identity_email: identity?.emailAddress ?? null,
    identity_display_name: identity?.displayName ?? null,
    identity_active: bool(identity?.active),
    tls_protocol: tls?.protocol ?? null,
    tls_cipher: tls?.cipher ?? null,
    tls_subject: tls?.subject ?? null,
    tls_issuer: tls?.issuer ?? null,
    tls_sans: tls ? JSON.stringify(tls.sans) : null,
    tls_serial: tls?.serial ?? null,
    tls_fingerprint256: tls?.fingerprint256 ?? null,
    tls_not_before: tls?.notBefore ?? null,
    tls_not_after: tls?.notAfter ?? null,
    tls_chain_earliest_not_after: tls?.chainEarliestNotAfter ?? null,
    tls_authorized: bool(tls?.authorized),
    tls_authorization_error: tls?.authorizationError ?? null,
    credential_status: credential.status,
    credential_problem: credential.problem,
    credential_fingerprint: credential.fingerprint,
    credential_findings: JSON.stringify(credential.findings),
    oauth_ok: bool(oauth?.ok),
    oauth_from_cache: bool(oauth?.fromCache),
    oauth_http_status: oauth?.httpStatus ?? null,
    oauth_error: oauth?.error ?? null,
    oauth_expires_at: oauth?.expiresAt ?? null,
    error_code: error?.code ?? null,
    error_phase: error?.phase ?? null,
    error_message: error?.message ?? null,
  };
}

function probeFromRow(r: ProbeRow): StoredProbe {
  const tls: TlsDetails | null =
    r.tls_authorized === null
      ? null
      : {
          protocol: r.tls_protocol,
          cipher: r.tls_cipher,
          subject: r.tls_subject,
          issuer: r.tls_issuer,
          sans: r.tls_sans ? (JSON.parse(r.tls_sans) as string[]) : [],
          serial: r.tls_serial,
          fingerprint256: r.tls_fingerprint256,
          notBefore: r.tls_not_before,
          notAfter: r.tls_not_after,
          chainEarliestNotAfter: r.tls_chain_earliest_not_after,
          authorized: r.tls_authorized === 1,
          authorizationError: r.tls_authorization_error,
        };
  const observation: ProbeObservation = {
    connection: r.connection,
    startedAt: r.started_at,
    url: r.url,
    credential: {
      status: r.credential_status,
      problem: r.credential_problem,
      fingerprint: r.credential_fingerprint,
      findings: JSON.parse(r.credential_findings) as string[],
    },
    oauth:
      r.oauth_ok === null
        ? null
        : { ok: r.oauth_ok === 1, fromCache: r.oauth_from_cache === 1, httpStatus: r.oauth_http_status, error: r.oauth_error, expiresAt: r.oauth_expires_at },
    error: r.error_code === null ? null : { code: r.error_code, phase: r.error_phase, message: r.error_message ?? '' },
    http:
      r.http_status === null
        ? null
        : {
            status: r.http_status,
            contentType: r.content_type,
            headers: r.headers ? (JSON.parse(r.headers) as Record<string, string>) : {},
            message: r.message ?? '',
            json: null,
            bodyBytes: r.body_bytes ?? 0,
            bodyTruncated: r.body_truncated === 1,
          },
    identity:
      r.has_identity === 0
        ? null
        : {
            accountId: r.identity_account_id,
            name: r.identity_name,
            key: r.identity_key,
            emailAddress: r.identity_email,
            displayName: r.identity_display_name,
            active: fromBool(r.identity_active),
          },
    tls,
    timings: {
      dns: r.dns_seconds,
      connect: r.connect_seconds,
      tls: r.tls_seconds,
      request: r.request_seconds,
      first_byte: r.first_byte_seconds,
      download: r.download_seconds,
      total: r.total_seconds,
    },
  };
  return { id: r.id, connection: r.connection, startedAt: r.started_at, outcome: r.outcome, class: r.class, detail: r.detail, observation };
}
