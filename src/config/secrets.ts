// Reads a secret at the moment it is needed. A missing or malformed secret is a result, not an exception,
// so it becomes the credential_missing / credential_malformed outcome of that probe.
import { readFileSync } from 'node:fs';
import type { SecretRef } from './schema.js';

export type SecretResult =
  | { ok: true; value: string }
  | { ok: false; status: 'missing' | 'malformed'; problem: string };

export type Environment = Record<string, string | undefined>;

export function readSecret(ref: SecretRef, env: Environment = process.env): SecretResult {
  if (typeof ref === 'string') return checkSecretText(ref, 'the literal secret');
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined) return { ok: false, status: 'missing', problem: `environment variable ${ref.env} is not set` };
    if (value === '') return { ok: false, status: 'missing', problem: `environment variable ${ref.env} is empty` };
    return checkSecretText(value, `environment variable ${ref.env}`);
  }
  let text: string;
  try {
    text = readFileSync(ref.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, status: 'missing', problem: `secret file ${ref.file} is unreadable (${code})` };
  }
  const stripped = text.replace(/\r?\n$/, '');
  if (stripped === '') return { ok: false, status: 'missing', problem: `secret file ${ref.file} is empty` };
  return checkSecretText(stripped, `secret file ${ref.file}`);
}

const CHARACTER_NAMES: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', ' ': 'a space' };

/** Any whitespace or control character inside a secret is reported, never silently fixed. */
export function checkSecretText(value: string, where: string): SecretResult {
  const bad = /[\s\p{Cc}]/u.exec(value);
  if (bad) {
    const name = CHARACTER_NAMES[bad[0]] ?? `control character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0').toUpperCase()}`;
    const position = bad.index === value.length - 1 ? 'at the end' : bad.index === 0 ? 'at the start' : `at position ${bad.index + 1} of ${value.length}`;
    return { ok: false, status: 'malformed', problem: `${where} contains ${name} ${position}` };
  }
  return { ok: true, value };
}
