// `authwatch explain-header [--deployment cloud|datacenter]`: lint an Authorization header value read from stdin,
// offline (docs/cli.md). Exit 0 with no findings, 1 with any. Never prints the value or any part of it.
import { lintAuthorizationHeader, type LintDeployment, type LintFinding } from '../diagnosis/header-lint.js';
import { EXIT_NOT_OK, EXIT_OK, writeLine, type CliIO } from './io.js';

export async function runExplainHeader(options: { deployment: LintDeployment }, io: CliIO): Promise<number> {
  if ((io.stdin as { isTTY?: boolean }).isTTY) {
    writeLine(io.stderr, 'Paste the Authorization header value, then press Ctrl-D (or pipe it: `printf %s "$VALUE" | authwatch explain-header`).');
  }
  const input = await readAll(io.stdin);
  const findings = lintAuthorizationHeader(headerValueFromInput(input), options.deployment);
  for (const line of renderFindings(findings, options.deployment)) writeLine(io.stdout, line);
  return findings.length === 0 ? EXIT_OK : EXIT_NOT_OK;
}

/**
 * The header value as typed or piped. Exactly one trailing line break is taken as the one the shell or terminal
 * added (`echo "Basic …" |`, Ctrl-D after Enter, `<<<`), not part of the header; a second one is the header's own.
 * A newline inside the base64-decoded credentials is not touched here and is reported by the lint.
 * An optional leading `Authorization:` header name (as copied from curl -v or a HAR) is dropped.
 */
export function headerValueFromInput(input: string): string {
  const withoutShellNewline = input.replace(/\r?\n$/, '');
  return withoutShellNewline.replace(/^[ \t]*authorization[ \t]*:[ \t]*/i, '');
}

export function renderFindings(findings: readonly LintFinding[], deployment: LintDeployment): string[] {
  const scope = deployment === null ? 'structure only; add --deployment cloud or datacenter to also check the username and secret shape' : `deployment ${deployment}`;
  if (findings.length === 0) return [`no findings (${scope})`];
  const width = Math.max(...findings.map((finding) => finding.code.length));
  return [
    `${findings.length} finding${findings.length === 1 ? '' : 's'} (${scope}):`,
    ...findings.map((finding) => `${finding.severity === 'error' ? 'error  ' : 'warning'}  ${finding.code.padEnd(width)}  ${finding.message}`),
  ];
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
