// `authwatch probe [NAME...]`: asks the running daemon (on its loopback listener) to probe now. Unlike `check`,
// the probe is the daemon's own: recorded, advancing the state and notifying like a scheduled one (a fixed
// credential resolves its incident), and held back by the lockout back-off like a scheduled one.
import type { Config } from '../config/load.js';
import type { ProbeNowView } from '../server/probe-now.js';
import { EXIT_CONFIG_ERROR, EXIT_NOT_OK, EXIT_OK, writeLine, type CliIO } from './io.js';
import { renderTable } from './table.js';
import { loadConfigOrReport } from './validate.js';

export interface ProbeCommandOptions {
  configPath: string;
  names: string[];
  /** The daemon's base URL; default: server.listen of the config, reached over loopback. */
  url: string | null;
  json: boolean;
}

/** Where this machine reaches the daemon: a wildcard listen address is reached on loopback. */
export function daemonUrl(config: Config): string {
  const { host, port } = config.listen;
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

type Answer = { name: string; status: number; view: ProbeNowView | null; error: string | null };

async function requestProbe(base: string, name: string): Promise<Answer> {
  const response = await fetch(`${base}/api/v1/connections/${encodeURIComponent(name)}/probe`, { method: 'POST' });
  const body = (await response.json().catch(() => null)) as Partial<ProbeNowView> & { error?: string } | null;
  if (body?.result) return { name, status: response.status, view: body as ProbeNowView, error: null };
  return { name, status: response.status, view: null, error: body?.error ?? `HTTP ${response.status}` };
}

export async function runProbe(options: ProbeCommandOptions, io: CliIO): Promise<number> {
  const config = loadConfigOrReport(options.configPath, io);
  if (!config) return EXIT_CONFIG_ERROR;
  const base = (options.url ?? daemonUrl(config)).replace(/\/+$/, '');
  const known = config.connections.map((connection) => connection.name);
  const unknown = options.names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    writeLine(io.stderr, `authwatch: no connection named ${unknown.join(', ')} in ${config.source} (known: ${known.join(', ')})`);
    return EXIT_CONFIG_ERROR;
  }
  const names = options.names.length > 0 ? options.names : known;
  let answers: Answer[];
  try {
    answers = await Promise.all(names.map((name) => requestProbe(base, name)));
  } catch (error) {
    const { cause } = error as { cause?: { code?: string; message?: string } };
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    writeLine(io.stderr, `authwatch: no daemon answers at ${base} (${reason}): is "authwatch run" running with this config? (or give its address with --url)`);
    return EXIT_NOT_OK;
  }
  if (options.json) {
    writeLine(io.stdout, JSON.stringify(answers.map((answer) => answer.view ?? { connection: answer.name, error: answer.error }), null, 2));
  } else {
    const rows = answers.map(({ name, view, error }) => {
      if (!view) return [name, '-', '-', error ?? ''];
      if (view.result === 'skipped') return [name, 'skipped', view.state, `lockout back-off until ${view.backoffUntil}: probing now would count as another failed login`];
      const outcome = view.outcome!;
      const change = view.change ? `${view.change.from} → ${view.change.to}` : view.state;
      const diagnosis = outcome.outcome === 'ok' ? (outcome.detail ?? outcome.explanation) : `${outcome.detail ?? ''} — ${outcome.explanation}`;
      const queued = view.result === 'queued' ? ' (not stored yet: the database refuses writes; it will be recorded when storage returns)' : '';
      return [name, outcome.outcome === 'ok' ? 'ok' : `✗ ${outcome.outcome}`, change, `${diagnosis}${queued}`];
    });
    writeLine(io.stdout, renderTable(['CONNECTION', 'OUTCOME', 'STATE', 'DIAGNOSIS'], rows));
  }
  return answers.every((answer) => answer.view?.result !== 'skipped' && answer.view?.outcome?.outcome === 'ok') ? EXIT_OK : EXIT_NOT_OK;
}
