// The classifier: one probe observation → one outcome of docs/outcomes.md with a one-line detail. Pure: an ordered
// table of rules, the first whose predicate matches wins; status, Content-Type, body and Atlassian headers are
// read together (no single status code identifies a cause). The words of the details live in describe.ts.
import type { HttpDetails, Identity, ProbeError, ProbeObservation } from '../probe/observation.js';
import { outcomeClass, type Outcome } from './outcome-names.js';
import { describeLintCodes } from './header-lint.js';
import type { ClassifyContext, Diagnosis } from './types.js';
import { CERT_ERROR_CODES, certificateCode, clientCertAlert, describeCertificateProblem, describeClientCertRejection, describeProxy } from './describe.js';
import { describeResponse, errorText, formatSeconds, header, hostOf, isCertError, isHtml, isJsonOrUnlabelled, oneLine } from './describe.js';
import { probedPath, quote, redactLocation, serverMessage, truncate, withLintHint } from './describe.js';
import { describeIdentity, hasIdentity, identityFromJson, identityMismatches, isJsonObject } from './identity.js';

export { accountIdentity, identityFromJson } from './identity.js';
export { openSslReason, serverMessage } from './describe.js';

/** What the rules look at, read once from the observation. */
export interface ObservedFacts {
  observation: ProbeObservation;
  error: ProbeError | null;
  http: HttpDetails | null;
  status: number | null;
  /** 'application/json', 'text/html', … without parameters, lower-cased; null when absent. */
  mediaType: string | null;
  /** X-Seraph-LoginReason split on commas, upper-cased (the header can hold several values). */
  loginReasons: string[];
  /** The identity the probe extracted, or one read from the JSON body. */
  identity: Identity | null;
}

interface OutcomeRule {
  outcome: Outcome;
  when: (facts: ObservedFacts, context: ClassifyContext) => boolean;
  detail: (facts: ObservedFacts, context: ClassifyContext) => string;
}

export function classify(observation: ProbeObservation, context: ClassifyContext): Diagnosis {
  const facts = readFacts(observation);
  const rule = OUTCOME_RULES.find((candidate) => candidate.when(facts, context)) ?? FALLBACK_RULE;
  return { outcome: rule.outcome, class: outcomeClass(rule.outcome), detail: oneLine(rule.detail(facts, context)) };
}

// ---------------------------------------------------------------------------------------------------------------
// Signatures

const DNS_ERROR_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENETDOWN',
]);
/** OpenSSL verification codes and Node's hostname check: the server answered the handshake with a certificate we refuse. */
/** Verification codes of a certificate whose issuer is not trusted: what a TLS-inspecting proxy's certificate gets. */
const UNTRUSTED_ISSUER_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED',
]);
/** TLS alerts (RFC 8446 section 6) a server sends about the client certificate, by number. */
/** nginx's pages for its 496 and 495 (sent as 400) when `ssl_verify_client on` finds no or a bad certificate. */
const NGINX_NO_CLIENT_CERT = 'no required ssl certificate was sent';
const NGINX_CLIENT_CERT_ERROR = 'the ssl certificate error';
const HANDSHAKE_FAILURE_MESSAGE =
  /unsupported protocol|no shared cipher|wrong version number|alert handshake failure|alert protocol version|no protocols available|no ciphers available|no cipher match|dh key too small|unsafe legacy renegotiation/i;
const BASIC_AUTH_DEPRECATED_PREFIX = 'basic authentication with passwords is deprecated';
const SCOPE_MISMATCH_TEXT = 'scope does not match';
const BASIC_AUTH_DISABLED_TEXT = 'basic authentication has been disabled';

/** got's timeout phases, named as the probe's timing phases. */
const TIMEOUT_PHASE_NAMES: Record<string, string> = {
  lookup: 'dns',
  connect: 'connect',
  secureConnect: 'tls',
  socket: 'connect',
  send: 'request',
  response: 'first_byte',
  read: 'download',
  request: 'total',
};

const isTimeoutCode = (code: string) => /TIMEDOUT|TIMEOUT/i.test(code);
const isHandshakeError = (error: ProbeError) =>
  !CERT_ERROR_CODES.has(error.code) &&
  (error.code === 'EPROTO' || error.code.startsWith('ERR_SSL_') || HANDSHAKE_FAILURE_MESSAGE.test(error.message));
const statusIs = (facts: ObservedFacts, status: number) => facts.status === status;
const is2xx = (facts: ObservedFacts) => facts.status !== null && facts.status >= 200 && facts.status < 300;
const bodyText = (facts: ObservedFacts) => facts.http?.message ?? '';
const bodyIncludes = (facts: ObservedFacts, text: string) => bodyText(facts).toLowerCase().includes(text);

function captchaSignal(facts: ObservedFacts): string | null {
  const deniedReason = header(facts, 'x-authentication-denied-reason');
  if (deniedReason?.trim().toUpperCase().startsWith('CAPTCHA_CHALLENGE')) return `X-Authentication-Denied-Reason: ${deniedReason}`;
  if (facts.loginReasons.includes('AUTHENTICATION_DENIED')) return `X-Seraph-LoginReason: ${header(facts, 'x-seraph-loginreason')}`;
  return null;
}

/** Every header that says the request ran as anonymous, joined; null when none does. */
function anonymousSignal(facts: ObservedFacts): string | null {
  const signals: string[] = [];
  if (header(facts, 'x-ausername')?.trim().toLowerCase() === 'anonymous') signals.push('X-AUSERNAME: anonymous');
  if (facts.loginReasons.includes('AUTHENTICATED_FAILED')) signals.push(`X-Seraph-LoginReason: ${header(facts, 'x-seraph-loginreason')}`);
  return signals.length > 0 ? signals.join(', ') : null;
}

// ---------------------------------------------------------------------------------------------------------------
// The table. Order is precedence; see the comments where it differs from the obvious.

export const OUTCOME_RULES: readonly OutcomeRule[] = [
  {
    outcome: 'credential_missing',
    when: (facts) => facts.observation.credential.status === 'missing',
    detail: (facts) => facts.observation.credential.problem ?? 'no credential available',
  },
  {
    outcome: 'credential_malformed',
    when: (facts) => facts.observation.credential.status === 'malformed',
    detail: (facts) => {
      const { problem, findings } = facts.observation.credential;
      const unmentioned = findings.filter((code) => !problem?.includes(code));
      const lint = unmentioned.length > 0 ? `header lint: ${describeLintCodes(unmentioned)}` : null;
      return [problem, lint].filter(Boolean).join('; ') || 'the credential is malformed; nothing was sent';
    },
  },
  {
    // authwatch's own file, before any connection: a local problem, whatever Jira would have said.
    outcome: 'tls_file_unreadable',
    when: (facts) => facts.error?.code === 'TLS_FILE_UNREADABLE',
    detail: (facts) => facts.error!.message,
  },
  {
    // The client certificate or the proxy's password could not be read: a credential of the connection, nothing sent.
    outcome: 'credential_missing',
    when: (facts) => facts.error !== null && (facts.error.code === 'ERR_CLIENT_CERT_UNREADABLE' || facts.error.code === 'ERR_PROXY_SECRET'),
    detail: (facts) => `${facts.error!.message}; nothing was sent`,
  },
  {
    outcome: 'credential_malformed',
    when: (facts) => facts.error?.code === 'ERR_CLIENT_CERT_INVALID',
    detail: (facts) => `${facts.error!.message}; nothing was sent`,
  },
  {
    // Proxy rules come before the network rules: through a proxy, dns and connect errors are the proxy's.
    outcome: 'proxy_unreachable',
    when: (facts) => {
      const proxy = facts.observation.proxy;
      if (!proxy || proxy.tunnel || proxy.status !== null || facts.error === null) return false;
      return DNS_ERROR_CODES.has(facts.error.code) || CONNECT_ERROR_CODES.has(facts.error.code) || /socket hang up/i.test(facts.error.message);
    },
    detail: (facts) => `${describeProxy(facts)}: ${DNS_ERROR_CODES.has(facts.error!.code) ? 'name does not resolve' : 'no connection'}: ${errorText(facts.error!)}`,
  },
  {
    outcome: 'proxy_auth_required',
    when: (facts) => facts.observation.proxy?.status === 407,
    detail: (facts) => {
      const proxy = facts.observation.proxy!;
      const challenge = proxy.headers['proxy-authenticate'];
      const sent = proxy.credentials ? 'refused the proxy credentials sent' : 'wants credentials and no proxy.auth is configured';
      return `${describeProxy(facts)} answered CONNECT with 407: it ${sent}${challenge ? ` (Proxy-Authenticate: ${truncate(challenge, 80)})` : ''}`;
    },
  },
  {
    outcome: 'proxy_tunnel_failed',
    when: (facts) => facts.observation.proxy?.tunnel === false && facts.observation.proxy.status !== null,
    detail: (facts) => {
      const proxy = facts.observation.proxy!;
      const mediaType = proxy.contentType ? proxy.contentType.split(';')[0].trim().toLowerCase() : null;
      const page = serverMessage({ http: { status: proxy.status!, contentType: proxy.contentType, headers: {}, message: proxy.message.slice(0, 500), json: undefined, bodyBytes: 0, bodyTruncated: false }, mediaType });
      const squid = proxy.headers['x-squid-error'];
      const kind = isHtml(mediaType) ? ' block page' : '';
      return `${describeProxy(facts)} answered CONNECT with ${proxy.status} ${mediaType ?? '(no content type)'}${kind}${page ? `: ${quote(page)}` : ''}${squid ? ` (X-Squid-Error: ${truncate(squid, 80)})` : ''}`;
    },
  },
  {
    // Reaching the proxy or waiting for its CONNECT answer ran out: a timeout, said to be the proxy's.
    outcome: 'timeout',
    when: (facts) => facts.observation.proxy?.tunnel === false && facts.error !== null && isTimeoutCode(facts.error.code),
    detail: (facts) => {
      const phase = facts.error!.phase === 'tunnel' ? 'waiting for its answer to CONNECT' : `in phase ${TIMEOUT_PHASE_NAMES[facts.error!.phase ?? ''] ?? facts.error!.phase}`;
      return `timed out reaching ${describeProxy(facts)} ${phase} (${facts.error!.code})`;
    },
  },
  // Before connect_error: a server that hangs up right after asking for a client certificate is refusing it.
  {
    outcome: 'client_cert_required',
    when: (facts) => facts.error !== null && facts.http === null && !facts.observation.clientCertificate?.configured && clientCertAlert(facts) !== null,
    detail: (facts) => `the server requires a client certificate and none is configured (TLS alert ${clientCertAlert(facts)})`,
  },
  {
    outcome: 'client_cert_rejected',
    when: (facts) => facts.error !== null && facts.http === null && facts.observation.clientCertificate?.configured === true && clientCertAlert(facts) !== null,
    detail: (facts) => describeClientCertRejection(facts),
  },
  {
    // nginx (`ssl_verify_client on`) completes the handshake and answers 400 with its own page instead of an alert.
    outcome: 'client_cert_required',
    when: (facts) => statusIs(facts, 400) && !facts.observation.clientCertificate?.configured && bodyIncludes(facts, NGINX_NO_CLIENT_CERT),
    detail: (facts) => `the server requires a client certificate and none is configured (${describeResponse(facts)})`,
  },
  {
    outcome: 'client_cert_rejected',
    when: (facts) =>
      statusIs(facts, 400) && (bodyIncludes(facts, NGINX_CLIENT_CERT_ERROR) || (facts.observation.clientCertificate?.configured === true && bodyIncludes(facts, NGINX_NO_CLIENT_CERT))),
    detail: (facts) => {
      const client = facts.observation.clientCertificate;
      return `the server did not accept the client certificate${client?.subject ? ` ${client.subject}` : ''} (${describeResponse(facts)})`;
    },
  },
  {
    outcome: 'dns_error',
    when: (facts) => facts.error !== null && facts.http === null && DNS_ERROR_CODES.has(facts.error.code),
    detail: (facts) => `name does not resolve: ${errorText(facts.error!)}`,
  },
  {
    // Refused, unreachable or reset before any HTTP response. A reset after the status line arrived is left to the
    // HTTP rules: the server already gave its verdict.
    outcome: 'connect_error',
    when: (facts) =>
      facts.error !== null &&
      facts.http === null &&
      (CONNECT_ERROR_CODES.has(facts.error.code) || /socket hang up/i.test(facts.error.message)),
    detail: (facts) => `no connection: ${errorText(facts.error!)}`,
  },
  {
    // Any phase, including reading the body after the status arrived: without the whole body there is no verdict.
    outcome: 'timeout',
    when: (facts) => facts.error !== null && isTimeoutCode(facts.error.code),
    detail: (facts) => {
      const phase = facts.error!.phase;
      const where = phase ? `in phase ${TIMEOUT_PHASE_NAMES[phase] ?? phase}` : 'before the probe finished';
      const total = facts.observation.timings.total;
      return `timed out ${where}${total !== null ? ` after ${formatSeconds(total)}` : ''} (${facts.error!.code})`;
    },
  },
  {
    outcome: 'tls_handshake_failed',
    when: (facts) => facts.error !== null && facts.http === null && isHandshakeError(facts.error),
    detail: (facts) => `TLS handshake failed: ${errorText(facts.error!)}`,
  },
  {
    // Through a proxy's tunnel, a certificate from an untrusted issuer is the proxy's own (TLS inspection).
    outcome: 'tls_intercepted',
    when: (facts) => facts.observation.proxy?.tunnel === true && UNTRUSTED_ISSUER_CODES.has(certificateCode(facts) ?? ''),
    detail: (facts) => {
      const tls = facts.observation.tls;
      const issuer = tls?.issuer ?? 'an unknown issuer';
      return `intercepted by ${issuer}: through ${describeProxy(facts)}, the certificate for ${hostOf(facts.observation.url) ?? 'Jira'} was issued by ${issuer}, which is not trusted (${certificateCode(facts)}); nothing was sent`;
    },
  },
  {
    // Also when the probe recorded an unverified certificate without an error: credentials never go to such a server.
    outcome: 'tls_cert_invalid',
    when: (facts) => isCertError(facts.error) || facts.observation.tls?.authorized === false,
    detail: (facts, context) => describeCertificateProblem(facts, context),
  },
  {
    outcome: 'oauth_token_error',
    when: (facts) => facts.observation.oauth?.ok === false,
    detail: (facts) => {
      const oauth = facts.observation.oauth!;
      const answer = oauth.httpStatus !== null ? `answered ${oauth.httpStatus}` : 'failed';
      return `token endpoint ${answer}${oauth.error ? `: ${quote(oauth.error)}` : ''}`;
    },
  },
  {
    // CAPTCHA comes with a 403 (what Jira DC sends); a 401 carrying the same explicit CAPTCHA/AUTHENTICATION_DENIED
    // signal is the same lockout (the credentials were not even checked), so it is recognised before the 401 rules.
    outcome: 'captcha_required',
    when: (facts) => (statusIs(facts, 403) || statusIs(facts, 401)) && captchaSignal(facts) !== null,
    detail: (facts) => `${facts.status} ${captchaSignal(facts)}`,
  },
  {
    // Cloud's answer for a password, a revoked/expired token, or an email/token pair that don't belong together.
    // The link after the first sentence has changed over the years: only the prefix is matched (case-insensitively).
    outcome: 'basic_auth_rejected',
    when: (facts) => statusIs(facts, 401) && bodyText(facts).trimStart().toLowerCase().startsWith(BASIC_AUTH_DEPRECATED_PREFIX),
    detail: (facts) => withLintHint(describeResponse(facts), facts),
  },
  {
    outcome: 'scope_mismatch',
    when: (facts) => statusIs(facts, 401) && bodyIncludes(facts, SCOPE_MISMATCH_TEXT),
    detail: (facts) => describeResponse(facts),
  },
  {
    outcome: 'auth_rejected',
    when: (facts) => statusIs(facts, 401),
    detail: (facts) => withLintHint(describeResponse(facts, ['x-seraph-loginreason', 'www-authenticate']), facts),
  },
  {
    outcome: 'basic_auth_disabled',
    when: (facts) => statusIs(facts, 403) && bodyIncludes(facts, BASIC_AUTH_DISABLED_TEXT),
    detail: (facts) => describeResponse(facts),
  },
  {
    outcome: 'forbidden',
    when: (facts) => statusIs(facts, 403),
    detail: (facts) => describeResponse(facts, ['x-seraph-loginreason']),
  },
  {
    // Before every other 2xx rule: an SSO proxy or login page answered, whatever Atlassian headers came with it.
    outcome: 'login_page',
    when: (facts) => is2xx(facts) && isHtml(facts.mediaType),
    detail: (facts) => describeResponse(facts, ['x-seraph-loginreason', 'x-ausername']),
  },
  {
    // The headers win over the body: a 2xx JSON with AUTHENTICATED_FAILED ran as anonymous even if it carries data.
    outcome: 'anonymous',
    when: (facts) => is2xx(facts) && anonymousSignal(facts) !== null,
    detail: (facts) => `${facts.status} with ${anonymousSignal(facts)}: the credentials were ignored and the request ran as anonymous`,
  },
  {
    // A 2xx from /myself must be a JSON object. Not one — a non-JSON Content-Type (text/plain, XML, none with a body
    // that does not parse), a body that does not parse as JSON, a JSON array/string/number/null, or an empty 204 —
    // is `unexpected_response`: something other than Jira's /myself answered. A JSON object that parses but carries
    // none of accountId/name/key is the next rule's `anonymous` ("no identity in the body").
    outcome: 'unexpected_response',
    when: (facts) => is2xx(facts) && !(isJsonOrUnlabelled(facts.mediaType) && isJsonObject(facts.http!.json)),
    detail: (facts) => `${describeResponse(facts)}; expected a JSON object from ${probedPath(facts)}`,
  },
  {
    outcome: 'anonymous',
    when: (facts) => is2xx(facts) && !hasIdentity(facts.identity),
    detail: (facts) => `${facts.status} ${facts.mediaType ?? 'JSON'} without accountId, name or key: no identity, the credentials were ignored`,
  },
  {
    outcome: 'identity_mismatch',
    when: (facts, context) => is2xx(facts) && identityMismatches(facts.identity!, context.expect).length > 0,
    detail: (facts, context) =>
      `authenticated as ${describeIdentity(facts.identity!)}; ${identityMismatches(facts.identity!, context.expect).join('; ')}`,
  },
  {
    outcome: 'ok',
    when: (facts) => is2xx(facts),
    detail: (facts) => `${facts.status} as ${describeIdentity(facts.identity!)}`,
  },
  {
    outcome: 'redirected',
    when: (facts) => facts.status !== null && facts.status >= 300 && facts.status < 400,
    detail: (facts) => {
      const location = header(facts, 'location');
      return location ? `${facts.status} → ${redactLocation(location, facts.observation.url)}` : `${facts.status} without a Location header`;
    },
  },
  {
    outcome: 'rate_limited',
    when: (facts) => statusIs(facts, 429),
    detail: (facts) => describeResponse(facts, ['retry-after', 'ratelimit-reason', 'x-ratelimit-remaining', 'x-ratelimit-reset']),
  },
  {
    outcome: 'server_error',
    when: (facts) => facts.status !== null && facts.status >= 500 && facts.status < 600,
    detail: (facts) => describeResponse(facts, ['retry-after']),
  },
  {
    outcome: 'not_found',
    when: (facts) => statusIs(facts, 404),
    detail: (facts) => `${describeResponse(facts)} for ${probedPath(facts)}`,
  },
];

/** Anything else: another status (400, 405, 407, …), or an error no rule above recognises. */
const FALLBACK_RULE: OutcomeRule = {
  outcome: 'unexpected_response',
  when: () => true,
  detail: (facts) => {
    if (facts.http) return describeResponse(facts);
    if (facts.error) return `no response: ${errorText(facts.error)}`;
    return 'no response and no error were recorded';
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Reading the observation

export function readFacts(observation: ProbeObservation): ObservedFacts {
  const http = observation.http;
  const mediaType = http?.contentType ? http.contentType.split(';')[0].trim().toLowerCase() || null : null;
  const loginReason = http?.headers['x-seraph-loginreason'] ?? '';
  return {
    observation,
    error: observation.error,
    http,
    status: http?.status ?? null,
    mediaType,
    loginReasons: loginReason.split(',').map((reason) => reason.trim().toUpperCase()).filter(Boolean),
    identity: observation.identity ?? identityFromJson(http?.json),
  };
}
