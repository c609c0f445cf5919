// How the status page writes times, durations and states. Pure; "now" is always passed in.
import type { AuthState } from '../../state/types.js';
import { html, type Html } from './html.js';

/** "2026-12-01 08:20:11 UTC"; the page is rendered on the server, so it speaks UTC like the logs. */
export function formatInstant(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const UNITS: [number, string][] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
];

/** "3 min ago", "in 12 d", "just now": the largest unit, rounded down. */
export function relativeTime(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  if (Number.isNaN(ms)) return '';
  const size = Math.abs(ms);
  if (size < 1000) return 'just now';
  const [unit, name] = UNITS.find(([length]) => size >= length)!;
  const amount = `${Math.floor(size / unit)} ${name}`;
  return ms < 0 ? `${amount} ago` : `in ${amount}`;
}

/** A <time> element with the absolute instant and how long ago it was; "never" (or `none`) when null. */
export function timeCell(iso: string | null, now: Date, none = 'never'): Html {
  if (!iso) return html`<span class="muted">${none}</span>`;
  return html`<time datetime="${iso}" title="${formatInstant(iso)}">${relativeTime(iso, now)}</time>`;
}

/** Same as timeCell, absolute first: for detail pages. */
export function instantCell(iso: string | null, now: Date, none = 'never'): Html {
  if (!iso) return html`<span class="muted">${none}</span>`;
  return html`<time datetime="${iso}">${formatInstant(iso)}</time> <span class="muted">(${relativeTime(iso, now)})</span>`;
}

/** Seconds of a probe phase as milliseconds, "–" when the phase did not happen. */
export function phaseMs(seconds: number | null): string {
  if (seconds === null) return '–';
  const ms = seconds * 1000;
  return ms < 10 ? ms.toFixed(1) : Math.round(ms).toString();
}

export const STATE_WORDS: Record<AuthState, string> = {
  regressed: 'regressed',
  failing: 'failing',
  unreachable: 'unreachable',
  unknown: 'unknown',
  ok: 'ok',
};

export function stateBadge(state: AuthState): Html {
  return html`<span class="state state-${state}">${STATE_WORDS[state]}</span>`;
}
