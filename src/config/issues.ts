// Where a config problem is and what to say about it: schema issues turned into one line each (YAML path, line,
// the fix), plus the problems the schema cannot see (an empty config, an unusable storage.path, an alias bomb's line).
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { isNode, visit, type Document, type LineCounter } from 'yaml';
import type { z } from 'zod';
import { configSchema } from './schema.js';
import { allowedKeysAt, intendedKey, scheduleMessage, schemaIssueMessage, unknownKeyMessage } from './explain.js';
import type { ConfigIssue } from './load.js';

export function firstAliasLine(doc: Document, lineCounter: LineCounter): number | null {
  let line: number | null = null;
  visit(doc, {
    Alias(_, node) {
      if (node.range) line = lineCounter.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/** An empty file or `connections: []` is refused, as Gatus does: a daemon watching nothing looks healthy and is not. */
export function emptyConnectionsIssues(input: unknown, doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const top = input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : null;
  const connections = top ? top.connections : {};
  // `endpoints:` (Gatus) instead of `connections:` is said once, by its unknown-key line.
  if (top && Object.keys(top).some((key) => key !== 'connections' && intendedKey(key, allowedKeysAt(configSchema, [], input)) === 'connections')) return [];
  if (connections !== undefined && connections !== null && !(Array.isArray(connections) && connections.length === 0)) return [];
  return [
    {
      path: 'connections',
      line: connections === undefined ? null : lineOf(doc, lineCounter, ['connections'], true),
      message: 'is empty: authwatch would watch nothing; add at least one connection (name, url, auth), see docs/configuration.md',
    },
  ];
}

/**
 * What can never work as storage.path, whoever runs authwatch: a directory, or a path under a regular file.
 * (Whether the daemon's user may write there is checked when the daemon starts: see storagePathProblem.)
 */
export function storagePathIssues(path: string | undefined, doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  if (path === undefined) return [];
  const problem = storagePathProblem(path, false);
  return problem ? [{ path: 'storage.path', line: lineOf(doc, lineCounter, ['storage', 'path']), message: problem }] : [];
}

/** Why the database file cannot be created at `path`, or null; `writable` also checks this process may write there. */
export function storagePathProblem(path: string, writable: boolean): string | null {
  const absolute = resolvePath(path);
  const self = statOrNull(absolute);
  if (self?.isDirectory()) return `${path} is a directory: give a file path inside it, e.g. storage.path: ${absolute.replace(/\/$/, '')}/authwatch.db`;
  let dir = dirname(absolute);
  let stat = statOrNull(dir);
  while (!stat && dir !== dirname(dir)) {
    dir = dirname(dir);
    stat = statOrNull(dir);
  }
  if (stat && !stat.isDirectory()) return `${dir} is a file, not a directory, so ${path} cannot be created there: choose a path in a directory, e.g. /var/lib/authwatch/authwatch.db`;
  if (!writable) return null;
  try {
    accessSync(self ? absolute : dir, constants.W_OK);
  } catch {
    return `${self ? absolute : dir} is not writable by this user: give it to the user authwatch runs as (systemd: StateDirectory=authwatch) or choose another storage.path`;
  }
  return null;
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Schema issues as lines; an issue whose cause another line already names (a typo'd key, a mis-indented block) is left out. */
/** proxy: "none" | { url, auth }: an object that fails is described by the object branch's own issues. */
function expandProxyIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  const path = issue.path as (string | number)[];
  if (issue.code === 'invalid_union' && path[path.length - 1] === 'proxy' && issue.errors[1]?.length) {
    return issue.errors[1].flatMap((inner) => expandProxyIssue({ ...inner, path: [...path, ...inner.path] } as z.core.$ZodIssue));
  }
  return [issue];
}

export function describeIssues(rawIssues: z.core.$ZodIssue[], input: unknown, doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const zodIssues = rawIssues.flatMap(expandProxyIssue);
  const unknownKeys = zodIssues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => ({ parent: issue.path as (string | number)[], key })) : [],
  );
  const samePath = (a: (string | number)[], b: (string | number)[]) => a.length === b.length && a.every((part, i) => part === b[i]);
  const consumed = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    if (issue.code === 'unrecognized_keys') continue;
    const path = issue.path as (string | number)[];
    const parent = path.slice(0, -1);
    const key = path[path.length - 1];
    const value = doc.getIn(path);
    const present = value !== undefined;
    const plain: unknown = isNode(value) ? value.toJSON() : value;
    if (path.length === 1 && key === 'connections' && plain === null) continue; // said by emptyConnectionsIssues
    // An empty block whose settings sit beside it instead of under it: `auth:` followed by unindented keys.
    if (issue.code === 'invalid_type' && present && plain === null) {
      const belong = allowedKeysAt(configSchema, path, input);
      const stray = unknownKeys.filter((u) => samePath(u.parent, parent) && belong.includes(u.key)).map((u) => u.key);
      if (stray.length > 0) {
        stray.forEach((k) => consumed.add(formatPath([...parent, k])));
        issues.push({
          path: formatPath(path),
          line: lineOf(doc, lineCounter, path),
          message: `is empty, and ${stray.join(', ')} below it ${stray.length === 1 ? 'is' : 'are'} not indented under it: indent ${stray.length === 1 ? 'it' : 'them'} two more spaces than "${String(key)}:"`,
        });
        continue;
      }
    }
    // "username is required" beside an unknown "usernme": the did-you-mean line says it all.
    if (!present && typeof key === 'string') {
      const allowed = allowedKeysAt(configSchema, parent, input);
      if (unknownKeys.some((u) => samePath(u.parent, parent) && intendedKey(u.key, allowed) === key)) continue;
    }
    const message = key === 'schedule' && present ? scheduleMessage(plain) : schemaIssueMessage(issue, present, plain);
    issues.push({ path: formatPath(path), line: lineOf(doc, lineCounter, path), message });
  }
  for (const { parent, key } of unknownKeys) {
    const path = [...parent, key];
    if (consumed.has(formatPath(path))) continue;
    issues.push({ path: formatPath(path), line: lineOf(doc, lineCounter, path, true), message: unknownKeyMessage(key, allowedKeysAt(configSchema, parent, input)) });
  }
  return issues;
}

export function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

/** Line of the deepest node on the path that exists in the YAML (the key itself when asked). */
export function lineOf(doc: Document, lineCounter: LineCounter, path: (string | number)[], keyLine = false): number | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    if (keyLine || depth < path.length) {
      const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : prefix.length === 1 ? doc.contents : null;
      const pair = findPair(parent, prefix[prefix.length - 1]);
      if (pair !== null) return lineCounter.linePos(pair).line;
    }
    const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return null;
}

function findPair(parent: unknown, key: string | number | undefined): number | null {
  if (key === undefined || !parent || typeof parent !== 'object' || !('items' in parent)) return null;
  for (const item of (parent as { items: unknown[] }).items) {
    if (item && typeof item === 'object' && 'key' in item) {
      const keyNode = (item as { key: unknown }).key;
      if (isNode(keyNode) && (keyNode as { value?: unknown }).value === key && keyNode.range) return keyNode.range[0];
    }
  }
  return null;
}
