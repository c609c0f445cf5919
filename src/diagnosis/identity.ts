// The account a /myself answer names, and how it compares with what the connection expects.
import type { Identity } from '../probe/observation.js';
import type { ClassifyContext } from './types.js';

export function identityFromJson(json: unknown): Identity | null {
  if (!isJsonObject(json)) return null;
  const text = (key: string) => (typeof json[key] === 'string' && json[key] !== '' ? (json[key] as string) : null);
  return {
    accountId: text('accountId'),
    name: text('name'),
    key: text('key'),
    emailAddress: text('emailAddress'),
    displayName: text('displayName'),
    active: typeof json.active === 'boolean' ? json.active : null,
  };
}

export function hasIdentity(identity: Identity | null): identity is Identity {
  return identity !== null && Boolean(identity.accountId || identity.name || identity.key);
}

/** The account a /myself answer names; null when it names none (no accountId, name or key). */
export function accountIdentity(json: unknown): Identity | null {
  const identity = identityFromJson(json);
  return hasIdentity(identity) ? identity : null;
}

/**
 * Each way the identity differs from `expect`. accountIds compare exactly; usernames and emails case-insensitively
 * (Jira DC usernames are case-insensitive). Cloud may hide emailAddress (null) for privacy: an expected email that
 * can't be checked is reported as a mismatch, with the accountId to expect instead, rather than passed unverified.
 */
export function identityMismatches(identity: Identity, expect: ClassifyContext['expect']): string[] {
  if (!expect) return [];
  const mismatches: string[] = [];
  const sameText = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();
  if (expect.accountId !== undefined && identity.accountId !== expect.accountId) {
    mismatches.push(`expected accountId ${expect.accountId}`);
  }
  if (expect.username !== undefined && !sameText(identity.name, expect.username)) {
    mismatches.push(`expected username ${expect.username}`);
  }
  if (expect.email !== undefined && !sameText(identity.emailAddress, expect.email)) {
    mismatches.push(
      identity.emailAddress === null
        ? `expected email ${expect.email}, but Jira does not disclose this account's email${identity.accountId ? ` (expect accountId ${identity.accountId} instead)` : ''}`
        : `expected email ${expect.email}`,
    );
  }
  return mismatches;
}

export function describeIdentity(identity: Identity): string {
  const who = identity.accountId
    ? `accountId ${identity.accountId}`
    : identity.name
      ? `username ${identity.name}`
      : `key ${identity.key}`;
  const extras = [identity.displayName, identity.emailAddress].filter(Boolean).join(', ');
  return extras ? `${who} (${extras})` : who;
}

// ---------------------------------------------------------------------------------------------------------------
// Detail lines

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
