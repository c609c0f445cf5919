// POST /api/v1/connections/NAME/probe: the answer's shape, and who may ask. A probe sends the connection's real
// credentials to Jira (and a failed one counts toward a Data Center lockout), so only a process on this machine
// may trigger one, and never a web page: a browser's cross-site POST carries an Origin that is not ours.
import type { IncomingMessage } from 'node:http';
import type { OutcomeView } from './read-model.js';
import type { AuthState } from '../state/types.js';

export interface ProbeNowView {
  connection: string;
  /**
   * recorded: probed, recorded and notified like a scheduled probe; queued: probed, but the database refuses writes
   * now, so the record (and its notifications) wait in memory until it takes them; skipped: the lockout back-off
   * holds it.
   */
  result: 'recorded' | 'queued' | 'skipped';
  /** Set when skipped: no probe before this instant (ISO 8601); probing now would count as another failed login. */
  backoffUntil: string | null;
  /** The probe's outcome (recorded), with its explanation and remediation. */
  outcome: OutcomeView | null;
  /** The connection's state after the probe. */
  state: AuthState;
  /** The state change this probe caused, if any. */
  change: { from: AuthState; to: AuthState } | null;
  probedAt: string | null;
}

/** Answers a probe request: the view, null when no such connection is configured, or 'unavailable' (shutting down). */
export type ProbeNow = (name: string) => Promise<ProbeNowView | null | 'unavailable'>;

export function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d+\.\d+\.\d+$/.test(v4);
}

/** Why this request may not trigger a probe, or null. */
export function probeRequestRefusal(request: IncomingMessage): string | null {
  if (!isLoopbackPeer(request.socket.remoteAddress)) return 'probes can be requested only from this machine (a loopback address)';
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) return 'probes cannot be requested by a web page of another origin';
  return null;
}
