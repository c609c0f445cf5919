// `/connections/NAME`: why a connection fails and what to do, what changed since its last success, its probes with
// phase timings, its certificate and its open incidents with the notifications sent for them. Pure.
import { describeChanges } from '../../notify/describe-changes.js';
import { TIMING_PHASES } from '../../probe/observation.js';
import type { ConnectionDetailView, IncidentView, ProbeDetailView } from '../read-model.js';
import { instantCell, phaseMs, relativeTime, stateBadge, timeCell } from './format.js';
import { html, type Html } from './html.js';

const DAY_MS = 86_400_000;

function facts(rows: [string, Html | string | null][]): Html {
  return html`<dl class="facts">${rows.map(([term, value]) => html`<dt>${term}</dt><dd>${value ?? html`<span class="muted">–</span>`}</dd>`)}</dl>`;
}

function header(detail: ConnectionDetailView, now: Date): Html {
  const c = detail.connection;
  const labels = Object.entries(c.labels);
  return html`<p class="crumbs"><a href="/">← all connections</a></p>
<h1><span class="conn-name">${c.name}</span> ${stateBadge(c.state)}</h1>
${c.removedAt ? html`<p class="notice">No longer in the configuration since ${instantCell(c.removedAt, now)}; its history is kept.</p>` : ''}
${facts([
  ['URL', html`<code>${c.url}</code>`],
  ['Deployment', c.deployment === 'cloud' ? 'Jira Cloud' : 'Jira Data Center'],
  ['Auth', c.authType],
  ['Labels', labels.length ? html`${labels.map(([key, value]) => html`<span class="chip">${key}=${value}</span> `)}` : null],
  ['State since', instantCell(c.since, now, '–')],
  ['Last probe', instantCell(c.lastProbeAt, now)],
  ['Last success', instantCell(c.lastSuccessAt, now)],
  ['Failures since the last success', String(c.consecutiveFailures)],
])}`;
}

function diagnosis(detail: ConnectionDetailView): Html {
  const outcome = detail.connection.lastOutcome;
  const latest = detail.probes[0] ?? null;
  if (!outcome) return html`<section><h2>Diagnosis</h2><p class="muted">Not probed yet.</p></section>`;
  return html`<section class="diagnosis diagnosis-${outcome.class}"><h2>Diagnosis</h2>
<p class="outcome-title"><strong>${outcome.title}</strong> <code>${outcome.outcome}</code></p>
${outcome.detail ? html`<p class="detail"><code>${outcome.detail}</code></p>` : ''}
<p>${outcome.explanation}</p>
${latest ? facts([['Jira answered', httpCell(latest)], ['Server message', messageCell(latest)]]) : ''}
${outcome.class === 'ok' ? '' : html`<h3>What to do</h3><ol class="remediation">${outcome.remediation.map((step) => html`<li>${step}</li>`)}</ol>`}
</section>`;
}

function headerList(headers: Record<string, string>): Html {
  const entries = Object.entries(headers).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  return html`<ul class="plain">${entries.map(([name, value]) => html`<li><code>${name}: ${value}</code></li>`)}</ul>`;
}

function httpCell(probe: ProbeDetailView | null): Html {
  if (!probe) return html`<span class="muted">–</span>`;
  return probe.httpStatus === null ? html`no response <code>${probe.errorCode ?? ''}</code>` : html`${probe.httpStatus}`;
}

function messageCell(probe: ProbeDetailView | null): Html {
  return probe?.message ? html`<pre class="message">${probe.message}</pre>` : html`<span class="muted">none</span>`;
}

function changesSection(detail: ConnectionDetailView, now: Date): Html {
  const latest = detail.probes[0] ?? null;
  const { lastOk, changes } = detail;
  if (!lastOk || !changes) {
    return html`<section><h2>What changed since the last success</h2><p class="muted">${
      latest ? 'Nothing to compare with: this connection never succeeded (or its last success was pruned).' : 'Not probed yet.'
    }</p></section>`;
  }
  const same = (a: string, b: string) => (a === b ? html`<span class="same">same</span>` : html`<span class="changed">changed</span>`);
  return html`<section class="changes"><h2>What changed since the last success</h2>
<p>Last success ${instantCell(lastOk.at, now)} compared with the latest probe ${latest ? instantCell(latest.at, now) : ''}:</p>
<ul class="change-lines">${describeChanges(changes).map((line) => html`<li>${line}</li>`)}</ul>
<div class="table-wrap"><table class="compare">
<thead><tr><th scope="col"></th><th scope="col">At the last success</th><th scope="col">Latest probe</th><th scope="col"></th></tr></thead>
<tbody>
<tr><th scope="row">HTTP status</th><td>${httpCell(lastOk)}</td><td>${httpCell(latest)}</td><td>${same(String(lastOk.httpStatus), String(latest?.httpStatus))}</td></tr>
<tr><th scope="row">Atlassian headers</th><td>${headerList(lastOk.headers)}</td><td>${headerList(latest?.headers ?? {})}</td><td>${same(
    JSON.stringify(Object.keys(lastOk.headers).sort()),
    JSON.stringify(Object.keys(latest?.headers ?? {}).sort()),
  )}</td></tr>
<tr><th scope="row">Server message</th><td>${messageCell(lastOk)}</td><td>${messageCell(latest)}</td><td>${same(lastOk.message ?? '', latest?.message ?? '')}</td></tr>
</tbody></table></div>
<p class="muted">Headers are compared by name (trace and request ids differ at every request).</p>
</section>`;
}

function certificateSection(detail: ConnectionDetailView, now: Date): Html {
  const probe = detail.probes.find((candidate) => candidate.tlsDetails !== null);
  const tls = probe?.tlsDetails;
  if (!probe || !tls) return html`<section><h2>Certificate</h2><p class="muted">No TLS handshake recorded (plain http:// or no connection yet).</p></section>`;
  const daysLeft = tls.notAfter ? Math.floor((Date.parse(tls.notAfter) - now.getTime()) / DAY_MS) : null;
  const expiry = tls.notAfter
    ? html`${instantCell(tls.notAfter, now)}${daysLeft !== null && daysLeft < 30 ? html` <span class="warn">${daysLeft < 0 ? 'expired' : `${daysLeft} days left`}</span>` : ''}`
    : null;
  return html`<section><h2>Certificate</h2>
<p class="muted">As seen by the probe ${instantCell(probe.at, now)}.</p>
${facts([
  ['Verified', tls.authorized ? 'yes' : html`<span class="warn">no</span> <code>${tls.authorizationError ?? ''}</code>`],
  ['Protocol', tls.protocol],
  ['Cipher', tls.cipher],
  ['Subject', tls.subject],
  ['Issuer', tls.issuer],
  ['Names', tls.sans.length ? tls.sans.join(', ') : null],
  ['Serial', tls.serial],
  ['SHA-256', tls.fingerprint256 ? html`<code class="wrap">${tls.fingerprint256}</code>` : null],
  ['Valid from', instantCell(tls.notBefore, now, '–')],
  ['Expires', expiry],
  ['Chain expires', instantCell(tls.chainEarliestNotAfter, now, '–')],
])}
</section>`;
}

function incident(item: IncidentView, now: Date): Html {
  return html`<article class="incident"><h3>${item.kind} <span class="muted">since</span> ${instantCell(item.openedAt, now)}</h3>
${
  item.notifications.length === 0
    ? html`<p class="muted">No notification was sent for it (no channel configured, or not yet).</p>`
    : html`<div class="table-wrap"><table><thead><tr><th scope="col">Channel</th><th scope="col">Kind</th><th scope="col">Created</th><th scope="col">Result</th><th scope="col">Attempts</th></tr></thead><tbody>${item.notifications.map(
        (n) => html`<tr><td>${n.channel}</td><td>${n.kind}</td><td>${timeCell(n.createdAt, now)}</td><td>${
          n.deliveredAt
            ? html`delivered ${timeCell(n.deliveredAt, now)}`
            : n.failedAt
              ? html`<span class="warn">failed</span> ${n.lastError ?? ''}`
              : html`pending${n.lastError ? html` <span class="muted">(${n.lastError})</span>` : ''}`
        }</td><td>${n.attempts}</td></tr>`,
      )}</tbody></table></div>`
}</article>`;
}

function incidentsSection(detail: ConnectionDetailView, now: Date): Html {
  return html`<section><h2>Open incidents</h2>${
    detail.openIncidents.length === 0 ? html`<p class="muted">None.</p>` : detail.openIncidents.map((item) => incident(item, now))
  }</section>`;
}

function historySection(detail: ConnectionDetailView, now: Date): Html {
  if (detail.probes.length === 0) return html`<section><h2>Probe history</h2><p class="muted">No probe recorded.</p></section>`;
  return html`<section><h2>Probe history</h2>
<p class="muted">The ${detail.probes.length} most recent probes, newest first; phase timings in milliseconds.</p>
<div class="table-wrap"><table class="history">
<thead><tr><th scope="col">Started</th><th scope="col">Outcome</th><th scope="col">HTTP</th>${TIMING_PHASES.map((phase) => html`<th scope="col" class="num">${phase.replace('_', ' ')}</th>`)}</tr></thead>
<tbody>${detail.probes.map(
    (probe) => html`<tr class="class-${probe.class}"><td><time datetime="${probe.at}" title="${relativeTime(probe.at, now)}">${probe.at.slice(0, 19).replace('T', ' ')}</time></td><td><code>${probe.outcome}</code></td><td>${
      probe.httpStatus ?? probe.errorCode ?? '–'
    }</td>${TIMING_PHASES.map((phase) => html`<td class="num">${phaseMs(probe.timings[phase])}</td>`)}</tr>`,
  )}</tbody></table></div>
</section>`;
}

/** The part of the connection page that auto-refresh swaps. */
export function connectionContent(detail: ConnectionDetailView, now: Date): Html {
  return html`${header(detail, now)}
${diagnosis(detail)}
${changesSection(detail, now)}
${incidentsSection(detail, now)}
${certificateSection(detail, now)}
${historySection(detail, now)}`;
}
