#!/usr/bin/env node
// Prints docs/outcomes.md: the closed list of outcomes with class, what Jira answered, explanation and
// remediation. Explanation and remediation come from the built outcome guide (dist/src/diagnosis/outcomes.js),
// so the doc says exactly what `check`, the API and the notifications say. Regenerate after changing the guide:
//   npm run build && node scripts/outcomes-doc.mjs > docs/outcomes.md
// test/unit/outcomes-doc.test.ts fails while docs/outcomes.md differs from this script's output.
import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const guideModule = new URL('../dist/src/diagnosis/outcomes.js', import.meta.url);
const namesModule = new URL('../dist/src/diagnosis/outcome-names.js', import.meta.url);
if (!existsSync(guideModule) || !existsSync(namesModule)) {
  process.stderr.write('outcomes-doc: dist/src/diagnosis is missing; run `npm run build` first\n');
  process.exit(1);
}
const { describeOutcome } = await import(guideModule.href);
const { OUTCOMES, outcomeClass } = await import(namesModule.href);

// What the probe saw for each outcome: the classifier's signatures, in the words of what real Jira sends, and
// the rules of src/diagnosis/classify.ts. The guide has no such field, so it lives here; an outcome added to the
// closed list without an entry here stops this script (and so the doc test) until it is described.
const ANSWERS = {
  credential_missing: 'Jira was not asked: the environment variable is unset, or the secret file is unreadable or empty.',
  credential_malformed:
    'Jira was not asked: the secret contains whitespace or a control character (one trailing newline of a secret file is stripped, nothing else), or an `auth.type: header` value fails the header lint (`authwatch explain-header`).',
  tls_file_unreadable: 'Jira was not asked: authwatch cannot read a TLS file of its own config (`tls.caFile`): missing, or not readable by the service user.',
  proxy_unreachable:
    'No answer from the proxy (configured `proxy`, or HTTPS_PROXY): its name does not resolve, or the TCP connection to it was refused or reset before it answered the CONNECT.',
  proxy_auth_required: 'The proxy answered `CONNECT host:443` with `407 Proxy Authentication Required` (its `Proxy-Authenticate` is recorded); Jira was not asked.',
  proxy_tunnel_failed:
    'The proxy answered the CONNECT with another error (403, 502, 503, …) or an HTML block page (its title and e.g. `X-Squid-Error` are recorded); Jira was not asked.',
  dns_error: 'No answer: the host name does not resolve (`ENOTFOUND`, `EAI_AGAIN`, …).',
  connect_error: 'No answer: the TCP connection was refused, unreachable, or reset before any HTTP response (`ECONNREFUSED`, `ECONNRESET`, `EHOSTUNREACH`, "socket hang up").',
  timeout: 'No complete answer in time: a phase (dns, connect, tls, first_byte, download) ran out; the phase is recorded.',
  client_cert_required:
    'No HTTP answer: the server asked for a client certificate and, none being configured, ended the handshake (TLS alert `certificate_required`, or `handshake_failure` after a CertificateRequest); or nginx\'s 400 page "No required SSL certificate was sent".',
  client_cert_rejected:
    'No HTTP answer: the server refused the configured client certificate with a TLS alert — `unknown_ca`, `certificate_expired`, `bad_certificate`, `certificate_revoked`, … (recorded) — or closed the connection right after asking for it; or nginx\'s 400 page "The SSL certificate error".',
  tls_handshake_failed:
    'No HTTP answer: client and server found no common TLS version or cipher (a server that speaks only TLS 1.0/1.1, or `tls.minVersion` above what it supports).',
  tls_intercepted:
    'Through a proxy, the certificate presented for Jira was issued by an untrusted CA (`SELF_SIGNED_CERT_IN_CHAIN`, `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`, …): a TLS-inspecting proxy. The issuer is recorded; the credentials are not sent.',
  tls_cert_invalid:
    'The certificate failed verification — expired, not yet valid, untrusted issuer, self-signed, or another host name (the code is recorded, e.g. `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`). The certificate is recorded; the credentials are not sent.',
  oauth_token_error: 'The oauth2 token endpoint refused the client credentials (e.g. 401 `{"error":"invalid_client"}`) or failed; Jira itself was not asked.',
  basic_auth_rejected:
    '401 `text/plain` whose body starts with `Basic authentication with passwords is deprecated.` — Cloud\'s answer for a password, an expired or revoked API token, and an email/token pair that do not belong together.',
  scope_mismatch: '401 whose body contains `scope does not match`, e.g. `{"code":401,"message":"Unauthorized; scope does not match"}`.',
  auth_rejected:
    'Any other 401: on Cloud `{"message":"Client must be authenticated to access this resource.","status-code":401}`; on Data Center the HTML page "Basic Authentication Failure - Reason : AUTHENTICATED_FAILED" with `X-Seraph-LoginReason: AUTHENTICATED_FAILED`.',
  captcha_required:
    '403 (or 401) with `X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE; login-url=…` or `X-Seraph-LoginReason: AUTHENTICATION_DENIED`: the lockout after too many failed logins; from then on even the right password is refused until someone clears it.',
  basic_auth_disabled: '403 JSON `{"message":"Basic Authentication has been disabled on this instance."}` (Data Center 8.16+ with basic auth switched off).',
  forbidden: 'Any other 403: the account lacks product access or permission, or a WAF / IP allow-list in front of Jira refused the request.',
  anonymous:
    '2xx, but it ran as the anonymous user: `X-AUSERNAME: anonymous`, `X-Seraph-LoginReason: AUTHENTICATED_FAILED` (Cloud with an expired token, with an `atlassian.xsrf.token=…_lout` cookie), or a JSON object without accountId, name or key.',
  identity_mismatch: '2xx JSON from `/myself` as an account other than the connection\'s `expect` (accountId, username or email).',
  redirected: '3xx: a redirect to an identity provider, `login.jsp` or a renamed site; the `Location` is recorded and never followed.',
  login_page: '2xx `text/html`: an SSO proxy or a login page answered instead of the REST API.',
  rate_limited: '429 with `Retry-After`; Cloud adds `RateLimit-Reason` and `X-RateLimit-*`, Data Center `X-RateLimit-Limit`/`-Remaining`/`-Interval-Seconds`/`-FillRate`.',
  server_error: '5xx: Cloud\'s 503 with `Retry-After`, Jira\'s own 500, or a 502/503/504 from a proxy or load balancer.',
  not_found: '404: usually a wrong base URL or a missing context path.',
  unexpected_response: 'Anything else: another status (400, 405, 407, 418, …), a 2xx that is not a JSON object, or an error no rule above recognises.',
  ok: '2xx JSON from `/myself` with an identity (Cloud: `accountId`, header `X-AACCOUNTID`; Data Center: `name`/`key`, header `X-AUSERNAME`) that matches `expect`.',
};

const unknown = OUTCOMES.filter((outcome) => !(outcome in ANSWERS));
const stale = Object.keys(ANSWERS).filter((outcome) => !OUTCOMES.includes(outcome));
if (unknown.length > 0 || stale.length > 0) {
  process.stderr.write(
    `outcomes-doc: ANSWERS must describe exactly the outcomes of the closed list${unknown.length ? `; missing: ${unknown.join(', ')}` : ''}${stale.length ? `; no longer outcomes: ${stale.join(', ')}` : ''}\n`,
  );
  process.exit(1);
}

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const steps = (list) => list.map((step, index) => `${index + 1}. ${step}`);

function section(outcome) {
  const cloud = describeOutcome(outcome, 'cloud');
  const datacenter = describeOutcome(outcome, 'datacenter');
  const lines = [`<a id="${outcome}"></a>`, `### \`${outcome}\` — ${cloud.title}`, '', `**Class:** ${outcomeClass(outcome)}`, '', `**What Jira answered:** ${ANSWERS[outcome]}`, ''];
  if (cloud.explanation === datacenter.explanation) {
    lines.push(`**Explanation:** ${cloud.explanation}`, '');
  } else {
    lines.push('**Explanation:**', '', `- Jira Cloud: ${cloud.explanation}`, `- Data Center: ${datacenter.explanation}`, '');
  }
  if (isDeepStrictEqual(cloud.remediation, datacenter.remediation)) {
    lines.push('**What to do:**', '', ...steps(cloud.remediation), '');
  } else {
    lines.push('**What to do on Jira Cloud:**', '', ...steps(cloud.remediation), '', '**What to do on Data Center:**', '', ...steps(datacenter.remediation), '');
  }
  return lines;
}

const output = [
  '# Outcomes',
  '',
  '<!-- Generated by scripts/outcomes-doc.mjs from the outcome guide in src/diagnosis/outcomes.ts; do not edit by hand.',
  '     Regenerate: npm run build && node scripts/outcomes-doc.mjs > docs/outcomes.md -->',
  '',
  `Every probe ends in exactly one of these ${OUTCOMES.length} outcomes (a closed list: a new one is a breaking change). The outcome is`,
  'the `outcome` column of `authwatch check`, `status` and `history`, the `outcome` field of their `--json` output',
  '(docs/cli.md) and of the HTTP API, and the `outcome` label of `authwatch_probes_total` and `authwatch_last_outcome_info`.',
  '',
  'The class decides what a run of failures (`failureThreshold` in a row) does to a connection: `auth` failures make it',
  '`failing` if it never authenticated and `regressed` if it did; `network`, `tls` and `server` failures make an `ok` (or',
  'new) connection `unreachable`, and leave a `failing` or `regressed` one where it is, since without an answer the auth',
  'verdict cannot change.',
  '',
  'The explanation and the steps are the ones `check` prints after a failure, `check --json` returns as `explanation` and',
  '`remediation`, and the notifications carry. Where Jira Cloud and Data Center differ, both are given (the connection\'s',
  '`deployment` picks one). "What Jira answered" is what the classifier (src/diagnosis/classify.ts) recognises; when',
  'several rules could match, the first in its table wins.',
  '',
  '| outcome | class | what Jira answered |',
  '|---|---|---|',
  ...OUTCOMES.map((outcome) => `| [\`${outcome}\`](#${outcome}) | ${outcomeClass(outcome)} | ${cell(ANSWERS[outcome])} |`),
  '',
  '## The outcomes',
  '',
  ...OUTCOMES.flatMap(section),
];
process.stdout.write(`${output.join('\n').trimEnd()}\n`);
