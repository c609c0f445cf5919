import type { Outcome, OutcomeClass } from '../diagnosis/outcome-names.js';

export type AuthState = 'unknown' | 'ok' | 'failing' | 'regressed' | 'unreachable';
export const AUTH_STATES: readonly AuthState[] = ['unknown', 'ok', 'failing', 'regressed', 'unreachable'];

/** The remembered state of one connection; stored in the connection_state table, advanced by a pure function. */
export interface ConnectionState {
  state: AuthState;
  /** When the current state began (ISO 8601), null while unknown. */
  since: string | null;
  /** Every failure since the last success. */
  consecutiveFailures: number;
  /** The current run of failures of one kind (auth-class, or network/tls/server-class): what failureThreshold counts. */
  failureRun: number;
  consecutiveSuccesses: number;
  lastOutcome: Outcome | null;
  lastOutcomeClass: OutcomeClass | null;
  /** The last auth verdict (an auth-class outcome or ok), kept through network/tls/server outcomes. */
  lastAuthOutcome: Outcome | null;
  lastProbeAt: string | null;
  lastSuccessAt: string | null;
  everSucceeded: boolean;
  /** First probe of the current run of failures. */
  firstFailureAt: string | null;
  /** Data Center basic-auth lockout back-off: no probe before this instant. */
  backoffUntil: string | null;
  backoffLevel: number;
}

export interface StatePolicy {
  failureThreshold: number;
  recoveryThreshold: number;
  /** datacenter + basic auth: back off after an auth-class failure so the monitor never triggers CAPTCHA. */
  lockoutBackoff: boolean;
}

export interface StateChange {
  from: AuthState;
  to: AuthState;
  at: string;
  outcome: Outcome;
}
