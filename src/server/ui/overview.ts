// `/`: every connection, problems first, filtered by state, label and name, one page at a time. The selection is
// pure (tested at fixed instants); only the page's rows get an outcome strip, so a page costs the same at 10,000.
import type { OutcomeBucketView, StatusConnectionView } from '../read-model.js';
import { AUTH_STATES, type AuthState } from '../../state/types.js';
import { formatInstant, stateBadge, STATE_WORDS, timeCell } from './format.js';
import { html, type Html } from './html.js';

export const PAGE_SIZE = 100;
/** Hours in the outcome strip. */
export const STRIP_HOURS = 24;
const HOUR_MS = 3_600_000;

/** Problems first: what needs someone's attention, then what is not known yet, then what works. */
const STATE_RANK: Record<AuthState, number> = { regressed: 0, failing: 1, unreachable: 2, unknown: 3, ok: 4 };
const PROBLEM_STATES: readonly AuthState[] = ['regressed', 'failing', 'unreachable'];

export type StateFilter = 'all' | 'problems' | AuthState;
const STATE_FILTERS: readonly StateFilter[] = ['all', 'problems', ...AUTH_STATES];

export interface OverviewQuery {
  state: StateFilter;
  /** `team=payments` matches that value, `team` any connection that has the label. */
  label: { key: string; value: string | null } | null;
  /** Part of the name, case-insensitive. */
  name: string;
  /** 1-based. */
  page: number;
}

export type QueryResult = { ok: true; query: OverviewQuery } | { ok: false; message: string };

const LABEL_FILTER = /^([a-zA-Z_][a-zA-Z0-9_]*)(?:=(.*))?$/s;

export function parseOverviewQuery(params: URLSearchParams): QueryResult {
  const state = (params.get('state') || 'all') as StateFilter;
  if (!STATE_FILTERS.includes(state)) return { ok: false, message: `state must be one of ${STATE_FILTERS.join(', ')}` };
  const rawLabel = (params.get('label') ?? '').trim();
  let label: OverviewQuery['label'] = null;
  if (rawLabel !== '') {
    const match = LABEL_FILTER.exec(rawLabel);
    if (!match) return { ok: false, message: 'label must be NAME or NAME=VALUE, with a label name of [a-zA-Z_][a-zA-Z0-9_]*' };
    label = { key: match[1], value: match[2] ?? null };
  }
  const rawPage = params.get('page') || '1';
  if (!/^\d{1,6}$/.test(rawPage) || Number(rawPage) < 1) return { ok: false, message: 'page must be a whole number from 1' };
  return { ok: true, query: { state, label, name: (params.get('name') ?? '').trim().slice(0, 100), page: Number(rawPage) } };
}

export interface OverviewSelection {
  /** The rows of the requested page, problems first. */
  rows: StatusConnectionView[];
  /** Connections configured, and how many are in each state (before filtering). */
  total: number;
  counts: Record<AuthState, number>;
  /** Connections the filter kept. */
  matching: number;
  page: number;
  pages: number;
}

function matches(connection: StatusConnectionView, query: OverviewQuery): boolean {
  if (query.state === 'problems' ? !PROBLEM_STATES.includes(connection.state) : query.state !== 'all' && connection.state !== query.state) return false;
  if (query.label) {
    const value = connection.labels[query.label.key];
    if (value === undefined || (query.label.value !== null && value !== query.label.value)) return false;
  }
  return query.name === '' || connection.name.toLowerCase().includes(query.name.toLowerCase());
}

/** Problem states by how long they have lasted (longest first), everything else by name. */
export function compareForOverview(a: StatusConnectionView, b: StatusConnectionView): number {
  const rank = STATE_RANK[a.state] - STATE_RANK[b.state];
  if (rank !== 0) return rank;
  if (PROBLEM_STATES.includes(a.state) && a.since !== b.since) return (a.since ?? '').localeCompare(b.since ?? '');
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function selectOverview(connections: readonly StatusConnectionView[], query: OverviewQuery, pageSize = PAGE_SIZE): OverviewSelection {
  const counts = Object.fromEntries(AUTH_STATES.map((state) => [state, 0])) as Record<AuthState, number>;
  for (const connection of connections) counts[connection.state] += 1;
  const kept = connections.filter((connection) => matches(connection, query)).sort(compareForOverview);
  const pages = Math.max(1, Math.ceil(kept.length / pageSize));
  const page = Math.min(query.page, pages);
  return { rows: kept.slice((page - 1) * pageSize, page * pageSize), total: connections.length, counts, matching: kept.length, page, pages };
}

/** The start of the strip: 24 whole hours ending with the current one. */
export function stripStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS - (STRIP_HOURS - 1) * HOUR_MS);
}

/** The overview's URL for a query (only the parameters that differ from the defaults). */
export function overviewHref(query: OverviewQuery, changes: Partial<OverviewQuery> = {}): string {
  const next = { ...query, ...changes };
  const params = new URLSearchParams();
  if (next.state !== 'all') params.set('state', next.state);
  if (next.label) params.set('label', next.label.value === null ? next.label.key : `${next.label.key}=${next.label.value}`);
  if (next.name) params.set('name', next.name);
  if (next.page > 1) params.set('page', String(next.page));
  const search = params.toString();
  return search ? `/?${search}` : '/';
}

export function connectionHref(name: string): string {
  return `/connections/${encodeURIComponent(name)}`;
}

function bucketClass(bucket: OutcomeBucketView): string {
  if (bucket.auth > 0) return 'b-auth';
  if (bucket.other > 0) return 'b-other';
  return bucket.ok > 0 ? 'b-ok' : 'b-none';
}

function bucketTitle(bucket: OutcomeBucketView): string {
  const probes = bucket.ok + bucket.auth + bucket.other;
  const hour = formatInstant(bucket.start).slice(0, 16);
  if (probes === 0) return `${hour}: no probe`;
  const parts = [bucket.ok ? `${bucket.ok} ok` : '', bucket.auth ? `${bucket.auth} auth failure${bucket.auth > 1 ? 's' : ''}` : '', bucket.other ? `${bucket.other} other failure${bucket.other > 1 ? 's' : ''}` : ''];
  return `${hour}: ${parts.filter(Boolean).join(', ')}`;
}

export function outcomeStrip(buckets: readonly OutcomeBucketView[] | undefined): Html {
  if (!buckets) return html``;
  return html`<span class="strip" role="img" aria-label="outcomes of the last 24 hours">${buckets.map(
    (bucket) => html`<span class="b ${bucketClass(bucket)}" title="${bucketTitle(bucket)}"></span>`,
  )}</span>`;
}

function labelChips(connection: StatusConnectionView, query: OverviewQuery): Html {
  return html`${Object.entries(connection.labels).map(
    ([key, value]) => html`<a class="chip" href="${overviewHref(query, { label: { key, value }, page: 1 })}">${key}=${value}</a> `,
  )}`;
}

function row(connection: StatusConnectionView, strip: readonly OutcomeBucketView[] | undefined, query: OverviewQuery, now: Date): Html {
  const outcome = connection.lastOutcome;
  return html`<tr class="row-${connection.state}">
<td class="name"><a href="${connectionHref(connection.name)}">${connection.name}</a><div class="labels">${labelChips(connection, query)}</div></td>
<td>${stateBadge(connection.state)}</td>
<td class="outcome">${outcome ? html`<span class="title">${outcome.title}</span> <code>${outcome.outcome}</code>` : html`<span class="muted">not probed yet</span>`}</td>
<td>${timeCell(connection.since, now, '–')}</td>
<td>${timeCell(connection.lastSuccessAt, now)}</td>
<td class="strip-cell">${outcomeStrip(strip)}</td>
</tr>`;
}

function stateLinks(selection: OverviewSelection, query: OverviewQuery): Html {
  const problems = PROBLEM_STATES.reduce((sum, state) => sum + selection.counts[state], 0);
  const link = (state: StateFilter, text: string, count: number) =>
    html`<a class="filter-link${query.state === state ? ' current' : ''}" href="${overviewHref(query, { state, page: 1 })}"${query.state === state ? html` aria-current="true"` : ''}>${text} <b>${count}</b></a>`;
  return html`<nav class="states" aria-label="filter by state">${[
    link('all', 'all', selection.total),
    link('problems', 'problems', problems),
    ...(['regressed', 'failing', 'unreachable', 'unknown', 'ok'] as const).map((state) => link(state, STATE_WORDS[state], selection.counts[state])),
  ]}</nav>`;
}

function filterForm(query: OverviewQuery): Html {
  const label = query.label ? (query.label.value === null ? query.label.key : `${query.label.key}=${query.label.value}`) : '';
  return html`<form class="filters" method="get" action="/">
<label>State <select name="state">${STATE_FILTERS.map((state) => html`<option value="${state}"${state === query.state ? html` selected` : ''}>${state}</option>`)}</select></label>
<label>Label <input name="label" value="${label}" placeholder="team=payments" autocomplete="off"></label>
<label>Name <input name="name" value="${query.name}" placeholder="part of a name" autocomplete="off"></label>
<button type="submit">Filter</button>${query.state !== 'all' || query.label || query.name ? html` <a href="/">clear</a>` : ''}
</form>`;
}

function pager(selection: OverviewSelection, query: OverviewQuery): Html {
  if (selection.pages <= 1) return html``;
  const at = (page: number, text: string) => html`<a href="${overviewHref(query, { page })}">${text}</a>`;
  return html`<nav class="pager" aria-label="pages">${selection.page > 1 ? at(selection.page - 1, '← previous') : ''}
<span>page ${selection.page} of ${selection.pages}</span>
${selection.page < selection.pages ? at(selection.page + 1, 'next →') : ''}</nav>`;
}

export interface OverviewData {
  selection: OverviewSelection;
  strips: Map<string, OutcomeBucketView[]>;
  query: OverviewQuery;
  now: Date;
}

/** The part of `/` that auto-refresh swaps. */
export function overviewContent({ selection, strips, query, now }: OverviewData): Html {
  const first = (selection.page - 1) * PAGE_SIZE;
  return html`<h1>Connections</h1>
${stateLinks(selection, query)}
${filterForm(query)}
<p class="summary" id="summary">${selection.matching === selection.total ? html`${selection.total} connections` : html`${selection.matching} of ${selection.total} connections match`}${
    selection.matching > 0 ? html`; showing ${first + 1}–${first + selection.rows.length}` : ''
  }. Problems first.</p>
${
  selection.rows.length === 0
    ? html`<p class="empty">${selection.total === 0 ? 'No connection is configured.' : 'No connection matches this filter.'}</p>`
    : html`<div class="table-wrap"><table class="overview">
<thead><tr><th scope="col">Connection</th><th scope="col">State</th><th scope="col">Last outcome</th><th scope="col">Since</th><th scope="col">Last success</th><th scope="col">Last 24 hours</th></tr></thead>
<tbody>
${selection.rows.map((connection) => row(connection, strips.get(connection.name), query, now))}
</tbody></table></div>`
}
${pager(selection, query)}`;
}
