// Running the real operations tools (systemd-analyze, promtool, amtool, prometheus) against the files in deploy/ and grafana/.
// A missing tool is a failure with a clear message, never a skipped test: CI installs them (.ci/run).
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/support/ where this file runs compiled. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

/** Which Debian package brings each tool, for the failure message. */
const DEBIAN_PACKAGE: Record<string, string> = {
  openssl: 'openssl',
  'systemd-analyze': 'systemd',
  promtool: 'prometheus',
  prometheus: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'prometheus-alertmanager': 'prometheus-alertmanager',
};

/** Absolute path of an executable on PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The tool's path; throws a message that says how to install it when it is missing. */
export function requireTool(name: string): string {
  const found = findOnPath(name);
  if (found) return found;
  const pkg = DEBIAN_PACKAGE[name];
  throw new Error(
    `${name} is not installed (not found on PATH). ` +
      (pkg ? `Install it with: apt-get install --no-install-recommends ${pkg} (.ci/run does this on CI).` : ''),
  );
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; never throws for a non-zero exit (the caller asserts on it). */
export function runTool(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')} could not run: ${error.message}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** For assertion messages: what the tool said. */
export function describeRun(result: ToolResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
