// Reads a secret at the moment it is needed. A missing or malformed secret is a result, not an exception,
// so it becomes the credential_missing / credential_malformed outcome of that probe.
import { readFileSync } from 'node:fs';
import type { SecretRef } from './schema.js';
import { checkSecretText } from './secret-text.js';

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

export { checkSecretText, checkHeaderText } from './secret-text.js';
