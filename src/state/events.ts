// Events (docs/behaviour.md, Events): the state_changed event of a change made by advance(), and the ones detected from a probe; pure, time injected.
//   tls_changed       protocol, cipher or leaf certificate differ from the last ok probe (a downgrade notifies)
//   identity_changed  an ok probe authenticated as someone else than the last ok probe
//   cert_expiring     the leaf certificate expires within certExpiryWarning — once per certificate
//   token_expiring    auth.expiresAt is within tokenExpiryWarning — once per expiry date
// "Once" is kept by an incident of the same kind: opened with the event, resolved when the certificate or
// token is replaced, so a renewed-then-expiring-again credential warns again.
import type { Outcome } from '../diagnosis/outcome-names.js';
import type { ProbeObservation } from '../probe/observation.js';
import { isProtocolDowngrade } from '../probe/tls.js';
import type { AuthState, StateChange } from './types.js';

export type ExpiryKind = 'cert_expiring' | 'token_expiring';

export interface DetectedEvent {
  kind: 'tls_changed' | 'identity_changed' | ExpiryKind;
  details: Record<string, unknown>;
  /** Whether the event deserves a notification of its own. */
  notify: boolean;
  /** For the expiry kinds: open or resolve the incident that keeps it to once per occurrence. */
  incident: 'open' | 'resolve' | null;
}

export interface EventInput {
  observation: ProbeObservation;
  outcome: Outcome;
  /** The last probe whose outcome was ok, before this one. */
  lastOk: ProbeObservation | null;
  tokenExpiresAt: string | null;
  /** Expiry incidents open now. */
  openExpiry: ReadonlySet<ExpiryKind>;
  now: Date;
  certExpiryWarningMs: number;
  tokenExpiryWarningMs: number;
}

const DAY_MS = 86_400_000;

/** The event recorded for a change made by advance(): the store requires exactly one per state change. */
export interface StateChangedEvent {
  kind: 'state_changed';
  from: AuthState;
  to: AuthState;
  at: string;
  details: Record<string, unknown>;
}

export function stateChangedEvent(change: StateChange, details: Record<string, unknown> = {}): StateChangedEvent {
  return { kind: 'state_changed', from: change.from, to: change.to, at: change.at, details: { outcome: change.outcome, ...details } };
}

export function detectEvents(input: EventInput): DetectedEvent[] {
  return [tlsChanged(input), identityChanged(input), certExpiry(input), tokenExpiry(input)].filter(
    (event): event is DetectedEvent => event !== null,
  );
}

function tlsChanged({ observation, outcome, lastOk }: EventInput): DetectedEvent | null {
  const before = lastOk?.tls;
  const after = observation.tls;
  if (outcome !== 'ok' || !before || !after) return null;
  const differences: Record<string, { before: string | null; after: string | null }> = {};
  if (before.protocol !== after.protocol) differences.protocol = { before: before.protocol, after: after.protocol };
  if (before.cipher !== after.cipher) differences.cipher = { before: before.cipher, after: after.cipher };
  if (before.fingerprint256 !== after.fingerprint256) {
    differences.certificate = { before: before.fingerprint256, after: after.fingerprint256 };
  }
  if (Object.keys(differences).length === 0) return null;
  const downgrade = isProtocolDowngrade(before.protocol, after.protocol);
  return { kind: 'tls_changed', details: { ...differences, downgrade }, notify: downgrade, incident: null };
}

function identityOf(observation: ProbeObservation | null): string | null {
  const identity = observation?.identity;
  return identity ? (identity.accountId ?? identity.key ?? identity.name ?? null) : null;
}

function identityChanged({ observation, outcome, lastOk }: EventInput): DetectedEvent | null {
  // Only on ok: with `expect` set, authenticating as someone else is identity_mismatch, an auth failure with its own
  // incident; and a failing probe never moves the last ok, so it would repeat the same event at every probe.
  if (outcome !== 'ok') return null;
  const before = identityOf(lastOk);
  const after = identityOf(observation);
  if (!before || !after || before === after) return null;
  return { kind: 'identity_changed', details: { before, after }, notify: true, incident: null };
}

function daysLeft(until: number, now: Date): number {
  return Math.floor((until - now.getTime()) / DAY_MS);
}

/**
 * Warn once when an expiry enters the warning window; resolve when it leaves it again (renewed). An expiry already
 * past is not "expiring": an expired certificate is tls_cert_invalid, an expired token fails auth.
 */
function expiry(
  kind: ExpiryKind,
  at: string | null,
  warningMs: number,
  input: EventInput,
  details: Record<string, unknown>,
): DetectedEvent | null {
  const open = input.openExpiry.has(kind);
  const expiresAt = at ? Date.parse(at) : Number.NaN;
  if (!at || Number.isNaN(expiresAt) || warningMs <= 0) {
    return open ? { kind, details: { ...details, renewed: true }, notify: false, incident: 'resolve' } : null;
  }
  const left = expiresAt - input.now.getTime();
  if (left > 0 && left <= warningMs && !open) {
    return { kind, details: { ...details, daysLeft: daysLeft(expiresAt, input.now) }, notify: true, incident: 'open' };
  }
  if (left > warningMs && open) return { kind, details: { ...details, renewed: true }, notify: false, incident: 'resolve' };
  return null;
}

function certExpiry(input: EventInput): DetectedEvent | null {
  const tls = input.observation.tls;
  // Without a handshake there is nothing to say about the certificate, either way.
  if (!tls?.notAfter) return null;
  return expiry('cert_expiring', tls.notAfter, input.certExpiryWarningMs, input, {
    notAfter: tls.notAfter,
    subject: tls.subject,
    fingerprint: tls.fingerprint256,
  });
}

function tokenExpiry(input: EventInput): DetectedEvent | null {
  return expiry('token_expiring', input.tokenExpiresAt, input.tokenExpiryWarningMs, input, { expiresAt: input.tokenExpiresAt });
}
