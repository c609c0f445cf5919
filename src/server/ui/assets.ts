// The status page's static files, served from memory by the daemon: no build step, no CDN, nothing fetched from
// elsewhere. Plain CSS and a small script; the page works without the script (it only refreshes in place).

export interface Asset {
  contentType: string;
  body: string;
}

const STATUS_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1d232b; --muted: #5f6b7a; --line: #d8dee6; --panel: #f5f7fa; --link: #0b57d0;
  --ok: #1a7f37; --ok-bg: #dcf5e3; --bad: #b42318; --bad-bg: #fde4e1; --warn: #9a6700; --warn-bg: #fff1c2;
  --unknown: #57606a; --unknown-bg: #eaeef2; --none: #e3e7ec;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11151a; --fg: #e3e8ee; --muted: #98a3b0; --line: #2c343e; --panel: #181e25; --link: #7fb0ff;
    --ok: #5fd07e; --ok-bg: #143521; --bad: #ff8a7a; --bad-bg: #43191a; --warn: #e9c25a; --warn-bg: #3a2d0b;
    --unknown: #aab4bf; --unknown-bg: #262d36; --none: #2a313a;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--link); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
pre.message { white-space: pre-wrap; word-break: break-word; margin: 0; max-height: 12em; overflow: auto; }
.top { display: flex; gap: 0.6rem; align-items: baseline; padding: 0.6rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
main { padding: 0.5rem 1rem 1rem; max-width: 84rem; margin: 0 auto; }
footer { padding: 0.6rem 1rem 1.2rem; color: var(--muted); font-size: 0.85em; max-width: 84rem; margin: 0 auto; }
h1 { font-size: 1.4rem; margin: 0.6rem 0; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 0.8rem 0 0.4rem; }
.muted { color: var(--muted); }
.warn { color: var(--bad); font-weight: 600; }
.notice { background: var(--warn-bg); color: var(--warn); padding: 0.4rem 0.6rem; border-radius: 4px; }
.state { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.85rem; font-weight: 600; white-space: nowrap; }
.state-ok { color: var(--ok); background: var(--ok-bg); }
.state-regressed, .state-failing { color: var(--bad); background: var(--bad-bg); }
.state-unreachable { color: var(--warn); background: var(--warn-bg); }
.state-unknown { color: var(--unknown); background: var(--unknown-bg); }
.states { display: flex; flex-wrap: wrap; gap: 0.4rem; margin: 0.4rem 0 0.6rem; }
.filter-link { padding: 0.2rem 0.6rem; border: 1px solid var(--line); border-radius: 4px; text-decoration: none; color: var(--fg); }
.filter-link.current { border-color: var(--link); background: var(--panel); }
.filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; margin: 0.4rem 0; }
.filters label { display: flex; flex-direction: column; font-size: 0.85em; color: var(--muted); }
input, select, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 0.25rem 0.4rem; }
button { cursor: pointer; background: var(--panel); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85em; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.overview .name a { font-weight: 600; }
.labels { margin-top: 0.15rem; }
.chip { display: inline-block; font-size: 0.78em; padding: 0 0.35rem; border: 1px solid var(--line); border-radius: 3px; color: var(--muted); text-decoration: none; margin: 0.1rem 0.15rem 0 0; }
.outcome .title { display: block; }
.strip { display: inline-flex; gap: 1px; }
.b { display: inline-block; width: 7px; height: 18px; border-radius: 1px; background: var(--none); }
.b-ok { background: var(--ok); }
.b-auth { background: var(--bad); }
.b-other { background: var(--warn); }
.pager { display: flex; gap: 1rem; margin: 0.8rem 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.4rem 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.diagnosis { border-left: 4px solid var(--bad); padding-left: 0.8rem; }
.diagnosis-ok { border-left-color: var(--ok); }
.diagnosis-network, .diagnosis-tls, .diagnosis-server { border-left-color: var(--warn); }
.remediation li { margin: 0.25rem 0; }
.change-lines li { margin: 0.15rem 0; }
.same { color: var(--ok); }
.changed { color: var(--bad); font-weight: 600; }
ul.plain { list-style: none; margin: 0; padding: 0; }
code.wrap { overflow-wrap: anywhere; }
.history tr.class-auth td:nth-child(2) code { color: var(--bad); }
.history tr.class-network td:nth-child(2) code, .history tr.class-tls td:nth-child(2) code, .history tr.class-server td:nth-child(2) code { color: var(--warn); }
.incident { margin-bottom: 0.8rem; }
@media (max-width: 640px) {
  :root { font-size: 14px; }
  main { padding: 0.4rem 0.6rem; }
  .overview thead { display: none; }
  .overview tr { display: grid; grid-template-columns: 1fr auto; gap: 0.1rem 0.5rem; padding: 0.5rem 0; border-bottom: 1px solid var(--line); }
  .overview td { border: 0; padding: 0.05rem 0; }
  .overview td:nth-child(3), .overview td:nth-child(6) { grid-column: 1 / -1; }
  .overview td:nth-child(4)::before { content: "since "; color: var(--muted); }
  .overview td:nth-child(5)::before { content: "last success "; color: var(--muted); }
  .b { width: 9px; }
  .facts { grid-template-columns: 1fr; }
  .facts dt { margin-top: 0.3rem; }
}
`;

const STATUS_JS = String.raw`// authwatch status page: refreshes the page's content in place (no full reload) while the tab is visible.
(function () {
  'use strict';
  var content = document.getElementById('content');
  var status = document.getElementById('refresh-status');
  if (!content || !window.fetch || !window.DOMParser) return;
  var seconds = Number(content.getAttribute('data-refresh')) || 15;
  var refreshes = 0;
  var busy = false;

  function say(text) {
    if (status) status.textContent = text;
  }

  function typing() {
    var active = document.activeElement;
    return active && content.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function refresh() {
    if (busy || document.hidden || typing()) return;
    busy = true;
    var url = new URL(window.location.href);
    url.searchParams.set('fragment', '1');
    fetch(url.toString(), { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, 'text/html').getElementById('content');
        if (!next) throw new Error('the answer has no content');
        if (typing()) return;
        content.replaceChildren.apply(content, Array.prototype.map.call(next.childNodes, function (node) {
          return document.importNode(node, true);
        }));
        refreshes += 1;
        document.documentElement.setAttribute('data-refreshes', String(refreshes));
        say('updated ' + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        say('refresh failed (' + error.message + '); retrying in ' + seconds + ' s');
      })
      .then(function () {
        busy = false;
      });
  }

  say('refreshes every ' + seconds + ' s');
  window.setInterval(refresh, seconds * 1000);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) refresh();
  });
})();
`;

const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1a7f37"/><path d="M4.5 8.2l2.3 2.3 4.7-4.9" stroke="#fff" stroke-width="1.8" fill="none"/></svg>';

export const ASSETS: Record<string, Asset> = {
  '/static/status.css': { contentType: 'text/css; charset=utf-8', body: STATUS_CSS },
  '/static/status.js': { contentType: 'text/javascript; charset=utf-8', body: STATUS_JS },
  '/static/favicon.svg': { contentType: 'image/svg+xml', body: FAVICON_SVG },
};
