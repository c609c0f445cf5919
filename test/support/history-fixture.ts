// Probe history recorded through the store as the daemon records it (one cycle per probe, through the state
// machine), at chosen instants: for the roll-up tests and the `history` CLI test.
import { outcomeClass, type Outcome } from '../../src/diagnosis/outcome-names.js';
import type { Connection } from '../../src/config/load.js';
import type { ProbeObservation } from '../../src/probe/observation.js';
import { stateChangedEvent } from '../../src/state/events.js';
import { advance } from '../../src/state/machine.js';
import type { StatePolicy } from '../../src/state/types.js';
import type { Store } from '../../src/store/store.js';
import { testConnection } from './connections.js';

export const HOUR_MS = 3_600_000;
const policy: StatePolicy = { failureThreshold: 2, recoveryThreshold: 1, lockoutBackoff: false };

export function historyConnection(name: string): Connection {
  return testConnection(name);
}

/** A probe's observation; `totalSeconds` null for one that sent nothing (a credential problem). */
export function historyObservation(name: string, startedAt: string, outcome: Outcome, totalSeconds: number | null): ProbeObservation {
  const ok = outcome === 'ok';
  const sent = totalSeconds !== null;
  return {
    connection: name,
    startedAt,
    url: `https://${name}.atlassian.net/rest/api/3/myself`,
    credential: { status: sent ? 'ok' : 'missing', problem: sent ? null : 'TOKEN is not set', fingerprint: sent ? '0123456789abcdef' : null, findings: [] },
    oauth: null,
    error: null,
    http: sent
      ? { status: ok ? 200 : 401, contentType: 'application/json', headers: {}, message: ok ? '{}' : 'Unauthorized', json: null, bodyBytes: 2, bodyTruncated: false }
      : null,
    identity: null,
    tls: null,
    timings: { dns: null, connect: null, tls: null, request: null, first_byte: null, download: null, total: totalSeconds },
  };
}

/** One probe through the state machine into the store, with its state change when there is one. */
export function recordProbe(store: Store, name: string, startedAt: string, outcome: Outcome, totalSeconds: number | null = 0.25): void {
  const { next, change } = advance(store.loadState(name), { outcome, at: startedAt }, policy);
  store.recordCycle({
    observation: historyObservation(name, startedAt, outcome, totalSeconds),
    diagnosis: { outcome, class: outcomeClass(outcome), detail: `detail of ${outcome}` },
    next,
    events: change ? [stateChangedEvent(change)] : [],
  });
}
