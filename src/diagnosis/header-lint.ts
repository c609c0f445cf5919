// Lints an Authorization header value offline (docs/cli.md): `authwatch explain-header` and `auth.type: header`.
// Pure. Findings explain the problem and the fix; no message ever contains the header value, the decoded
// credentials, the username or the secret — only their shape (lengths, positions, character kinds).
import { SECRET_FORBIDDEN, SECRET_FORBIDDEN_ALL } from '../config/secret-text.js';

export type LintCode =
  | 'not_base64'
  | 'missing_colon'
  | 'trailing_newline'
  | 'whitespace'
  | 'username_not_email'
  | 'password_like_secret'
  | 'already_encoded'
  | 'bearer_api_token'
  | 'scheme_unknown'
  | 'empty';

export interface LintFinding {
  code: LintCode;
  severity: 'error' | 'warning';
  message: string;
}

export type LintDeployment = 'cloud' | 'datacenter' | null;

/** Structural problems: the probe treats any of them as credential_malformed and sends nothing. */
export const ERROR_CODES: ReadonlySet<LintCode> = new Set<LintCode>([
  'empty', 'scheme_unknown', 'not_base64', 'missing_colon', 'trailing_newline', 'whitespace',
]);

/**
 * Each finding in a few words, for the one-line detail of a probe (the `check` row, the Slack and Alertmanager
 * "Seen" line, the API): `authwatch explain-header` gives the full message.
 */
export const LINT_HINTS: Record<LintCode, string> = {
  not_base64: 'the part after "Basic" is not base64',
  missing_colon: 'the decoded credentials have no ":"',
  trailing_newline: 'the credentials end with a newline (echo without -n)',
  whitespace: 'whitespace inside the credentials',
  username_not_email: 'on Cloud the username must be the account email',
  password_like_secret: 'the secret does not look like a Jira Cloud API token: Cloud does not accept account passwords',
  already_encoded: 'the secret is already base64 of username:secret: put the bare token in secret, authwatch encodes it',
  bearer_api_token: 'a Cloud API token is sent as Basic email:token, not Bearer',
  scheme_unknown: 'not a Basic or Bearer header',
  empty: 'no credentials',
};

/** "code (hint)" for each finding code, e.g. for a probe's detail. */
export function describeLintCodes(codes: readonly string[]): string {
  return codes.map((code) => (code in LINT_HINTS ? `${code} (${LINT_HINTS[code as LintCode]})` : code)).join(', ');
}

export function hasLintErrors(findings: readonly LintFinding[]): boolean {
  return findings.some((finding) => finding.severity === 'error');
}

/** Classic Cloud API tokens: 24 letters and digits. */
const CLASSIC_CLOUD_TOKEN = /^[A-Za-z0-9]{24}$/;
/** Cloud API tokens since 2022: `ATATT3…`, about 190 characters ending in `=` and a checksum. */
const CLOUD_TOKEN_PREFIX = 'ATATT3';
const CURRENT_CLOUD_TOKEN = /^ATATT3[A-Za-z0-9_=-]+$/;
const CURRENT_CLOUD_TOKEN_MIN_LENGTH = 150;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL_ONLY = /[-_]/;

const WHITESPACE_OR_CONTROL = SECRET_FORBIDDEN;
const ALL_WHITESPACE_OR_CONTROL = SECRET_FORBIDDEN_ALL;
const KNOWN_OTHER_SCHEMES = ['Digest', 'Negotiate', 'NTLM', 'OAuth', 'JWT', 'Token', 'Bearer', 'Hawk', 'AWS4-HMAC-SHA256', 'ApiKey', 'SSWS'];

export function lintAuthorizationHeader(value: string, deployment: LintDeployment): LintFinding[] {
  const findings: LintFinding[] = [];
  const add = (code: LintCode, message: string) =>
    findings.push({ code, severity: ERROR_CODES.has(code) ? 'error' : 'warning', message });

  if (value.trim() === '') {
    add('empty', value === '' ? 'The header value is empty: there are no credentials to send.' : 'The header value is only whitespace: there are no credentials to send.');
    return findings;
  }

  let header = value;
  const trailingBreak = /(\r\n|\r|\n)+$/.exec(header);
  if (trailingBreak) {
    add('trailing_newline', `The header value ends with ${describeBreak(trailingBreak[0])}. HTTP clients reject or mangle such a header; remove it from where the value is stored (a secret written with \`echo\` instead of \`echo -n\`).`);
    header = header.slice(0, trailingBreak.index);
  }
  const outerWhitespace = findOuterWhitespace(header);
  if (outerWhitespace) add('whitespace', `The header value ${outerWhitespace}; remove it — nothing may surround the value.`);
  header = header.replace(/^[\s\p{Cc}\p{Cf}]+|[\s\p{Cc}\p{Cf}]+$/gu, '');
  if (header === '') {
    add('empty', 'The header value holds only invisible characters: there are no credentials to send.');
    return findings;
  }

  const match = /^(\S+)(?:(\s+)([\s\S]*))?$/.exec(header)!;
  const [, scheme, separator, credentials] = match;
  if (/^authorization:?$/i.test(scheme)) {
    add('scheme_unknown', 'The value starts with the header name "Authorization:". Store only the value after it, e.g. "Basic <base64>" or "Bearer <token>".');
    return findings;
  }
  if (separator === undefined) {
    if (/^(basic|bearer)$/i.test(scheme)) {
      add('empty', `The header has the ${capitalize(scheme)} scheme but no credentials after it.`);
    } else {
      const hint = looksLikeEncodedPair(scheme) ? ' It looks like base64 of username:secret with the "Basic " prefix missing.' : '';
      add('scheme_unknown', `The value is a single word of ${header.length} characters with no scheme: it must start with "Basic " (followed by base64 of username:secret) or "Bearer " (followed by a token).${hint}`);
    }
    return findings;
  }
  if (separator !== ' ') {
    add('whitespace', `The scheme and the credentials are separated by ${/^ +$/.test(separator) ? `${separator.length} spaces` : `whitespace other than a single space (${[...new Set(separator)].map(describeCharacter).join(', ')})`}; use exactly one space.`);
  }

  switch (scheme.toLowerCase()) {
    case 'basic':
      lintBasic(credentials, deployment, add);
      break;
    case 'bearer':
      lintBearer(credentials, deployment, add);
      break;
    default: {
      // Only a well-known scheme name is printed: an unknown first word may be part of a secret.
      const known = KNOWN_OTHER_SCHEMES.find((name) => name.toLowerCase() === scheme.toLowerCase());
      const shown = known ? `"${known}"` : `(an unrecognised word of ${scheme.length} characters)`;
      add('scheme_unknown', `The scheme ${shown} is not one Jira's REST API accepts here: use "Basic" (base64 of username:secret) or "Bearer" (a personal access token or OAuth access token).`);
    }
  }
  return findings;
}

type Add = (code: LintCode, message: string) => void;

function lintBasic(rawCredentials: string, deployment: LintDeployment, add: Add): void {
  if (rawCredentials.trim() === '') {
    add('empty', 'The header has the Basic scheme but nothing after it: append base64 of username:secret.');
    return;
  }
  let encoded = rawCredentials;
  const inner = WHITESPACE_OR_CONTROL.exec(encoded);
  if (inner) {
    const isBreak = inner[0] === '\n' || inner[0] === '\r';
    add('whitespace', isBreak
      ? `The base64 part contains a line break at position ${inner.index + 1} of ${encoded.length}: the encoder wrapped its output (use \`base64 -w0\`, or an encoder without line wrapping).`
      : `The base64 part contains ${describeCharacter(inner[0])} at position ${inner.index + 1} of ${encoded.length}; base64 has no whitespace — remove it (only one space separates "Basic" from the credentials).`);
    encoded = encoded.replace(ALL_WHITESPACE_OR_CONTROL, '');
  }

  if (!BASE64.test(encoded) || encoded.length % 4 === 1) {
    const hint = encoded.includes(':')
      ? 'it contains ":", so it looks like username:secret pasted without encoding'
      : BASE64URL_ONLY.test(encoded) && /^[A-Za-z0-9_-]+={0,2}$/.test(encoded)
        ? 'it uses the URL-safe alphabet (- and _); Basic needs standard base64 (+ and /)'
        : 'it contains characters or padding that standard base64 does not allow';
    add('not_base64', `The part after "Basic" is not valid base64: ${hint}. Encode it with \`echo -n 'username:secret' | base64 -w0\`.`);
    return;
  }

  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    add('not_base64', 'The part after "Basic" decodes to binary data, not username:secret text: the secret itself may have been put there without base64-encoding "username:secret". Encode it with `echo -n \'username:secret\' | base64 -w0`.');
    return;
  }

  const decodedBreak = /(\r\n|\r|\n)+$/.exec(decoded);
  if (decodedBreak) {
    add('trailing_newline', `The decoded credentials end with ${describeBreak(decodedBreak[0])}, so Jira sees a different secret: this is the \`echo 'user:token' | base64\` mistake. Encode with \`echo -n 'user:token' | base64\` (no newline).`);
    decoded = decoded.slice(0, decodedBreak.index);
  }

  const colon = decoded.indexOf(':');
  if (colon < 0) {
    add('missing_colon', `The decoded credentials (${decoded.length} characters) contain no ":", so there is no username:secret pair. Encode "username:secret" (on Cloud "email:api_token"), not the token alone.`);
    return;
  }
  const username = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  for (const [part, text] of [['username', username], ['secret', secret]] as const) {
    if (text === '') add('empty', `The ${part} part of the decoded credentials is empty: encode "username:secret" with both parts.`);
    const bad = WHITESPACE_OR_CONTROL.exec(text);
    if (bad) add('whitespace', `The ${part} part contains ${describeCharacter(bad[0])} ${describePosition(bad.index, text.length)}; a stray character from copying changes the ${part} Jira sees. Remove it and re-encode.`);
  }

  const cleanSecret = secret.trim();
  if (isEncodedPair(cleanSecret)) {
    add('already_encoded', `The secret part (${cleanSecret.length} characters) is itself base64 of username:secret: it was encoded already, so Jira receives it encoded twice. Put only the bare API token (or password) in the secret; the username goes in username and authwatch encodes the pair.`);
    return;
  }
  const cloud = deployment === 'cloud' || (deployment === null && looksLikeCurrentCloudToken(cleanSecret));
  if (!cloud) return;
  if (username !== '' && !EMAIL.test(username.trim())) {
    add('username_not_email', 'On Jira Cloud the username part must be the account\'s email address; the username part here is not an email address. Use the email of the account that created the API token.');
  }
  if (cleanSecret !== '') lintCloudSecret(cleanSecret, add);
}

/** base64 that decodes to text of the form `user:secret` (an email before the colon, or both parts without spaces). */
function isEncodedPair(text: string): boolean {
  if (text.length < 8 || text.length % 4 !== 0 || !BASE64.test(text)) return false;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
  } catch {
    return false;
  }
  const colon = decoded.indexOf(':');
  return colon > 0 && colon < decoded.length - 1 && /^[\x21-\x7e]+$/.test(decoded.replace(/\n$/, ''));
}

function lintCloudSecret(secret: string, add: Add): void {
  if (looksLikeCloudToken(secret)) return;
  if (secret.startsWith(CLOUD_TOKEN_PREFIX)) {
    add('password_like_secret', `The secret part starts like a Cloud API token but is only ${secret.length} characters long (current tokens are about 190): it was probably cut off when copied. Copy the whole token again, or create a new one at id.atlassian.com → Security → API tokens.`);
    return;
  }
  add('password_like_secret', `The secret part (${secret.length} characters) does not look like a Jira Cloud API token (24 letters and digits, or about 190 characters starting with ${CLOUD_TOKEN_PREFIX}); Cloud does not accept account passwords over the API. Create an API token at id.atlassian.com → Security → API tokens and use it instead.`);
}

function lintBearer(token: string, deployment: LintDeployment, add: Add): void {
  if (token.trim() === '') {
    add('empty', 'The header has the Bearer scheme but no token after it.');
    return;
  }
  const bad = WHITESPACE_OR_CONTROL.exec(token);
  if (bad) add('whitespace', `The token contains ${describeCharacter(bad[0])} ${describePosition(bad.index, token.length)}; tokens have no whitespace — remove it.`);
  const clean = token.replace(ALL_WHITESPACE_OR_CONTROL, '');

  const cloudToken = looksLikeCurrentCloudToken(clean) || (deployment === 'cloud' && CLASSIC_CLOUD_TOKEN.test(clean));
  if (cloudToken && deployment !== 'datacenter') {
    add('bearer_api_token', 'This looks like a Jira Cloud API token sent with the Bearer scheme; Cloud only accepts API tokens as Basic credentials. Send "Basic " + base64 of "email:api_token" instead (Bearer is for OAuth access tokens).');
    return;
  }
  if (deployment === 'cloud' && looksLikeEncodedEmailPair(clean)) {
    add('bearer_api_token', 'The Bearer token is base64 of "email:…" — Basic credentials sent with the Bearer scheme. Use "Basic " followed by that value instead.');
  }
}

function looksLikeCloudToken(secret: string): boolean {
  return CLASSIC_CLOUD_TOKEN.test(secret) || looksLikeCurrentCloudToken(secret);
}

function looksLikeCurrentCloudToken(secret: string): boolean {
  return CURRENT_CLOUD_TOKEN.test(secret) && secret.length >= CURRENT_CLOUD_TOKEN_MIN_LENGTH;
}

function decodedPairUsername(token: string): string | null {
  if (!BASE64.test(token) || token.length % 4 === 1) return null;
  const decoded = Buffer.from(token, 'base64').toString('utf8').replace(/\r?\n$/, '');
  const colon = decoded.indexOf(':');
  return colon > 0 && !/[\p{Cc}\uFFFD]/u.test(decoded) ? decoded.slice(0, colon) : null;
}

function looksLikeEncodedPair(token: string): boolean {
  return decodedPairUsername(token) !== null;
}

function looksLikeEncodedEmailPair(token: string): boolean {
  const username = decodedPairUsername(token);
  return username !== null && EMAIL.test(username);
}

function findOuterWhitespace(header: string): string | null {
  const first = [...header][0];
  if (WHITESPACE_OR_CONTROL.test(first)) return `starts with ${describeCharacter(first)}`;
  const last = [...header].at(-1)!;
  if (WHITESPACE_OR_CONTROL.test(last)) return `ends with ${describeCharacter(last)}`;
  return null;
}

const CHARACTER_NAMES: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', ' ': 'a space' };

function describeCharacter(character: string): string {
  return CHARACTER_NAMES[character] ?? `the invisible character U+${character.codePointAt(0)!.toString(16).padStart(4, '0').toUpperCase()}`;
}

function describeBreak(lineBreak: string): string {
  if (lineBreak === '\r\n') return 'a CR LF line break (\\r\\n)';
  if (lineBreak === '\n') return 'a newline (\\n)';
  if (lineBreak === '\r') return 'a carriage return (\\r)';
  return `${lineBreak.length} line-break characters`;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
}

function describePosition(index: number, length: number): string {
  if (index === 0) return 'at the start';
  if (index === length - 1) return 'at the end';
  return `at position ${index + 1} of ${length}`;
}
