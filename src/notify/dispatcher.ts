// Pumps the outbox through the notifiers: the head of each (channel, target) lane, one at a time, in order;
// each lane at its own pace, so a slow Alertmanager holds back only its own lane.
// A row is marked delivered only after the channel accepted it; retries back off exponentially and honour
// Retry-After; a rejection (4xx other than 429) fails the row at once; a row older than maxAge gives up.
// An answer the outbox cannot record (database locked, full) is kept in memory and the row held back until it is
// recorded (UnrecordedOutcomes): a database hiccup never makes a channel get the same row twice.
import { formatDuration } from '../config/duration.js';
import { findNotifier, type Channel, type Notifier } from './registry.js';
import type { DeliveryResult } from './types.js';
import { UnrecordedOutcomes } from './unrecorded.js';

export interface OutboxItem {
  id: number;
  channel: Channel;
  /** See Notifier.target. (channel, target) is a lane: delivered strictly in id order. */
  target: string;
  /** The rendered JSON (Notifier.render's result). */
  payload: unknown;
  /** Attempts made so far. */
  attempts: number;
  createdAt: Date;
}

/** What the dispatcher needs from the store's outbox table. */
export interface OutboxPort {
  /**
   * For each (channel, target) lane, its oldest row that is neither delivered nor failed — only if that row
   * is due (next attempt time ≤ now). A lane whose head waits for a retry yields nothing, so later rows
   * never overtake it. At most `limit` rows, oldest first.
   */
  due(now: Date, limit: number): OutboxItem[];
  markDelivered(id: number, at: Date): void;
  scheduleRetry(id: number, attempts: number, nextAttemptAt: Date, error: string): void;
  markFailed(id: number, at: Date, error: string): void;
}

export type DeliveryOutcome = 'delivered' | 'failed' | 'retried';

export interface RetryPolicy {
  /** Delay after the first failed attempt; doubles after each further one. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A row this old (since created) is given up on at its next failure. */
  maxAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 2000, maxDelayMs: 5 * 60_000, maxAgeMs: 24 * 3_600_000 };

export type RetryDecision = { action: 'retry'; attempts: number; nextAttemptAt: Date } | { action: 'fail'; error: string };

/** Pure: what to do with a row whose attempt asked to be retried. `item.attempts` excludes this attempt. */
export function decideRetry(item: Pick<OutboxItem, 'attempts' | 'createdAt'>, result: Extract<DeliveryResult, { kind: 'retry' }>, now: Date, policy: RetryPolicy): RetryDecision {
  const attempts = item.attempts + 1;
  const deadline = item.createdAt.getTime() + policy.maxAgeMs;
  if (now.getTime() >= deadline) return { action: 'fail', error: `gave up after ${formatDuration(policy.maxAgeMs)} and ${attempts} attempts: ${result.reason}` };
  const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempts - 1, 30));
  const delay = Math.max(backoff, result.afterMs ?? 0);
  return { action: 'retry', attempts, nextAttemptAt: new Date(Math.min(now.getTime() + delay, deadline)) };
}

/** One line per attempt for the daemon's log. Never holds a secret: reasons are masked by the clients. */
export interface DeliveryAttempt {
  id: number;
  channel: Channel;
  /** The lane's target without user-info ('webhook' for Slack). */
  target: string;
  attempts: number;
  outcome: DeliveryOutcome;
  reason: string | null;
  nextAttemptAt: Date | null;
}

export interface DispatcherOptions {
  outbox: OutboxPort;
  /** Read on every pass, so a config reload can swap the notifiers. */
  notifiers: () => readonly Notifier[];
  clock?: () => Date;
  retry?: Partial<RetryPolicy>;
  /** How often start()'s timer looks for due rows; wake() looks at once. */
  pollIntervalMs?: number;
  /** Rows asked for at a time, and sends per lane per pass. */
  batchLimit?: number;
  /** For authwatch_notifications_total{channel,result}. */
  onResult?: (channel: Channel, result: DeliveryOutcome) => void;
  onAttempt?: (attempt: DeliveryAttempt) => void;
  /** After a pass that attempted at least one row (e.g. to refresh authwatch_outbox_pending). */
  onPass?: (summary: DispatchSummary) => void;
  /** A pass that threw (e.g. the database was busy); the timer keeps going. */
  onError?: (error: unknown) => void;
  /** A channel's answer the outbox could not record: kept in memory, retried with back-off, the row not sent again. */
  onUnrecorded?: (id: number, error: unknown) => void;
}

export interface DispatchSummary {
  delivered: number;
  retried: number;
  failed: number;
}

export class Dispatcher {
  private readonly outbox: OutboxPort;
  private readonly notifiers: () => readonly Notifier[];
  private readonly clock: () => Date;
  private readonly policy: RetryPolicy;
  private readonly pollIntervalMs: number;
  private readonly batchLimit: number;
  private readonly options: DispatcherOptions;
  /** Passes run one after another: never two sends of the same row at once. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Set by stop(): the pass in progress starts no new send. */
  private stopped = false;
  private readonly unrecorded = new UnrecordedOutcomes();

  constructor(options: DispatcherOptions) {
    this.options = options;
    this.outbox = options.outbox;
    this.notifiers = options.notifiers;
    this.clock = options.clock ?? (() => new Date());
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchLimit = options.batchLimit ?? 100;
  }

  /**
   * Drains every due lane, each at its own pace: a lane's next head is sent as soon as its previous send is
   * recorded, until nothing in it is due (at most batchLimit sends per lane). A lane that becomes due meanwhile
   * joins the pass. With `now`, every decision uses that instant (tests at fixed instants); otherwise the clock.
   */
  runOnce(now?: Date): Promise<DispatchSummary> {
    const pass = this.chain.then(() => this.pass(now));
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  /** Starts the timer: a pass now, then every pollIntervalMs. The timer does not keep the process alive. */
  start(): void {
    this.running = true;
    this.stopped = false;
    this.schedule(0);
  }

  /** A pass as soon as possible (after enqueueing). */
  wake(): void {
    if (this.running) this.schedule(0);
  }

  /** Stops the timer and waits for the sends in flight to finish and be recorded; no further send starts. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.chain;
    const error = this.unrecorded.flush(this.clock(), true);
    if (error) this.options.onError?.(error);
  }

  /** Channel answers not yet recorded in the outbox (held in memory). */
  get unrecordedCount(): number {
    return this.unrecorded.size;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    try {
      await this.runOnce();
    } catch (error) {
      this.options.onError?.(error);
    }
    if (this.running && !this.timer) this.schedule(this.pollIntervalMs);
  }

  private async pass(fixedNow: Date | undefined): Promise<DispatchSummary> {
    const time = () => fixedNow ?? this.clock();
    // Answers that could not be recorded earlier go first; a row still held is never picked below.
    this.unrecorded.flush(time());
    const due = (): OutboxItem[] => this.outbox.due(time(), this.batchLimit).filter((item) => !this.unrecorded.holds(item.id, time()));
    const summary: DispatchSummary = { delivered: 0, retried: 0, failed: 0 };
    /** Lanes already drained or draining in this pass: one loop per lane, so never two sends of one row at once. */
    const lanes = new Set<string>();
    const attempted = new Set<number>();
    const loops: Promise<void>[] = [];
    let failure: { error: unknown } | null = null;

    const nextHead = (heads: readonly OutboxItem[], lane: string) => heads.find((item) => laneOf(item) === lane && !attempted.has(item.id));
    const drain = async (lane: string, first: OutboxItem): Promise<void> => {
      let item: OutboxItem | undefined = first;
      for (let sends = 0; item && !this.stopped && sends < this.batchLimit; sends++) {
        attempted.add(item.id);
        summary[await this.attempt(item, this.notifiers(), time)]++;
        if (this.stopped) return;
        const heads = due();
        startLanes(heads);
        item = nextHead(heads, lane);
      }
    };
    const startLanes = (heads: readonly OutboxItem[]) => {
      for (const item of heads) {
        const lane = laneOf(item);
        if (this.stopped || lanes.has(lane) || attempted.has(item.id)) continue;
        lanes.add(lane);
        loops.push(drain(lane, item).catch((error: unknown) => void (failure ??= { error })));
      }
    };

    if (!this.stopped) startLanes(due());
    // Lanes may join while earlier ones run; every loop settles before the pass ends (or reports a failure).
    for (let index = 0; index < loops.length; index++) await loops[index];
    if (failure) throw (failure as { error: unknown }).error;
    if (summary.delivered + summary.retried + summary.failed > 0) this.options.onPass?.(summary);
    return summary;
  }

  private async attempt(item: OutboxItem, notifiers: readonly Notifier[], time: () => Date): Promise<DeliveryOutcome> {
    const notifier = findNotifier(notifiers, item.channel, item.target);
    const result: DeliveryResult = notifier
      ? await deliverSafely(notifier, item.payload)
      : { kind: 'rejected', reason: `${item.channel} ${displayTarget(item.target)} is no longer configured` };
    const at = time();
    let outcome: DeliveryOutcome;
    let reason: string | null = null;
    let nextAttemptAt: Date | null = null;
    const record = (write: () => void, holdUntil: Date | null) => {
      const error = this.unrecorded.record(item.id, write, holdUntil, at);
      if (error) this.options.onUnrecorded?.(item.id, error);
    };
    if (result.kind === 'delivered') {
      record(() => this.outbox.markDelivered(item.id, at), null);
      outcome = 'delivered';
    } else if (result.kind === 'rejected') {
      const rejection = result.reason;
      reason = rejection;
      record(() => this.outbox.markFailed(item.id, at, rejection), null);
      outcome = 'failed';
    } else {
      const decision = decideRetry(item, result, at, this.policy);
      if (decision.action === 'fail') {
        reason = decision.error;
        record(() => this.outbox.markFailed(item.id, at, decision.error), null);
        outcome = 'failed';
      } else {
        const retryReason = result.reason;
        reason = retryReason;
        nextAttemptAt = decision.nextAttemptAt;
        record(() => this.outbox.scheduleRetry(item.id, decision.attempts, decision.nextAttemptAt, retryReason), decision.nextAttemptAt);
        outcome = 'retried';
      }
    }
    this.options.onResult?.(item.channel, outcome);
    this.options.onAttempt?.({ id: item.id, channel: item.channel, target: displayTarget(item.target), attempts: item.attempts + 1, outcome, reason, nextAttemptAt });
    return outcome;
  }
}

function laneOf(item: Pick<OutboxItem, 'channel' | 'target'>): string {
  return `${item.channel}\u0000${item.target}`;
}

async function deliverSafely(notifier: Notifier, payload: unknown): Promise<DeliveryResult> {
  try {
    return await notifier.deliver(payload);
  } catch (error) {
    // Notifiers do not throw; if one does, its message may hold anything, so only its type is kept.
    return { kind: 'retry', afterMs: null, reason: `internal error in the ${notifier.channel} notifier (${(error as Error)?.name ?? 'error'})` };
  }
}

/** A target as it may be shown: user-info removed from URLs. */
export function displayTarget(target: string): string {
  try {
    const url = new URL(target);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return target;
  }
}
