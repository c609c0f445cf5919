// Reads a secret at the moment it is needed. A missing or malformed secret is a result, not an exception,
// so it becomes the credential_missing / credential_malformed outcome of that probe.
import { readFileSync } from 'node:fs';
import type { SecretRef } from './schema.js';
import { checkSecretText } from './secret-text.js';

export type SecretResult =
  | { ok: true; value: string }
  | { ok: false; status: 'missing' | 'malformed'; problem: string };

export type Environment = Record<string, string | undefined>;

/** The secret as stored (one trailing newline of a file stripped), and where it came from; not yet checked. */
export function readSecretText(
  ref: SecretRef,
  env: Environment = process.env,
): { ok: true; value: string; where: string } | { ok: false; status: 'missing'; problem: string } {
  if (typeof ref === 'string') return { ok: true, value: ref, where: 'the literal secret' };
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined) return { ok: false, status: 'missing', problem: `environment variable ${ref.env} is not set` };
    if (value === '') return { ok: false, status: 'missing', problem: `environment variable ${ref.env} is empty` };
    return { ok: true, value, where: `environment variable ${ref.env}` };
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
  return { ok: true, value: stripped, where: `secret file ${ref.file}` };
}

/** The secret, refused when it holds whitespace, control or invisible characters. */
export function readSecret(ref: SecretRef, env: Environment = process.env): SecretResult {
  const read = readSecretText(ref, env);
  return read.ok ? checkSecretText(read.value, read.where) : read;
}

export { checkSecretText, checkHeaderText } from './secret-text.js';
