// Masking of secrets in any text or value that leaves the process: log lines, error messages,
// notification bodies, API responses. Two layers: the exact secrets the daemon registered
// (the primary defence) and patterns that catch credentials nobody registered.
export const MASK = '***';

/**
 * Registered values shorter than this are ignored: masking every "abc" would make logs unreadable,
 * and the prefix index below needs this many characters.
 */
export const MIN_SECRET_LENGTH = 4;

/** Every secret the process has read (tokens, passwords, webhook URLs, oauth tokens), in the forms they may appear in. */
export class SecretRegistry {
  /** First MIN_SECRET_LENGTH characters → secrets starting with them, longest first. */
  private readonly byPrefix = new Map<string, string[]>();
  private readonly known = new Set<string>();

  /** Registers a secret and its encoded forms (base64, base64url, URL-encoded). Empty or too short values are ignored. */
  register(value: string | null | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH || this.known.has(value)) return;
    for (const form of encodedForms(value)) this.add(form);
  }

  /**
   * Registers a basic-auth pair: the secret, `username:secret`, and the base64 the Authorization header carries,
   * also with a trailing newline (the `echo` without `-n` mistake).
   */
  registerBasicCredential(username: string, secret: string | null | undefined): void {
    if (!secret) return;
    this.register(secret);
    for (const pair of [`${username}:${secret}`, `${username}:${secret}\n`, `${username}:${secret}\r\n`]) this.register(pair);
  }

  get size(): number {
    return this.known.size;
  }

  /** Replaces every registered secret in `text` with MASK. */
  maskIn(text: string): string {
    if (this.known.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    let masked = '';
    let copiedUpTo = 0;
    let index = 0;
    while (index <= text.length - MIN_SECRET_LENGTH) {
      const candidates = this.byPrefix.get(text.slice(index, index + MIN_SECRET_LENGTH));
      const hit = candidates?.find((secret) => text.startsWith(secret, index));
      if (hit) {
        masked += text.slice(copiedUpTo, index) + MASK;
        index += hit.length;
        copiedUpTo = index;
      } else {
        index += 1;
      }
    }
    return copiedUpTo === 0 ? text : masked + text.slice(copiedUpTo);
  }

  private add(form: string): void {
    if (form.length < MIN_SECRET_LENGTH || this.known.has(form)) return;
    this.known.add(form);
    const prefix = form.slice(0, MIN_SECRET_LENGTH);
    const list = this.byPrefix.get(prefix) ?? [];
    list.push(form);
    list.sort((a, b) => b.length - a.length);
    this.byPrefix.set(prefix, list);
  }
}

function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  // Without padding: the unpadded form is a prefix of the padded one, so it matches both.
  // The form-field encoding (the oauth2 token request) also escapes !'()~ and spaces, which encodeURIComponent keeps.
  const formField = new URLSearchParams({ s: value }).toString().slice(2);
  return [value, bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'), encodeURIComponent(value), formField];
}

// `Authorization: Basic abc`, `"authorization":"Bearer xyz"`, `authorization=...`: the value after the scheme.
const AUTHORIZATION_FIELD = /(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:((?:basic|bearer|token|digest|negotiate|ntlm)\s+))?([A-Za-z0-9\-._~+/=*]+)/gi;
// A credential after a scheme anywhere in text. `realm="..."` (WWW-Authenticate) is left alone by the look-ahead.
const SCHEME_TOKEN = /\b(Basic|Bearer)(\s+)([A-Za-z0-9\-._~+/]*[A-Za-z0-9+/]=*)(?![\w"=+/])/gi;
const SLACK_WEBHOOK = /(https?:\/\/hooks\.slack(?:-gov)?\.com\/)(services|workflows|triggers)\/[A-Za-z0-9/_-]+/gi;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:)[^\s@/]+@/gi;

/**
 * Whether the word after `Basic`/`Bearer` looks like a credential rather than prose: Jira's own messages
 * ("Basic authentication with passwords is deprecated") must survive masking, a base64 token must not.
 */
export function looksLikeCredential(token: string): boolean {
  return token.length >= 20 || /\d|[+/=._~-]|.[A-Z]/.test(token);
}

/** Masks registered secrets, Authorization values, Slack webhook URLs and URL passwords in a string. */
export function maskText(text: string, secrets?: SecretRegistry): string {
  let masked = secrets ? secrets.maskIn(text) : text;
  masked = masked.replace(AUTHORIZATION_FIELD, (_match, field: string, scheme: string | undefined) => `${field}${scheme ?? ''}${MASK}`);
  masked = masked.replace(SCHEME_TOKEN, (match, scheme: string, space: string, token: string) =>
    looksLikeCredential(token) ? `${scheme}${space}${MASK}` : match,
  );
  masked = masked.replace(SLACK_WEBHOOK, (_match, host: string, kind: string) => `${host}${kind}/${MASK}`);
  return masked.replace(URL_USERINFO, (_match, start: string) => `${start}${MASK}@`);
}

const SENSITIVE_KEY = /(password|passwd|pwd|secret|token|authorization|apikey|cookie|webhook|webhookurl|privatekey)$/;

/** Keys whose whole value is masked: `password`, `clientSecret`, `accessToken`, `Authorization`, `x-api-key`, `webhookUrl`, ... */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key.toLowerCase().replace(/[-_\s]/g, ''));
}

const MAX_DEPTH = 8;

/**
 * A JSON-safe copy of `value` with every string masked, values under sensitive keys replaced by MASK,
 * and errors turned into { name, message, code, stack, cause } (masked too).
 */
export function maskValue(value: unknown, secrets?: SecretRegistry): unknown {
  return maskAt(value, secrets, 0, new WeakSet());
}

function maskAt(value: unknown, secrets: SecretRegistry | undefined, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return maskText(value, secrets);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return value === undefined ? undefined : maskText(String(value), secrets);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => maskAt(item, secrets, depth + 1, seen) ?? null);
    if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
    const source: Record<string, unknown> = value instanceof Error ? errorFields(value) : (value as Record<string, unknown>);
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      const item = source[key];
      if (item === undefined || typeof item === 'function') continue;
      const maskedKey = maskText(key, secrets);
      copy[maskedKey] = isSensitiveKey(key) && item !== null && typeof item !== 'boolean' ? MASK : maskAt(item, secrets, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

function errorFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, message: error.message };
  for (const key of Object.keys(error)) fields[key] = (error as unknown as Record<string, unknown>)[key];
  if (error.stack) fields.stack = error.stack;
  if (error.cause !== undefined) fields.cause = error.cause;
  return fields;
}
