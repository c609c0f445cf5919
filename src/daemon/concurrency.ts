// The probes-in-flight cap when `run --concurrency` is not given: Little's law on the load the schedules ask
// for. In flight on average = arrivals per second × seconds per probe; the cap leaves HEADROOM over that for
// bursts and a slower Jira, and stays within [MIN, MAX] (MAX bounds the memory of the sockets held open). It is
// not raised while the event loop is saturated: the durations then measure the wait for the loop, not for Jira.
export const DERIVED_CONCURRENCY_MIN = 32;
export const DERIVED_CONCURRENCY_MAX = 1000;
export const CONCURRENCY_HEADROOM = 2;
/** From this event-loop utilization on, the cap is not raised (it may still fall). */
export const SATURATED_LOOP_UTILIZATION = 0.9;
/** Assumed p95 probe duration before any probe has finished: a Jira far away (0.3–1 s). */
export const INITIAL_P95_SECONDS = 1;

export function derivedConcurrency(arrivalsPerSecond: number, p95Seconds: number): number {
  const wanted = Math.ceil(arrivalsPerSecond * p95Seconds * CONCURRENCY_HEADROOM);
  return Math.min(DERIVED_CONCURRENCY_MAX, Math.max(DERIVED_CONCURRENCY_MIN, Number.isFinite(wanted) ? wanted : DERIVED_CONCURRENCY_MAX));
}

/** The durations of the last SAMPLES probe cycles, for their 95th percentile. */
export class DurationWindow {
  static readonly SAMPLES = 512;
  private readonly samples = new Float64Array(DurationWindow.SAMPLES);
  private count = 0;
  private next = 0;

  add(seconds: number): void {
    this.samples[this.next] = seconds;
    this.next = (this.next + 1) % DurationWindow.SAMPLES;
    this.count = Math.min(this.count + 1, DurationWindow.SAMPLES);
  }

  get size(): number {
    return this.count;
  }

  /** null before the first sample. */
  p95(): number | null {
    if (this.count === 0) return null;
    const sorted = this.samples.slice(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.ceil(this.count * 0.95) - 1)];
  }
}
