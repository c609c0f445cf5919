// One probe cycle of one connection: probe → classify → advance state → detect events → plan notifications
// → metrics and log → commit (one transaction, or queued while storage fails). Everything but the probe and the
// commit is a pure call.
import type { Connection } from '../config/load.js';
import { classify } from '../diagnosis/classify.js';
import type { Diagnosis } from '../diagnosis/types.js';
import type { Logger } from '../log/logger.js';
import type { AuthwatchMetrics } from '../metrics/metrics.js';
import type { Prober } from '../probe/prober.js';
import { detectEvents, stateChangedEvent, type DetectedEvent, type ExpiryKind } from '../state/events.js';
import { advance, policyFor, probeIsDue } from '../state/machine.js';
import type { ConnectionState, StateChange } from '../state/types.js';
import type { AfterCommit, PendingProbe, SubmitResult } from './record-queue.js';
import type { CycleStore } from '../store/ports.js';
import { reportRenderFailures } from './notifications.js';
import type { NotificationPlan, NotificationPlanner, PlanInput } from '../notify/decide.js';

export type { NotificationPlan, NotificationPlanner, PlanInput } from '../notify/decide.js';

export interface CycleDeps {
  store: CycleStore;
  metrics: AuthwatchMetrics;
  logger: Logger;
  planNotifications: NotificationPlanner;
  alerting: { certExpiryWarningMs: number; tokenExpiryWarningMs: number };
  now: () => Date;
  /** Called after a commit that enqueued notifications. */
  onEnqueued: () => void;
  /**
   * Whether this connection (this exact config) is still the one configured and the daemon still running: a
   * probe that returns after a reload removed or changed its connection, or after shutdown began, is dropped
   * rather than recorded and notified.
   */
  isCurrent: (connection: Connection) => boolean;
  /** The daemon's queue of probes waiting for storage; without it a probe is committed at once or the cycle throws. */
  records?: ProbeRecords;
  /** Called with every state change, after it is committed (the demo prints them). */
  onStateChange?: (connection: Connection, change: StateChange, diagnosis: Diagnosis) => void;
}

export type CycleResult =
  | { kind: 'skipped'; reason: 'backoff'; until: string }
  | { kind: 'dropped'; diagnosis: Diagnosis }
  | { kind: 'recorded'; diagnosis: Diagnosis; change: StateChange | null }
  /** The database could not take it now: waits in memory (RecordQueue), committed once storage returns. */
  | { kind: 'queued'; diagnosis: Diagnosis; change: StateChange | null };

/** Where a cycle's probe goes: committed now, or queued behind earlier ones (see RecordQueue). */
export interface ProbeRecords {
  stateOf(name: string): ConnectionState;
  submit(probe: PendingProbe): SubmitResult;
}

export async function runCycle(deps: CycleDeps, connection: Connection, prober: Prober): Promise<CycleResult> {
  const log = deps.logger.child({ connection: connection.name });
  const records = deps.records ?? directRecords(deps);
  const before = records.stateOf(connection.name);
  const policy = policyFor(connection);
  if (!probeIsDue(before, deps.now(), policy)) {
    log.debug('probe skipped: lockout back-off', { until: before.backoffUntil });
    return { kind: 'skipped', reason: 'backoff', until: before.backoffUntil! };
  }

  const observation = await prober.probe();
  const diagnosis = classify(observation, { deployment: connection.deployment, authType: connection.auth.type, expect: connection.expect, serverName: connection.tls.serverName });
  if (!deps.isCurrent(connection)) {
    log.debug('probe result dropped: the connection was removed or changed, or the daemon is stopping', { outcome: diagnosis.outcome });
    return { kind: 'dropped', diagnosis };
  }
  // No other cycle of this connection runs meanwhile (the scheduler runs one per connection at a time), and a
  // commit of its queued probes stores exactly the states advanced in memory, so `before` still holds.
  const { next, change } = advance(before, { outcome: diagnosis.outcome, at: observation.startedAt }, policy);

  // The metrics follow the probe, not the commit: they tell the truth while the database refuses writes.
  deps.metrics.recordProbe(connection.name, {
    outcome: diagnosis.outcome,
    httpStatus: observation.http?.status ?? null,
    timings: observation.timings,
    at: observation.startedAt,
    tls: observation.tls,
  });
  deps.metrics.recordState(connection.name, next);
  // A probe that could not read the client certificate leaves its expiry as it was.
  if (!connection.tls.certFile) deps.metrics.recordClientCertificate(connection.name, null);
  else if (observation.clientCertificate?.notAfter) deps.metrics.recordClientCertificate(connection.name, observation.clientCertificate.notAfter);
  // One info line when the outcome changes (and for a connection's first probe), debug for a repeat: at 10,000
  // connections a minute an info line per probe would be 14 million journal lines a day saying "still ok".
  log[before.lastOutcome === diagnosis.outcome ? 'debug' : 'info']('probe', {
    outcome: diagnosis.outcome,
    status: observation.http?.status ?? null,
    duration: observation.timings.total,
    state: next.state,
    detail: diagnosis.detail,
  });

  const result = records.submit({ connection, observation, diagnosis, now: deps.now(), next });
  return { kind: result, diagnosis, change };
}

/**
 * Writes one probe: detects events and plans notifications from the state and history the store holds (in the
 * daemon a CycleCache: nothing read from SQLite), and writes them in one transaction (a savepoint of the group
 * commit). Returns what is logged and woken once that is durable. Throws when storage fails.
 */
export function commitProbe(deps: CycleDeps, { connection, observation, diagnosis, now }: PendingProbe): AfterCommit {
  const log = deps.logger.child({ connection: connection.name });
  const before = deps.store.loadState(connection.name);
  const { next, change } = advance(before, { outcome: diagnosis.outcome, at: observation.startedAt }, policyFor(connection));
  const lastOk = deps.store.lastOkProbe(connection.name)?.observation ?? null;
  const openIncidents = deps.store.openIncidents(connection.name);
  const detected = detectEvents({
    observation,
    outcome: diagnosis.outcome,
    lastOk,
    tokenExpiresAt: connection.tokenExpiresAt,
    openExpiry: new Set(openIncidents.map((incident) => incident.kind).filter(isExpiryKind)),
    now,
    certExpiryWarningMs: deps.alerting.certExpiryWarningMs,
    tokenExpiryWarningMs: deps.alerting.tokenExpiryWarningMs,
  });
  const events: PlanInput['events'] = [
    ...(change ? [stateChangedEvent(change, { detail: diagnosis.detail, httpStatus: observation.http?.status ?? null })] : []),
    ...detected.map(toNewEvent),
  ];
  const plan = planOrNothing(deps, log, { connection, observation, diagnosis, before, next, change, events, lastOk, openIncidents, now });
  const ids = deps.store.recordCycle({
    observation,
    diagnosis,
    next,
    events: events.map(({ notify: _notify, incident: _incident, ...event }) => event),
    incidents: plan.incidents,
    outbox: plan.outbox,
  });
  const enqueued = ids.outboxIds.some((id) => id !== null);
  return {
    notable: events.length > 0 || plan.incidents.length > 0 || enqueued,
    run: () => {
      if (change) {
        log.warn('state changed', { from: change.from, to: change.to, outcome: change.outcome, detail: diagnosis.detail });
        deps.onStateChange?.(connection, change, diagnosis);
      }
      for (const event of detected) log.warn(event.kind.replace('_', ' '), { details: event.details });
      reportRenderFailures(plan.renderFailures ?? [], log, deps.metrics);
      if (enqueued) deps.onEnqueued();
    },
  };
}

/**
 * The notification plan, or none when planning itself throws: the probe, the state change, its events and the
 * metrics are still recorded (without incident rows or notifications for this cycle), and the error is logged.
 */
function planOrNothing(deps: CycleDeps, log: Logger, input: PlanInput): NotificationPlan {
  try {
    return deps.planNotifications(input);
  } catch (error) {
    log.error('notifications could not be planned; the probe is recorded without them', { error });
    return { incidents: [], outbox: [] };
  }
}

/** Without a RecordQueue (tests of the cycle alone): every probe is committed at once, and a failure throws. */
function directRecords(deps: CycleDeps): ProbeRecords {
  return {
    stateOf: (name) => deps.store.loadState(name),
    submit: (probe) => {
      commitProbe(deps, probe).run();
      return 'recorded';
    },
  };
}

function isExpiryKind(kind: string): kind is ExpiryKind {
  return kind === 'cert_expiring' || kind === 'token_expiring';
}

function toNewEvent(event: DetectedEvent): PlanInput['events'][number] {
  return { kind: event.kind, details: event.details, notify: event.notify, incident: event.incident };
}
