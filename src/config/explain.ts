// Turns what the YAML parser and the schema say into one line a person can act on: what is wrong and the fix
// ("add a unit: 15s", "did you mean username?", "quote it"). Pure: the caller supplies the value found at the path.
import type { z } from 'zod';

type Path = (string | number)[];

/** Keys people bring from other tools or guess, and where authwatch wants them. */
const FOREIGN_KEYS: Record<string, { use: string; why: string }> = {
  interval: { use: 'schedule', why: `authwatch's word for Gatus's "interval" is "schedule", a cron expression (e.g. schedule: "*/5 * * * *")` },
  cron: { use: 'schedule', why: `the cron expression goes in "schedule" (e.g. schedule: "*/5 * * * *")` },
  endpoints: { use: 'connections', why: `authwatch's word for Gatus's "endpoints" is "connections"` },
  password: { use: 'secret', why: 'the password goes in "secret", as { env: NAME } or { file: PATH }' },
  token: { use: 'secret', why: 'the token goes in "secret", as { env: NAME } or { file: PATH }' },
  apiToken: { use: 'secret', why: 'the API token goes in "secret", as { env: NAME } or { file: PATH }' },
  api_token: { use: 'secret', why: 'the API token goes in "secret", as { env: NAME } or { file: PATH }' },
  user: { use: 'username', why: 'the account (Cloud: its email; Data Center: its username) goes in "username"' },
  email: { use: 'username', why: 'the account email goes in "username"' },
  login: { use: 'username', why: 'the account goes in "username"' },
  host: { use: 'url', why: 'the Jira base URL goes in "url" (e.g. url: https://acme.atlassian.net)' },
  baseUrl: { use: 'url', why: 'the Jira base URL goes in "url" (e.g. url: https://acme.atlassian.net)' },
  base_url: { use: 'url', why: 'the Jira base URL goes in "url" (e.g. url: https://acme.atlassian.net)' },
};

/** Default unit suggested for a bare number, per duration key. */
const DURATION_UNITS: Record<string, string> = {
  timeout: 's',
  retention: 'd',
  rollupRetention: 'd',
  reminderInterval: 'h',
  certExpiryWarning: 'd',
  tokenExpiryWarning: 'd',
};
const DURATION_HINT = 'a duration such as 500ms, 15s, 5m, 1h or 14d';
const WORD_UNITS: Record<string, string> = {
  millisecond: 'ms', milliseconds: 'ms', msec: 'ms', second: 's', seconds: 's', sec: 's', secs: 's',
  minute: 'm', minutes: 'm', min: 'm', mins: 'm', hour: 'h', hours: 'h', hr: 'h', hrs: 'h',
  day: 'd', days: 'd', week: 'w', weeks: 'w',
};

const AUTH_TYPE_HINTS: Record<string, string> = {
  pat: 'a Data Center personal access token is type: bearer',
  personal_access_token: 'a Data Center personal access token is type: bearer',
  token: 'a Data Center personal access token is type: bearer; a Cloud API token is type: basic with the account email as username',
  api_token: 'a Cloud API token is type: basic with the account email as username',
  apitoken: 'a Cloud API token is type: basic with the account email as username',
  password: 'a username and password is type: basic',
  oauth: 'OAuth 2.0 client credentials is type: oauth2',
};

const REQUIRED_HINTS: Record<string, string> = {
  name: 'is required: a-z, 0-9, _ and -, e.g. name: salesforce-to-jira',
  url: 'is required: the Jira base URL, e.g. url: https://acme.atlassian.net',
  auth: 'is required: how the integration logs in, e.g. auth: { type: basic, username: bot@acme.com, secret: { env: JIRA_TOKEN } }',
  username: 'is required: Cloud: the account email; Data Center: the username',
  secret: 'is required: { env: NAME } or { file: PATH }',
};

const ENUM_HINTS: Record<string, Record<string, string>> = {
  deployment: { server: "Jira Server is Data Center's predecessor: use datacenter" },
};

/** Optimal string alignment distance (a swap of two neighbours counts as one edit). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest allowed word, if it is close enough to be a typo (case, _ and - are ignored). */
export function closest(word: string, allowed: readonly string[]): string | null {
  const fold = (text: string) => text.toLowerCase().replace(/[_-]/g, '');
  let best: { word: string; distance: number } | null = null;
  for (const candidate of allowed) {
    const distance = editDistance(fold(word), fold(candidate));
    if (!best || distance < best.distance) best = { word: candidate, distance };
  }
  if (!best) return null;
  const limit = fold(word).length <= 4 ? 1 : 2;
  return best.distance <= limit ? best.word : null;
}

/** What to say about an unknown key, given the keys allowed beside it. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const foreign = FOREIGN_KEYS[key];
  if (foreign && allowed.includes(foreign.use)) return `unknown key "${key}": ${foreign.why}`;
  const suggestion = closest(key, allowed);
  if (suggestion) return `unknown key "${key}"; did you mean "${suggestion}"?`;
  return `unknown key "${key}" (allowed here: ${allowed.join(', ')})`;
}

/** The key an unknown key most likely meant, if any (so "is required" for that key can be left unsaid). */
export function intendedKey(key: string, allowed: readonly string[]): string | null {
  const foreign = FOREIGN_KEYS[key];
  if (foreign && allowed.includes(foreign.use)) return foreign.use;
  return closest(key, allowed);
}

function kindOf(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/** A bare number or "90 days" as the duration it was meant to be. */
function durationFix(key: string, value: unknown): string | null {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return `${value}${DURATION_UNITS[key] ?? 's'}`;
  if (typeof value !== 'string') return null;
  const match = /^\s*(\d+)\s*([a-zA-Z]+)\s*$/.exec(value);
  if (!match) return null;
  const unit = WORD_UNITS[match[2].toLowerCase()] ?? (/^(ms|s|m|h|d|w)$/i.test(match[2]) ? match[2].toLowerCase() : null);
  return unit ? `${match[1]}${unit}` : null;
}

export function isDurationKey(key: string | number | undefined): boolean {
  return typeof key === 'string' && key in DURATION_UNITS;
}

export function durationMessage(key: string, value: unknown): string {
  const fix = durationFix(key, value);
  if (typeof value === 'number' && fix) return `${value} has no unit: add one, e.g. ${key}: ${fix} (${DURATION_HINT})`;
  if (fix) return `must be ${DURATION_HINT}: write ${key}: ${fix}`;
  return `must be ${DURATION_HINT}`;
}

/** A schedule that is not a cron expression: a duration or "@every" as Gatus writes it gets the cron for it. */
export function scheduleMessage(value: unknown): string {
  const base = 'must be a cron expression with 5 fields, or 6 with seconds first (e.g. "*/5 * * * *")';
  const text = typeof value === 'string' ? value.replace(/^@every\s+/, '').trim() : typeof value === 'number' ? '' : null;
  if (typeof value === 'number') return `${base}, quoted`;
  const match = text ? /^(\d+)(s|m|h)$/.exec(text) : null;
  if (!match) return base;
  const amount = Number(match[1]);
  const cronFor: Record<string, string> = { s: `*/${amount} * * * * *`, m: `*/${amount} * * * *`, h: `0 */${amount} * * *` };
  return `is a cron expression, not a duration: every ${text} is schedule: "${cronFor[match[2]]}"`;
}

/** One schema issue as one sentence, given the value the config has at the issue's path. */
export function schemaIssueMessage(issue: z.core.$ZodIssue, present: boolean, value: unknown): string {
  const path = issue.path as Path;
  const key = path[path.length - 1];
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    if (!present) return 'is required: basic, bearer, header or oauth2';
    const hint = typeof value === 'string' ? AUTH_TYPE_HINTS[value.toLowerCase()] : undefined;
    const suggestion = typeof value === 'string' ? closest(value, ['basic', 'bearer', 'header', 'oauth2']) : null;
    return `must be one of basic, bearer, header, oauth2${hint ? ` (${hint})` : suggestion ? `; did you mean "${suggestion}"?` : ''}`;
  }
  if (!present && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) return REQUIRED_HINTS[String(key)] ?? 'is required';
  if (key === 'name' && issue.code === 'invalid_format' && typeof value === 'string') {
    return `must use only a-z, 0-9, _ and -, e.g. name: ${value.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'jira'}`;
  }
  if (isDurationKey(key) && (issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_format')) {
    return durationMessage(String(key), value);
  }
  if (issue.code === 'invalid_union') return secretMessage(value);
  if (issue.code === 'invalid_value' && 'values' in issue) {
    const values = issue.values.map(String);
    const text = typeof value === 'string' || typeof value === 'number' ? String(value) : null;
    const hint = text === null ? undefined : ENUM_HINTS[String(key)]?.[text.toLowerCase()];
    const suggestion = text === null ? undefined : closest(text, values) ?? values.find((v) => v.endsWith(`v${text}`));
    return `must be one of ${values.join(', ')}${hint ? ` (${hint})` : suggestion ? `; did you mean "${suggestion}"?` : ''}`;
  }
  if (key === 'listen' && typeof value === 'number') return `must be host:port: write listen: "127.0.0.1:${value}"`;
  if (issue.code === 'invalid_type') return typeMessage(issue.expected, value);
  if (issue.code === 'too_small' && issue.origin === 'array') return 'must list at least one';
  if (issue.code === 'too_small' && issue.origin === 'string') return 'must not be empty';
  if (issue.code === 'too_small' && issue.origin === 'number') return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'invalid_format' && issue.format === 'date') return 'must be a date written YYYY-MM-DD, e.g. 2026-12-31';
  return issue.message;
}

function typeMessage(expected: string, value: unknown): string {
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return `must be text: quote it ("${String(value)}")`;
  if (expected === 'number' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return `must be a number: write ${value.trim()} without quotes`;
  if (expected === 'number') return `must be a whole number, e.g. 2 (not ${kindOf(value)})`;
  if (expected === 'array' && value !== null && typeof value === 'object') return 'must be a list: start each entry with "- "';
  if (expected === 'array') return `must be a list of entries each starting with "- " (not ${kindOf(value)})`;
  if (expected === 'object' && value === null) return 'is empty: give its settings on the lines below it, indented two more spaces';
  if (expected === 'object' && Array.isArray(value)) return 'must be a mapping of key: value lines, not a list: remove the "- "';
  if (expected === 'object') return `must be a mapping of key: value lines indented below it, not ${kindOf(value)}`;
  if (expected === 'string') return `must be text, not ${kindOf(value)}`;
  return `must be ${expected}, not ${kindOf(value)}`;
}

function secretMessage(value: unknown): string {
  const base = 'must be { env: NAME }, { file: PATH } or a string';
  if (value === null) return `is empty: ${base}`;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.includes('env') && keys.includes('file')) return `${base}: give env or file, not both`;
    const stray = keys.find((k) => k !== 'env' && k !== 'file');
    const suggestion = stray ? closest(stray, ['env', 'file']) : null;
    if (stray && suggestion) return `unknown key "${stray}"; did you mean "${suggestion}"? (${base})`;
  }
  return base;
}

/** YAML's own error codes and the usual causes, said as the fix. `lineText` is the source line of the error. */
export function yamlSyntaxMessage(code: string, message: string, lineText: string): string {
  const alias = /^\s*(?:-\s+)?([^\s:#][^:#]*?):\s+(\*[^#]*?)\s*$/.exec(lineText) ?? /^\s*-\s+(\*[^#]*?)\s*$/.exec(lineText);
  if (alias && (code === 'BAD_ALIAS' || code === 'UNEXPECTED_TOKEN' || /alias/i.test(message))) {
    const [key, value] = alias.length === 3 ? [alias[1], alias[2]] : [null, alias[1]];
    return `YAML syntax: a value starting with * is read as a YAML alias: quote it, ${key ? `${key}: ` : '- '}"${value}"`;
  }
  if (code === 'TAB_AS_INDENT') return 'YAML syntax: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces';
  if (code === 'DUPLICATE_KEY') return 'YAML syntax: a key given twice in the same mapping: keep one';
  if (code === 'MULTIPLE_DOCS') return 'YAML syntax: more than one document (a second ---): the config is one document';
  if (code === 'MULTILINE_IMPLICIT_KEY') return 'YAML syntax: a line that is not "key: value": is the ":" (and a space) after the key missing?';
  if (code === 'BLOCK_AS_IMPLICIT_KEY') return 'YAML syntax: two "key:" on one line: put each key on its own line, or quote a value that contains ": "';
  if (/closing "quote|closing 'quote/.test(message)) return 'YAML syntax: a quoted value is never closed: add the closing quote where the value ends';
  if (code === 'BAD_INDENT' || /without - indicator|indent/i.test(message)) return 'YAML syntax: this line is indented differently from the keys above it: line it up with them';
  if (/call stack|stack overflow/i.test(message)) return 'YAML nests far deeper than any authwatch config (at most 6 levels): is this the right file?';
  return `YAML syntax: ${message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
}

/** The keys a mapping at `path` may have, read from the schema (a discriminated union by the input's `type`). */
export function allowedKeysAt(schema: z.ZodType, path: Path, input: unknown): string[] {
  let node: z.ZodType | null = schema;
  let value: unknown = input;
  for (const part of path) {
    node = node ? step(unwrap(node), part, value) : null;
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[part] : undefined;
  }
  return node ? keysOf(unwrap(node), value) : [];
}

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[]; discriminator?: string; valueType?: z.ZodType; in?: z.ZodType };
const defOf = (node: z.ZodType): Def => (node as unknown as { _zod: { def: Def } })._zod.def;

function unwrap(node: z.ZodType): z.ZodType {
  let current = node;
  for (let def = defOf(current); ; def = defOf(current)) {
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}

function pickOption(def: Def, value: unknown): z.ZodType | null {
  const objects = (def.options ?? []).map(unwrap).filter((option) => defOf(option).type === 'object');
  if (def.discriminator && value && typeof value === 'object') {
    const wanted = (value as Record<string, unknown>)[def.discriminator];
    const match = objects.find((option) => {
      const literal = defOf(option).shape?.[def.discriminator!];
      return literal && (defOf(literal) as { values?: unknown[] }).values?.includes(wanted);
    });
    if (match) return match;
  }
  return objects.length === 1 ? objects[0] : null;
}

function step(node: z.ZodType, part: string | number, value: unknown): z.ZodType | null {
  const def = defOf(node);
  if (def.type === 'object') return def.shape?.[String(part)] ?? null;
  if (def.type === 'array') return def.element ?? null;
  if (def.type === 'record') return def.valueType ?? null;
  if (def.type === 'union') {
    const option = pickOption(def, value);
    return option ? step(option, part, value) : null;
  }
  return null;
}

function keysOf(node: z.ZodType, value: unknown): string[] {
  const def = defOf(node);
  if (def.type === 'object') return Object.keys(def.shape ?? {});
  if (def.type === 'union') {
    const option = pickOption(def, value);
    if (option) return keysOf(option, value);
    return [...new Set((def.options ?? []).map(unwrap).flatMap((o) => (defOf(o).type === 'object' ? Object.keys(defOf(o).shape ?? {}) : [])))];
  }
  return [];
}
