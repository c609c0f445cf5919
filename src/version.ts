import { readFileSync } from 'node:fs';

// package.json sits two levels above dist/src/version.js and one above src/version.ts.
function readVersion(): string {
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'authwatch' && parsed.version) return parsed.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
