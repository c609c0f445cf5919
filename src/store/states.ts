// The connection_state table: each connection's state-machine state, its last probe and last ok probe.
import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';
import { initialState } from '../state/machine.js';
import type { AuthState, ConnectionState } from '../state/types.js';
import type { SqliteContext, Staged } from './sqlite.js';

export class StateTable {
  /** Each connection's stored state once read or written (only this store writes it), following transactions. */
  private readonly stored: Staged<string, AuthState>;

  constructor(private readonly db: SqliteContext) {
    this.stored = db.staging();
  }

  load(name: string): ConnectionState {
    const row = this.db.sql('SELECT * FROM connection_state WHERE name = ?').get(name) as StateRow | undefined;
    return row ? stateFromRow(row) : initialState();
  }

  loadAll(): Map<string, ConnectionState> {
    const rows = this.db.sql('SELECT * FROM connection_state').all() as StateRow[];
    return new Map(rows.map((row) => [row.name, stateFromRow(row)]));
  }

  /** The stored state alone ('unknown' for a connection never probed). */
  storedState(name: string): AuthState {
    let state = this.stored.get(name);
    if (state === undefined) {
      state = (this.db.sql('SELECT state FROM connection_state WHERE name = ?').get(name) as { state: AuthState } | undefined)?.state ?? 'unknown';
      this.stored.set(name, state);
    }
    return state;
  }

  /** Writes the state after a probe; `okProbeId` null keeps the previous last ok probe. */
  save(name: string, next: ConnectionState, probeId: number, okProbeId: number | null, updatedAt: string): void {
    this.db.sql(UPSERT_STATE).run({ ...stateRow(name, next), last_probe_id: probeId, last_ok_probe_id: okProbeId, updated_at: updatedAt });
    this.stored.set(name, next.state);
  }
}

export interface StateRow {
  name: string;
  state: AuthState;
  since: string | null;
  consecutive_failures: number;
  failure_run: number;
  consecutive_successes: number;
  last_outcome: Outcome | null;
  last_outcome_class: OutcomeClass | null;
  last_auth_outcome: Outcome | null;
  last_probe_at: string | null;
  last_success_at: string | null;
  ever_succeeded: number;
  first_failure_at: string | null;
  backoff_until: string | null;
  backoff_level: number;
}

function stateRow(name: string, s: ConnectionState): StateRow {
  return {
    name,
    state: s.state,
    since: s.since,
    consecutive_failures: s.consecutiveFailures,
    failure_run: s.failureRun,
    consecutive_successes: s.consecutiveSuccesses,
    last_outcome: s.lastOutcome,
    last_outcome_class: s.lastOutcomeClass,
    last_auth_outcome: s.lastAuthOutcome,
    last_probe_at: s.lastProbeAt,
    last_success_at: s.lastSuccessAt,
    ever_succeeded: s.everSucceeded ? 1 : 0,
    first_failure_at: s.firstFailureAt,
    backoff_until: s.backoffUntil,
    backoff_level: s.backoffLevel,
  };
}

export function stateFromRow(r: StateRow): ConnectionState {
  return {
    state: r.state,
    since: r.since,
    consecutiveFailures: r.consecutive_failures,
    failureRun: r.failure_run,
    consecutiveSuccesses: r.consecutive_successes,
    lastOutcome: r.last_outcome,
    lastOutcomeClass: r.last_outcome_class,
    lastAuthOutcome: r.last_auth_outcome,
    lastProbeAt: r.last_probe_at,
    lastSuccessAt: r.last_success_at,
    everSucceeded: r.ever_succeeded === 1,
    firstFailureAt: r.first_failure_at,
    backoffUntil: r.backoff_until,
    backoffLevel: r.backoff_level,
  };
}

// last_ok_probe_id keeps its previous value when this probe is not ok.
const UPSERT_STATE = `INSERT INTO connection_state (name, state, since, consecutive_failures, failure_run, consecutive_successes, last_outcome, last_outcome_class,
    last_auth_outcome, last_probe_at, last_success_at, ever_succeeded, first_failure_at, backoff_until, backoff_level, last_probe_id, last_ok_probe_id, updated_at)
  VALUES (@name, @state, @since, @consecutive_failures, @failure_run, @consecutive_successes, @last_outcome, @last_outcome_class,
    @last_auth_outcome, @last_probe_at, @last_success_at, @ever_succeeded, @first_failure_at, @backoff_until, @backoff_level, @last_probe_id, @last_ok_probe_id, @updated_at)
  ON CONFLICT (name) DO UPDATE SET state = excluded.state, since = excluded.since, consecutive_failures = excluded.consecutive_failures,
    failure_run = excluded.failure_run,
    consecutive_successes = excluded.consecutive_successes, last_outcome = excluded.last_outcome, last_outcome_class = excluded.last_outcome_class,
    last_auth_outcome = excluded.last_auth_outcome, last_probe_at = excluded.last_probe_at, last_success_at = excluded.last_success_at,
    ever_succeeded = excluded.ever_succeeded, first_failure_at = excluded.first_failure_at, backoff_until = excluded.backoff_until,
    backoff_level = excluded.backoff_level, last_probe_id = excluded.last_probe_id,
    last_ok_probe_id = coalesce(excluded.last_ok_probe_id, connection_state.last_ok_probe_id), updated_at = excluded.updated_at`;
