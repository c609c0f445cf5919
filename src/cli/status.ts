// `authwatch status` and `authwatch history`: read the daemon's database (read-only, safe while it writes).
import { existsSync } from 'node:fs';
import { parseDuration } from '../config/duration.js';
import type { Closable, ReadStore } from '../store/ports.js';
import { openStore, StoreError } from '../store/store.js';
import type { ConnectionSummary, HourlySummary, StoredEvent, StoredProbe } from '../store/types.js';
import { describeOutcome } from '../diagnosis/outcomes.js';
import { EXIT_CONFIG_ERROR, EXIT_OK, writeLine, type CliIO } from './io.js';
import { loadConfigOrReport } from './validate.js';
import { renderTable } from './table.js';

function openDatabase(configPath: string, io: CliIO): (ReadStore & Closable) | null {
  const config = loadConfigOrReport(configPath, io);
  if (!config) return null;
  if (!existsSync(config.storage.path)) {
    writeLine(io.stderr, `authwatch: no database at ${config.storage.path} yet: start the daemon (authwatch run) first`);
    return null;
  }
  try {
    return openStore(config.storage.path, { readonly: true });
  } catch (error) {
    if (error instanceof StoreError) {
      writeLine(io.stderr, `authwatch: ${error.message}`);
      return null;
    }
    throw error;
  }
}

export function statusReport(summaries: ConnectionSummary[]) {
  return summaries.map((summary) => ({
    name: summary.name,
    url: summary.url + summary.path,
    deployment: summary.deployment,
    authType: summary.authType,
    state: summary.state.state,
    since: summary.state.since,
    lastOutcome: summary.state.lastOutcome,
    lastAuthOutcome: summary.state.lastAuthOutcome,
    detail: summary.lastProbe?.detail ?? null,
    httpStatus: summary.lastProbe?.httpStatus ?? null,
    lastProbeAt: summary.state.lastProbeAt,
    lastSuccessAt: summary.state.lastSuccessAt,
    consecutiveFailures: summary.state.consecutiveFailures,
    backoffUntil: summary.state.backoffUntil,
    tls: summary.lastProbe?.tls ?? null,
  }));
}

export function runStatus(options: { configPath: string; json: boolean }, io: CliIO): number {
  const store = openDatabase(options.configPath, io);
  if (!store) return EXIT_CONFIG_ERROR;
  try {
    const report = statusReport(store.listStates());
    if (options.json) {
      writeLine(io.stdout, JSON.stringify({ connections: report }, null, 2));
      return EXIT_OK;
    }
    const rows = report.map((row) => [
      row.name,
      row.state,
      row.since ?? '-',
      row.lastOutcome ?? '-',
      row.lastSuccessAt ?? 'never',
      String(row.consecutiveFailures),
      row.detail ?? '',
    ]);
    writeLine(io.stdout, renderTable(['CONNECTION', 'STATE', 'SINCE', 'LAST OUTCOME', 'LAST SUCCESS', 'FAILURES', 'DETAIL'], rows));
    return EXIT_OK;
  } finally {
    store.close();
  }
}

export function runHistory(options: { configPath: string; name: string; since: string; limit: number; json: boolean }, io: CliIO): number {
  let sinceMs: number;
  try {
    sinceMs = parseDuration(options.since);
  } catch (error) {
    writeLine(io.stderr, `authwatch: --since ${(error as Error).message}`);
    return EXIT_CONFIG_ERROR;
  }
  const store = openDatabase(options.configPath, io);
  if (!store) return EXIT_CONFIG_ERROR;
  try {
    const known = store.listStates({ includeRemoved: true }).find((summary) => summary.name === options.name);
    if (!known) {
      writeLine(io.stderr, `authwatch: no recorded connection named ${options.name}`);
      return EXIT_CONFIG_ERROR;
    }
    const { probes, events, hours, hoursBefore } = store.history(options.name, new Date(Date.now() - sinceMs), options.limit);
    if (options.json) {
      writeLine(io.stdout, JSON.stringify({ connection: options.name, probes: probes.map(probeJson), hoursBefore, hours, events }, null, 2));
      return EXIT_OK;
    }
    writeLine(io.stdout, renderHistory(probes, events, hours, hoursBefore, known.deployment));
    return EXIT_OK;
  } finally {
    store.close();
  }
}

function probeJson(probe: StoredProbe) {
  const { observation } = probe;
  return {
    id: probe.id,
    startedAt: probe.startedAt,
    outcome: probe.outcome,
    class: probe.class,
    detail: probe.detail,
    httpStatus: observation.http?.status ?? null,
    headers: observation.http?.headers ?? {},
    identity: observation.identity,
    credentialFingerprint: observation.credential.fingerprint,
    tls: observation.tls,
    error: observation.error,
    timings: observation.timings,
  };
}

function renderHistory(probes: StoredProbe[], events: StoredEvent[], hours: HourlySummary[], hoursBefore: string | null, deployment: ConnectionSummary['deployment']): string {
  const lines = events.map((event) => ({
    at: event.at,
    text: event.kind === 'state_changed' ? `state ${event.from} → ${event.to}` : `${event.kind} ${JSON.stringify(event.details)}`,
  }));
  for (const probe of probes) {
    const status = probe.observation.http ? `HTTP ${probe.observation.http.status}` : 'no response';
    lines.push({ at: probe.startedAt, text: `${probe.outcome.padEnd(22)} ${status.padEnd(11)} ${probe.detail}` });
  }
  for (const hour of hours) lines.push({ at: hour.hour, text: hourText(hour) });
  lines.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  if (lines.length === 0 && !hoursBefore) return 'nothing recorded in that period';
  const rendered = lines.map((line) => `${line.at}  ${line.text}`);
  if (hoursBefore) {
    const first = lines.findIndex((line) => line.at < hoursBefore);
    rendered.splice(first === -1 ? rendered.length : first, 0, `---- before ${hoursBefore}: one line per hour (raw probes are kept for storage.retention) ----`);
  }
  const latestFailure = probes.find((probe) => probe.outcome !== 'ok');
  const footer = latestFailure ? ['', `latest failure: ${latestFailure.outcome} — ${describeOutcome(latestFailure.outcome, deployment).explanation}`] : [];
  return [...rendered, ...footer].join('\n');
}

/** `hour  60 probes: ok 58, basic_auth_rejected 2; total avg 0.251 s, max 0.420 s; in state ok 50m, regressed 10m` */
function hourText(hour: HourlySummary): string {
  const probes = hour.outcomes.reduce((sum, o) => sum + o.probes, 0);
  const parts = [`hour  ${probes} probe${probes === 1 ? '' : 's'}${probes > 0 ? `: ${hour.outcomes.map((o) => `${o.outcome} ${o.probes}`).join(', ')}` : ''}`];
  const timed = hour.outcomes.reduce((sum, o) => sum + o.timed, 0);
  if (timed > 0) {
    const average = hour.outcomes.reduce((sum, o) => sum + o.totalSeconds.sum, 0) / timed;
    const max = Math.max(...hour.outcomes.map((o) => o.totalSeconds.max ?? 0));
    parts.push(`total avg ${average.toFixed(3)} s, max ${max.toFixed(3)} s`);
  }
  const states = Object.entries(hour.states).sort(([, a], [, b]) => b - a);
  if (states.length > 0) parts.push(`in state ${states.map(([state, seconds]) => `${state} ${duration(seconds)}`).join(', ')}`);
  return parts.join('; ');
}

function duration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return minutes === 0 ? `${rest}s` : rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
}
