// `authwatch check [NAME...] [--json]`: probe now, print one row per connection with outcome and diagnosis.
// Touches no database: the credential fingerprint key is random for this run.
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import type { Config, Connection } from '../config/load.js';
import { createProber, SecureContextCache } from '../probe/prober.js';
import { classify } from '../diagnosis/classify.js';
import { describeOutcome } from '../diagnosis/outcomes.js';
import type { ProbeObservation } from '../probe/observation.js';
import type { Diagnosis } from '../diagnosis/types.js';
import { EXIT_CONFIG_ERROR, EXIT_NOT_OK, EXIT_OK, writeLine, type CliIO } from './io.js';
import { loadConfigOrReport } from './validate.js';
import { renderTable } from './table.js';

const CHECK_CONCURRENCY = 16;

export interface CheckResult {
  connection: Connection;
  observation: ProbeObservation;
  diagnosis: Diagnosis;
}

export async function probeAndClassify(connections: Connection[], env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const fingerprintKey = randomBytes(32);
  const limit = pLimit(CHECK_CONCURRENCY);
  const secureContexts = new SecureContextCache();
  return Promise.all(
    connections.map((connection) =>
      limit(async () => {
        const prober = createProber(connection, { fingerprintKey, env, secureContexts });
        try {
          const observation = await prober.probe();
          const diagnosis = classify(observation, {
            deployment: connection.deployment,
            authType: connection.auth.type,
            expect: connection.expect,
            serverName: connection.tls.serverName,
          });
          return { connection, observation, diagnosis };
        } finally {
          prober.close();
        }
      }),
    ),
  );
}

export async function runCheck(options: { configPath: string; names: string[]; json: boolean }, io: CliIO): Promise<number> {
  const config = loadConfigOrReport(options.configPath, io);
  if (!config) return EXIT_CONFIG_ERROR;
  const selected = selectConnections(config, options.names, io);
  if (!selected) return EXIT_CONFIG_ERROR;
  for (const warning of config.warnings) writeLine(io.stderr, `warning: ${warning}`);

  const results = await probeAndClassify(selected, io.env);
  if (options.json) writeLine(io.stdout, JSON.stringify(checkReport(results), null, 2));
  else writeLine(io.stdout, renderCheck(results));
  return results.every((result) => result.diagnosis.outcome === 'ok') ? EXIT_OK : EXIT_NOT_OK;
}

function selectConnections(config: Config, names: string[], io: CliIO): Connection[] | null {
  if (names.length === 0) return config.connections;
  const known = new Map(config.connections.map((connection) => [connection.name, connection]));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    writeLine(io.stderr, `authwatch: no connection named ${unknown.join(', ')} in ${config.source} (known: ${[...known.keys()].join(', ') || 'none'})`);
    return null;
  }
  return names.map((name) => known.get(name)!);
}

/** The stable `--json` shape (documented in docs/cli.md). */
export function checkReport(results: CheckResult[]) {
  const connections = results.map(({ connection, observation, diagnosis }) => {
    const guide = describeOutcome(diagnosis.outcome, connection.deployment);
    return {
      name: connection.name,
      url: connection.probeUrl,
      deployment: connection.deployment,
      authType: connection.auth.type,
      ok: diagnosis.outcome === 'ok',
      outcome: diagnosis.outcome,
      class: diagnosis.class,
      detail: diagnosis.detail,
      explanation: guide.explanation,
      remediation: diagnosis.outcome === 'ok' ? [] : guide.remediation,
      httpStatus: observation.http?.status ?? null,
      headers: observation.http?.headers ?? {},
      // An ok answer's body is the account record itself, not a message from the server.
      serverMessage: diagnosis.outcome === 'ok' ? null : (observation.http?.message ?? null),
      identity: observation.identity,
      credential: {
        status: observation.credential.status,
        problem: observation.credential.problem,
        fingerprint: observation.credential.fingerprint,
        findings: observation.credential.findings,
      },
      tls: observation.tls,
      proxy: observation.proxy ?? null,
      clientCertificate: observation.clientCertificate ?? null,
      oauth: observation.oauth,
      error: observation.error,
      timings: observation.timings,
      startedAt: observation.startedAt,
    };
  });
  const okCount = connections.filter((connection) => connection.ok).length;
  return { summary: { total: connections.length, ok: okCount, notOk: connections.length - okCount }, connections };
}

function formatLatency(seconds: number | null): string {
  return seconds === null ? '-' : `${Math.round(seconds * 1000)} ms`;
}

/** The table and the summary line; `details: false` leaves out each failure's explanation and remediation (the demo's one screen). */
export function renderCheck(results: CheckResult[], { details = true }: { details?: boolean } = {}): string {
  const rows = results.map(({ connection, observation, diagnosis }) => [
    connection.name,
    diagnosis.outcome === 'ok' ? 'ok' : `✗ ${diagnosis.outcome}`,
    observation.http ? String(observation.http.status) : '-',
    observation.tls?.protocol ?? '-',
    formatLatency(observation.timings.total),
    diagnosis.outcome === 'ok' ? okSummary(observation) : diagnosis.detail,
  ]);
  const lines = [renderTable(['CONNECTION', 'OUTCOME', 'HTTP', 'TLS', 'LATENCY', 'DIAGNOSIS'], rows)];

  const failures = results.filter((result) => result.diagnosis.outcome !== 'ok');
  for (const { connection, diagnosis } of details ? failures : []) {
    const guide = describeOutcome(diagnosis.outcome, connection.deployment);
    lines.push('', `${connection.name}: ${diagnosis.outcome} — ${guide.explanation}`, `  seen: ${diagnosis.detail}`, '  what to do:');
    guide.remediation.forEach((step, index) => lines.push(`    ${index + 1}. ${step}`));
  }
  const okCount = results.length - failures.length;
  lines.push('', `${okCount} of ${results.length} connection${results.length === 1 ? '' : 's'} authenticated.`);
  return lines.join('\n');
}

/** Who the credentials authenticated as: the id `expect` can pin (accountId on Cloud, username on DC) and the email. */
function okSummary(observation: ProbeObservation): string {
  const who = observation.identity;
  const id = who?.accountId ? `accountId ${who.accountId}` : who?.name ? `username ${who.name}` : null;
  const parts = [id, who?.emailAddress].filter(Boolean);
  return parts.length > 0 ? `authenticated as ${parts.join(', ')}` : 'authenticated';
}
