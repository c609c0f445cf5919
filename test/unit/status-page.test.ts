// The status page's pure parts at fixed instants: the escaping template, the overview's selection (problems first,
// filters, pages), the formats, the rendered pages, and the routes' answers over an in-memory read model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html, isHtml } from '../../src/server/ui/html.js';
import { formatInstant, phaseMs, relativeTime } from '../../src/server/ui/format.js';
import { overviewContent, overviewHref, parseOverviewQuery, selectOverview, stripStart, type OverviewQuery } from '../../src/server/ui/overview.js';
import { connectionContent } from '../../src/server/ui/connection-page.js';
import { page } from '../../src/server/ui/layout.js';
import { answerStatusPage, CONTENT_SECURITY_POLICY, type StatusPageContext } from '../../src/server/ui/routes.js';
import { outcomeView } from '../../src/server/store-read-model.js';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';
import { compareWithLastSuccess } from '../../src/notify/types.js';
import { SecretRegistry } from '../../src/log/mask.js';
import type { AuthState } from '../../src/state/types.js';
import type { ConnectionDetailView, OutcomeBucketView, ProbeDetailView, StatusConnectionView, StatusReadModel } from '../../src/server/read-model.js';

const NOW = new Date('2026-12-01T10:30:00.000Z');
const SCRIPT = '<script>window.pwned=1</script>';

function connection(name: string, state: AuthState, extra: Partial<StatusConnectionView> = {}): StatusConnectionView {
  const failing = state !== 'ok' && state !== 'unknown';
  return {
    name,
    url: `https://${name}.atlassian.net`,
    deployment: 'cloud',
    authType: 'basic',
    state,
    since: state === 'unknown' ? null : '2026-12-01T09:00:00.000Z',
    lastOutcome: state === 'unknown' ? null : outcomeView(failing ? 'basic_auth_rejected' : 'ok', failing ? 'auth' : 'ok', null, 'cloud'),
    lastProbeAt: '2026-12-01T10:29:00.000Z',
    lastSuccessAt: '2026-12-01T08:59:00.000Z',
    consecutiveFailures: failing ? 3 : 0,
    tls: null,
    labels: {},
    removedAt: null,
    ...extra,
  };
}

function query(changes: Partial<OverviewQuery> = {}): OverviewQuery {
  return { state: 'all', label: null, name: '', page: 1, ...changes };
}

test('escapeHtml escapes the five characters that matter in text and quoted attributes', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  assert.equal(escapeHtml('plain text, 100% → ok'), 'plain text, 100% → ok');
});

test('html`` escapes every interpolated value; only its own fragments go in as they are', () => {
  const name = 'x" onmouseover="alert(1)';
  assert.equal(html`<a title="${name}">${SCRIPT}</a>`.text, '<a title="x&quot; onmouseover=&quot;alert(1)">&lt;script&gt;window.pwned=1&lt;/script&gt;</a>');
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(html`<p>${inner}</p>`.text, '<p><b>&lt;i&gt;</b></p>', 'a fragment is not escaped twice');
  assert.equal(html`${[1, '<', inner, null, undefined, false, [['&']]]}`.text, '1&lt;<b>&lt;i&gt;</b>&amp;');
  assert.equal(html`${0}|${true}`.text, '0|true');
  const forged = { text: SCRIPT } as unknown as ReturnType<typeof html>;
  assert.equal(isHtml(forged), false);
  assert.equal(html`${forged}`.text, '[object Object]', 'an object that merely looks like a fragment is text');
});

test('formats: UTC instants, relative times, phase milliseconds', () => {
  assert.equal(formatInstant('2026-12-01T08:20:11.123Z'), '2026-12-01 08:20:11 UTC');
  assert.equal(relativeTime('2026-12-01T10:27:00.000Z', NOW), '3 min ago');
  assert.equal(relativeTime('2026-12-13T10:30:00.000Z', NOW), 'in 12 d');
  assert.equal(relativeTime('2026-12-01T10:29:59.500Z', NOW), 'just now');
  assert.equal(relativeTime('2026-11-30T08:00:00.000Z', NOW), '1 d ago');
  assert.equal(phaseMs(0.0042), '4.2');
  assert.equal(phaseMs(0.2771), '277');
  assert.equal(phaseMs(null), '–');
});

test('parseOverviewQuery: defaults, label forms, and a clear message for bad input', () => {
  assert.deepEqual(parseOverviewQuery(new URLSearchParams('')), { ok: true, query: query() });
  assert.deepEqual(parseOverviewQuery(new URLSearchParams('state=problems&label=team%3Dpay%3Dments&name=%20sales%20&page=3')), {
    ok: true,
    query: query({ state: 'problems', label: { key: 'team', value: 'pay=ments' }, name: 'sales', page: 3 }),
  });
  assert.deepEqual(parseOverviewQuery(new URLSearchParams('label=team')), { ok: true, query: query({ label: { key: 'team', value: null } }) });
  assert.deepEqual(parseOverviewQuery(new URLSearchParams('state=down')), { ok: false, message: 'state must be one of all, problems, unknown, ok, failing, regressed, unreachable' });
  assert.equal(parseOverviewQuery(new URLSearchParams('label=9x')).ok, false);
  assert.equal(parseOverviewQuery(new URLSearchParams('page=0')).ok, false);
  assert.equal(parseOverviewQuery(new URLSearchParams('page=-1')).ok, false);
});

test('selectOverview: problems first (the longest-lasting first), then unknown, then ok by name; counts before filtering', () => {
  const connections = [
    connection('a-ok', 'ok'),
    connection('b-unknown', 'unknown'),
    connection('c-failing', 'failing'),
    connection('d-regressed-late', 'regressed', { since: '2026-12-01T10:00:00.000Z' }),
    connection('e-regressed-early', 'regressed', { since: '2026-12-01T07:00:00.000Z' }),
    connection('f-unreachable', 'unreachable'),
  ];
  const selection = selectOverview(connections, query());
  assert.deepEqual(selection.rows.map((row) => row.name), ['e-regressed-early', 'd-regressed-late', 'c-failing', 'f-unreachable', 'b-unknown', 'a-ok']);
  assert.deepEqual(selection.counts, { unknown: 1, ok: 1, failing: 1, regressed: 2, unreachable: 1 });
  assert.equal(selection.total, 6);
  assert.deepEqual(selectOverview(connections, query({ state: 'problems' })).rows.map((row) => row.name), ['e-regressed-early', 'd-regressed-late', 'c-failing', 'f-unreachable']);
  assert.deepEqual(selectOverview(connections, query({ state: 'ok' })).rows.map((row) => row.name), ['a-ok']);
  assert.deepEqual(selectOverview(connections, query({ name: 'REGRESSED' })).rows.map((row) => row.name), ['e-regressed-early', 'd-regressed-late']);
});

test('selectOverview: label filters by value or by presence', () => {
  const connections = [
    connection('pay-1', 'ok', { labels: { team: 'payments' } }),
    connection('pay-2', 'failing', { labels: { team: 'payments', env: 'prod' } }),
    connection('id-1', 'ok', { labels: { team: 'identity', env: 'prod' } }),
    connection('none', 'ok'),
  ];
  assert.deepEqual(selectOverview(connections, query({ label: { key: 'team', value: 'payments' } })).rows.map((row) => row.name), ['pay-2', 'pay-1']);
  assert.deepEqual(selectOverview(connections, query({ label: { key: 'env', value: null } })).rows.map((row) => row.name), ['pay-2', 'id-1']);
  assert.equal(selectOverview(connections, query({ label: { key: 'team', value: 'nobody' } })).matching, 0);
});

test('selectOverview pages: 250 connections are 3 pages of 100; a page past the end shows the last', () => {
  const connections = Array.from({ length: 250 }, (_, index) => connection(`c${String(index).padStart(3, '0')}`, index % 10 === 0 ? 'failing' : 'ok'));
  const first = selectOverview(connections, query());
  assert.equal(first.pages, 3);
  assert.equal(first.rows.length, 100);
  assert.ok(first.rows.slice(0, 25).every((row) => row.state === 'failing'), 'the 25 failing ones lead the first page');
  const last = selectOverview(connections, query({ page: 9 }));
  assert.equal(last.page, 3);
  assert.equal(last.rows.length, 50);
  assert.equal(last.rows.at(-1)?.name, 'c249');
});

test('stripStart: 24 whole hours ending with the current one; overviewHref keeps only what differs from the defaults', () => {
  assert.equal(stripStart(NOW).toISOString(), '2026-11-30T11:00:00.000Z');
  assert.equal(overviewHref(query()), '/');
  assert.equal(overviewHref(query({ state: 'failing', label: { key: 'team', value: 'a&b' } }), { page: 2 }), '/?state=failing&label=team%3Da%26b&page=2');
});

function strip(pattern: string): OutcomeBucketView[] {
  return [...pattern].map((kind, index) => ({
    start: new Date(stripStart(NOW).getTime() + index * 3_600_000).toISOString(),
    ok: kind === 'o' ? 60 : 0,
    auth: kind === 'a' ? 2 : 0,
    other: kind === 'n' ? 1 : 0,
  }));
}

test('overviewContent: a row per connection, a strip per row, labels and outcomes escaped, a pager', () => {
  const rows = [connection('hostile', 'regressed', { labels: { note: SCRIPT } }), connection('fine', 'ok')];
  const selection = { ...selectOverview(rows, query()), pages: 2 };
  const text = overviewContent({ selection, strips: new Map([['hostile', strip('-'.repeat(21) + 'ona')]]), query: query(), now: NOW }).text;
  assert.ok(!text.includes('<script'), 'no script element');
  assert.ok(text.includes('note=&lt;script&gt;window.pwned=1&lt;/script&gt;'));
  assert.ok(text.includes('href="/?label=note%3D%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E"'), 'the chip links to its filter');
  assert.equal((text.match(/<tr class="row-/g) ?? []).length, 2);
  assert.equal((text.match(/class="b b-none"/g) ?? []).length, 21);
  assert.match(text, /class="b b-ok" title="2026-12-01 08:00: 60 ok"/);
  assert.match(text, /class="b b-other" title="2026-12-01 09:00: 1 other failure"/);
  assert.match(text, /class="b b-auth" title="2026-12-01 10:00: 2 auth failures"/);
  assert.ok(text.includes('<a href="/connections/hostile">hostile</a>'));
  assert.ok(text.includes('page 1 of 2') && text.includes('href="/?page=2"'));
});

function probe(at: string, outcome: 'ok' | 'basic_auth_rejected', extra: Partial<ProbeDetailView> = {}): ProbeDetailView {
  const ok = outcome === 'ok';
  return {
    at,
    outcome,
    class: ok ? 'ok' : 'auth',
    detail: null,
    httpStatus: ok ? 200 : 401,
    errorCode: null,
    message: ok ? '{"accountId":"5b10"}' : 'Basic authentication with passwords is deprecated.',
    headers: ok ? { 'x-arequestid': 'a1' } : { 'x-arequestid': 'a2', 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
    timings: { dns: 0.001, connect: 0.002, tls: 0.01, request: 0.0001, first_byte: 0.2, download: 0.001, total: 0.2141 },
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', notAfter: '2026-12-20T00:00:00.000Z', authorized: true },
    credentialFingerprint: '00112233aabbccdd',
    tlsDetails: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      subject: 'CN=acme.atlassian.net',
      issuer: 'CN=Test CA',
      sans: ['DNS:acme.atlassian.net'],
      serial: '01AB',
      fingerprint256: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2026-12-20T00:00:00.000Z',
      chainEarliestNotAfter: '2026-12-20T00:00:00.000Z',
      authorized: true,
      authorizationError: null,
    },
    ...extra,
  };
}

function detail(overrides: Partial<ConnectionDetailView> = {}): ConnectionDetailView {
  const latest = probe('2026-12-01T10:29:00.000Z', 'basic_auth_rejected', { message: `Go away ${SCRIPT}` });
  const lastOk = probe('2026-12-01T08:59:00.000Z', 'ok');
  const snapshot = (p: ProbeDetailView) => ({
    credentialFingerprint: p.credentialFingerprint,
    tlsProtocol: p.tlsDetails?.protocol ?? null,
    tlsCipher: p.tlsDetails?.cipher ?? null,
    tlsFingerprint: p.tlsDetails?.fingerprint256 ?? null,
    identity: null,
  });
  return {
    connection: connection('salesforce-to-jira', 'regressed', { labels: { team: 'sales' } }),
    probes: [latest, lastOk],
    lastOk,
    changes: compareWithLastSuccess(snapshot(lastOk), snapshot(latest)),
    openIncidents: [
      {
        id: 7,
        kind: 'regressed',
        openedAt: '2026-12-01T09:00:00.000Z',
        lastNotifiedAt: '2026-12-01T09:00:00.000Z',
        notifications: [
          { channel: 'slack', kind: 'open', createdAt: '2026-12-01T09:00:00.000Z', attempts: 1, deliveredAt: '2026-12-01T09:00:01.000Z', failedAt: null, lastError: null },
          { channel: 'alertmanager', kind: 'open', createdAt: '2026-12-01T09:00:00.000Z', attempts: 3, deliveredAt: null, failedAt: null, lastError: 'HTTP 503 <b>' },
        ],
      },
    ],
    ...overrides,
  };
}

test('connectionContent: remediation in order, the notifications\' "what changed" lines, escaped server message, incident, certificate, history', () => {
  const text = connectionContent(detail(), NOW).text;
  const steps = describeOutcome('basic_auth_rejected', 'cloud').remediation.map((step) => `<li>${escapeHtml(step)}</li>`).join('');
  assert.ok(text.includes(`<ol class="remediation">${steps}</ol>`), 'every remediation step, in order');
  assert.ok(text.includes('<li>credential unchanged (same secret as at the last success)</li>'));
  assert.ok(text.includes('<li>TLS protocol unchanged (TLSv1.3)</li>'));
  assert.ok(!text.includes('<script'), 'no script element');
  assert.ok(text.includes('Go away &lt;script&gt;window.pwned=1&lt;/script&gt;'));
  assert.match(text, /<h3>regressed <span class="muted">since<\/span>/);
  assert.match(text, /<td>slack<\/td><td>open<\/td>.*delivered/);
  assert.ok(text.includes('pending <span class="muted">(HTTP 503 &lt;b&gt;)</span>'));
  assert.ok(text.includes('<span class="warn">18 days left</span>'), 'the certificate expiry warns within 30 days');
  assert.ok(text.includes('<td class="num">214</td>'), 'total time in ms');
  assert.match(text, /<th scope="row">HTTP status<\/th><td>200<\/td><td>401<\/td><td><span class="changed">changed<\/span>/);
});

test('connectionContent without a success or a probe says so', () => {
  const never = connectionContent(detail({ lastOk: null, changes: null, openIncidents: [] }), NOW).text;
  assert.ok(never.includes('Nothing to compare with: this connection never succeeded'));
  assert.ok(never.includes('<h2>Open incidents</h2><p class="muted">None.</p>'));
  const fresh = connectionContent(detail({ connection: connection('new', 'unknown'), probes: [], lastOk: null, changes: null, openIncidents: [] }), NOW).text;
  assert.ok(fresh.includes('Not probed yet.'));
  assert.ok(fresh.includes('No probe recorded.'));
});

test('page(): one script, from the daemon; the stylesheet and icon too; the title escaped', () => {
  const text = page(html`<p>x</p>`, { title: SCRIPT, now: NOW, refreshSeconds: 15 }).text;
  assert.deepEqual(text.match(/<script[^>]*>/g), ['<script src="/static/status.js" defer>']);
  assert.ok(text.includes('<title>&lt;script&gt;window.pwned=1&lt;/script&gt; · authwatch</title>'));
  assert.ok(text.includes('<link rel="stylesheet" href="/static/status.css">'));
  assert.ok(!/https?:\/\//.test(text), 'nothing loaded from elsewhere');
  assert.ok(text.includes('<main id="content" data-refresh="15">'));
});

function context(secrets?: SecretRegistry): StatusPageContext {
  const rows = [connection('salesforce-to-jira', 'regressed'), connection('fine', 'ok')];
  const model: StatusReadModel = {
    statusConnections: () => rows,
    outcomeStrips: (names) => new Map(names.map((name) => [name, strip('o'.repeat(24))])),
    connectionDetail: (name) => (name === 'salesforce-to-jira' ? detail({ probes: [probe('2026-12-01T10:29:00.000Z', 'basic_auth_rejected', { message: 'token sekret-value-1234 refused' })] }) : null),
  };
  return { model, now: NOW, secrets };
}

async function get(path: string, ctx = context(), method = 'GET') {
  return answerStatusPage(ctx, method, new URL(path, 'http://127.0.0.1'));
}

test('answerStatusPage: pages, fragments, assets, errors, all with the security headers; other paths are not its own', async () => {
  for (const path of ['/', '/?fragment=1', '/connections/salesforce-to-jira', '/static/status.css', '/static/status.js', '/connections/nope', '/?state=x', '/static/nope.js']) {
    const answer = (await get(path))!;
    assert.equal(answer.headers['Content-Security-Policy'], CONTENT_SECURITY_POLICY, path);
    assert.equal(answer.headers['X-Content-Type-Options'], 'nosniff', path);
    assert.equal(answer.headers['Referrer-Policy'], 'no-referrer', path);
  }
  assert.equal((await get('/'))!.status, 200);
  assert.equal((await get('/connections/nope'))!.status, 404);
  assert.equal((await get('/?state=x'))!.status, 400);
  assert.equal((await get('/static/nope.js'))!.status, 404);
  assert.equal((await get('/connections/%E0%A4%A'))!.status, 400);
  const fragment = (await get('/?fragment=1'))!.body;
  assert.ok(fragment.includes('<main id="content"') && !fragment.includes('<script'), 'a fragment is the content only');
  const css = (await get('/static/status.css'))!;
  assert.equal(css.contentType, 'text/css; charset=utf-8');
  assert.ok(css.body.includes('prefers-color-scheme: dark'));
  assert.equal((await get('/static/status.js'))!.contentType, 'text/javascript; charset=utf-8');
  const post = (await get('/', context(), 'POST'))!;
  assert.equal(post.status, 405);
  assert.equal(post.headers.Allow, 'GET, HEAD');
  assert.equal(await get('/api/v1/connections'), null);
  assert.equal(await get('/metrics'), null);
  assert.equal(await get('/connections/a/b'), null);
});

test('answerStatusPage masks the registered secrets in what it shows', async () => {
  const secrets = new SecretRegistry();
  secrets.register('sekret-value-1234');
  const body = (await get('/connections/salesforce-to-jira', context(secrets)))!.body;
  assert.ok(!body.includes('sekret-value-1234'));
  assert.ok(body.includes('token *** refused'));
});
