// `authwatch status` and `authwatch history`: read the daemon's database (read-only, safe while it writes).
import { existsSync } from 'node:fs';
import { parseDuration } from '../config/duration.js';
import type { Closable, ReadStore } from '../store/ports.js';
import { openStore, StoreError } from '../store/store.js';
import type { ConnectionSummary, StoredEvent, StoredProbe } from '../store/types.js';
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
    const { probes, events } = store.history(options.name, new Date(Date.now() - sinceMs), options.limit);
    if (options.json) {
      writeLine(io.stdout, JSON.stringify({ connection: options.name, probes: probes.map(probeJson), events }, null, 2));
      return EXIT_OK;
    }
    writeLine(io.stdout, renderHistory(probes, events, known.deployment));
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

function renderHistory(probes: StoredProbe[], events: StoredEvent[], deployment: ConnectionSummary['deployment']): string {
  const lines = events.map((event) => ({
    at: event.at,
    text: event.kind === 'state_changed' ? `state ${event.from} → ${event.to}` : `${event.kind} ${JSON.stringify(event.details)}`,
  }));
  for (const probe of probes) {
    const status = probe.observation.http ? `HTTP ${probe.observation.http.status}` : 'no response';
    lines.push({ at: probe.startedAt, text: `${probe.outcome.padEnd(22)} ${status.padEnd(11)} ${probe.detail}` });
  }
  lines.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  if (lines.length === 0) return 'nothing recorded in that period';
  const latestFailure = probes.find((probe) => probe.outcome !== 'ok');
  const footer = latestFailure ? ['', `latest failure: ${latestFailure.outcome} — ${describeOutcome(latestFailure.outcome, deployment).explanation}`] : [];
  return [...lines.map((line) => `${line.at}  ${line.text}`), ...footer].join('\n');
}
