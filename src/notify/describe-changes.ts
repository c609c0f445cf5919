// "What changed since the last success", as plain sentences shared by every channel's renderer. Pure.
import { isProtocolDowngrade, type Changes, type Comparison } from './types.js';

const CREDENTIAL_LINES: Record<Changes['credential'], string> = {
  unchanged: 'credential unchanged (same secret as at the last success)',
  changed: 'credential changed since the last success',
  unknown: 'credential: nothing to compare (no secret was read)',
};

export function describeChanges(changes: Changes): string[] {
  const identity = changes.identity.status === 'unknown' ? [] : [describeComparison('identity', changes.identity)];
  return [CREDENTIAL_LINES[changes.credential], ...describeTlsChanges(changes), ...identity];
}

export function describeTlsChanges(changes: Changes): string[] {
  const parts = [
    ['TLS protocol', changes.tlsProtocol],
    ['TLS cipher', changes.tlsCipher],
    ['TLS certificate', changes.tlsCertificate],
  ] as const;
  if (parts.every(([, comparison]) => comparison.status === 'unknown')) return ['TLS: nothing to compare (no handshake on one side)'];
  return parts.map(([label, comparison]) => {
    const text = describeComparison(label, comparison, label === 'TLS certificate' ? shortFingerprint : undefined);
    return label === 'TLS protocol' && isProtocolDowngrade(comparison) ? `${text} (downgrade)` : text;
  });
}

/** "TLS protocol unchanged (TLSv1.3)", "TLS protocol changed: TLSv1.3 → TLSv1.2", "identity: not observed". */
export function describeComparison(label: string, comparison: Comparison, show: (value: string) => string = (value) => value): string {
  switch (comparison.status) {
    case 'unchanged':
      return `${label} unchanged (${show(comparison.value)})`;
    case 'changed':
      return `${label} changed: ${show(comparison.before)} → ${show(comparison.after)}`;
    case 'unknown':
      return `${label}: not observed`;
  }
}

/** The first 8 bytes of a colon-separated SHA-256 fingerprint are plenty to tell two certificates apart. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.length > 23 ? `${fingerprint.slice(0, 23)}…` : fingerprint;
}
