// The status page's routes on the daemon's listener: `/`, `/connections/NAME` and `/static/*`. Read-only (GET and
// HEAD); every answer carries the security headers; every value shown is masked like the JSON API's, then escaped.
import { maskValue, type SecretRegistry } from '../../log/mask.js';
import type { StatusConnectionView, StatusReadModel } from '../read-model.js';
import { ASSETS } from './assets.js';
import { connectionContent } from './connection-page.js';
import { html, type Html } from './html.js';
import { DEFAULT_REFRESH_SECONDS, fragment, page, type PageFrame } from './layout.js';
import { overviewContent, parseOverviewQuery, selectOverview, stripStart, STRIP_HOURS } from './overview.js';

export const PROBE_HISTORY_LIMIT = 50;

/** What the page may load: its own script, style and images, nothing inline, no framing, forms only to itself. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface StatusPageReply {
  status: number;
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

export interface StatusPageContext {
  model: StatusReadModel;
  now: Date;
  secrets?: SecretRegistry;
}

const HTML_TYPE = 'text/html; charset=utf-8';
const CONNECTION_PATH = /^\/connections\/([^/]+)$/;

/** Whether a path is the status page's (so the JSON 404 is not the answer). */
export function isStatusPagePath(pathname: string): boolean {
  return pathname === '/' || CONNECTION_PATH.test(pathname) || pathname.startsWith('/static/');
}

function reply(status: number, body: Html | string, contentType = HTML_TYPE, secrets?: SecretRegistry): StatusPageReply {
  const text = typeof body === 'string' ? body : body.text;
  return { status, contentType, body: secrets ? secrets.maskIn(text) : text, headers: { ...SECURITY_HEADERS } };
}

function errorPage(status: number, title: string, message: string, frame: PageFrame): StatusPageReply {
  return reply(status, page(html`<p class="crumbs"><a href="/">← all connections</a></p><h1>${title}</h1><p>${message}</p>`, { ...frame, title }));
}

function masked<T>(value: T, secrets: SecretRegistry | undefined): T {
  return maskValue(value, secrets) as T;
}

/** `?refresh=N` seconds (1 to 3600), e.g. for a wall display; the default otherwise. */
function refreshSeconds(params: URLSearchParams): number {
  const raw = params.get('refresh');
  if (!raw || !/^\d{1,4}$/.test(raw)) return DEFAULT_REFRESH_SECONDS;
  return Math.min(3600, Math.max(1, Number(raw)));
}

/** The status page's answer, or null when the path is not the status page's. */
export async function answerStatusPage(context: StatusPageContext, method: string | undefined, url: URL): Promise<StatusPageReply | null> {
  const { pathname, searchParams } = url;
  if (!isStatusPagePath(pathname)) return null;
  const frame: PageFrame = { title: 'authwatch', now: context.now, refreshSeconds: refreshSeconds(searchParams) };
  if (method !== 'GET' && method !== 'HEAD') {
    const answer = errorPage(405, 'Method not allowed', `The status page is read-only; ${method ?? 'this method'} is not allowed, use GET.`, frame);
    return { ...answer, headers: { ...answer.headers, Allow: 'GET, HEAD' } };
  }
  const asset = ASSETS[pathname];
  if (asset) return reply(200, asset.body, asset.contentType);
  if (pathname.startsWith('/static/')) return errorPage(404, 'Not found', 'There is no such file.', frame);
  const wrap = (content: Html, title: string) => (searchParams.get('fragment') === '1' ? fragment : page)(content, { ...frame, title });

  if (pathname === '/') {
    const parsed = parseOverviewQuery(searchParams);
    if (!parsed.ok) return errorPage(400, 'Bad filter', parsed.message, frame);
    const selection = selectOverview(await context.model.statusConnections(), parsed.query);
    const rows = masked<StatusConnectionView[]>(selection.rows, context.secrets);
    const strips = await context.model.outcomeStrips(selection.rows.map((row) => row.name), stripStart(context.now), STRIP_HOURS);
    const content = overviewContent({ selection: { ...selection, rows }, strips, query: parsed.query, now: context.now });
    return reply(200, wrap(content, 'Connections'), HTML_TYPE, context.secrets);
  }

  let name: string;
  try {
    name = decodeURIComponent(CONNECTION_PATH.exec(pathname)![1]);
  } catch {
    return errorPage(400, 'Bad connection name', 'The connection name in the address is not valid percent-encoding.', frame);
  }
  const detail = await context.model.connectionDetail(name, PROBE_HISTORY_LIMIT);
  if (!detail) return errorPage(404, 'No such connection', `No connection named "${name.slice(0, 100)}" is or was configured.`, frame);
  return reply(200, wrap(connectionContent(masked(detail, context.secrets), context.now), detail.connection.name), HTML_TYPE, context.secrets);
}
