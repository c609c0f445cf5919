// The classifier (SPEC section 5): one probe observation → one outcome with a one-line detail.
// Pure: an ordered table of rules, the first whose predicate matches wins. No I/O, no clock.
// Field notes behind the signatures: /work/shared/jira-responses.md (status, Content-Type, body and
// Atlassian headers are read together; no single status code identifies a cause).
import type { HttpDetails, Identity, ProbeError, ProbeObservation } from '../probe/observation.js';
import { outcomeClass, type Outcome } from './outcome-names.js';
import { describeLintCodes } from './header-lint.js';
import type { ClassifyContext, Diagnosis } from './types.js';

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
const CERT_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE', 'CERT_CHAIN_TOO_LONG', 'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD', 'CRL_HAS_EXPIRED', 'UNABLE_TO_GET_CRL',
]);
/** Verification codes of a certificate whose issuer is not trusted: what a TLS-inspecting proxy's certificate gets. */
const UNTRUSTED_ISSUER_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED',
]);
/** TLS alerts (RFC 8446 section 6) a server sends about the client certificate, by number. */
const CLIENT_CERT_ALERTS: Record<number, string> = {
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  48: 'unknown_ca',
  49: 'access_denied',
  116: 'certificate_required',
};
const HANDSHAKE_FAILURE_ALERT = 40;
/** nginx's pages for its 496 and 495 (sent as 400) when `ssl_verify_client on` finds no or a bad certificate. */
const NGINX_NO_CLIENT_CERT = 'no required ssl certificate was sent';
const NGINX_CLIENT_CERT_ERROR = 'the ssl certificate error';
const HANDSHAKE_FAILURE_MESSAGE =
  /unsupported protocol|no shared cipher|wrong version number|alert handshake failure|alert protocol version|no protocols available|no ciphers available|no cipher match|dh key too small|unsafe legacy renegotiation/i;
const BASIC_AUTH_DEPRECATED_PREFIX = 'basic authentication with passwords is deprecated';
const SCOPE_MISMATCH_TEXT = 'scope does not match';
const BASIC_AUTH_DISABLED_TEXT = 'basic authentication has been disabled';

/** got's timeout phases, named as the SPEC's timing phases. */
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
const isCertError = (error: ProbeError | null) => error !== null && CERT_ERROR_CODES.has(error.code);
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
    // The SPEC lists CAPTCHA with 403 (what Jira DC sends); a 401 carrying the same explicit CAPTCHA/AUTHENTICATION_DENIED
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
    // none of accountId/name/key is the next rule's `anonymous` (SPEC: "no identity in the body").
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

export function identityFromJson(json: unknown): Identity | null {
  if (!isJsonObject(json)) return null;
  const text = (key: string) => (typeof json[key] === 'string' && json[key] !== '' ? (json[key] as string) : null);
  return {
    accountId: text('accountId'),
    name: text('name'),
    key: text('key'),
    emailAddress: text('emailAddress'),
    displayName: text('displayName'),
    active: typeof json.active === 'boolean' ? json.active : null,
  };
}

function hasIdentity(identity: Identity | null): identity is Identity {
  return identity !== null && Boolean(identity.accountId || identity.name || identity.key);
}

/** The account a /myself answer names; null when it names none (no accountId, name or key). */
export function accountIdentity(json: unknown): Identity | null {
  const identity = identityFromJson(json);
  return hasIdentity(identity) ? identity : null;
}

/**
 * Each way the identity differs from `expect`. accountIds compare exactly; usernames and emails case-insensitively
 * (Jira DC usernames are case-insensitive). Cloud may hide emailAddress (null) for privacy: an expected email that
 * can't be checked is reported as a mismatch, with the accountId to expect instead, rather than passed unverified.
 */
export function identityMismatches(identity: Identity, expect: ClassifyContext['expect']): string[] {
  if (!expect) return [];
  const mismatches: string[] = [];
  const sameText = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();
  if (expect.accountId !== undefined && identity.accountId !== expect.accountId) {
    mismatches.push(`expected accountId ${expect.accountId}`);
  }
  if (expect.username !== undefined && !sameText(identity.name, expect.username)) {
    mismatches.push(`expected username ${expect.username}`);
  }
  if (expect.email !== undefined && !sameText(identity.emailAddress, expect.email)) {
    mismatches.push(
      identity.emailAddress === null
        ? `expected email ${expect.email}, but Jira does not disclose this account's email${identity.accountId ? ` (expect accountId ${identity.accountId} instead)` : ''}`
        : `expected email ${expect.email}`,
    );
  }
  return mismatches;
}

function describeIdentity(identity: Identity): string {
  const who = identity.accountId
    ? `accountId ${identity.accountId}`
    : identity.name
      ? `username ${identity.name}`
      : `key ${identity.key}`;
  const extras = [identity.displayName, identity.emailAddress].filter(Boolean).join(', ');
  return extras ? `${who} (${extras})` : who;
}

// ---------------------------------------------------------------------------------------------------------------
// Detail lines

function header(facts: ObservedFacts, name: string): string | null {
  return facts.http?.headers[name] ?? null;
}

const HEADER_DISPLAY_NAMES: Record<string, string> = {
  'x-seraph-loginreason': 'X-Seraph-LoginReason',
  'x-ausername': 'X-AUSERNAME',
  'www-authenticate': 'WWW-Authenticate',
  'retry-after': 'Retry-After',
  'ratelimit-reason': 'RateLimit-Reason',
  'x-ratelimit-remaining': 'X-RateLimit-Remaining',
  'x-ratelimit-reset': 'X-RateLimit-Reset',
};

/** `401 text/plain: "Basic authentication with passwords is deprecated." (X-Seraph-LoginReason: AUTHENTICATED_FAILED)` */
function describeResponse(facts: ObservedFacts, headerNames: string[] = []): string {
  const message = serverMessage(facts);
  const headers = headerNames
    .map((name) => [HEADER_DISPLAY_NAMES[name] ?? name, header(facts, name)] as const)
    .filter(([, value]) => value !== null && value !== '')
    .map(([name, value]) => `${name}: ${truncate(value!, 80)}`);
  return `${facts.status} ${facts.mediaType ?? '(no content type)'}${message ? `: ${quote(message)}` : ''}${headers.length > 0 ? ` (${headers.join(', ')})` : ''}`;
}

/** The server's own words: a JSON message field, an HTML title, or the first sentence of a text body. */
export function serverMessage(facts: Pick<ObservedFacts, 'http' | 'mediaType'>): string | null {
  const http = facts.http;
  if (!http) return null;
  const json = http.json;
  if (isJsonObject(json)) {
    const errorMessages = Array.isArray(json.errorMessages) ? json.errorMessages : [];
    const errors = isJsonObject(json.errors) ? Object.values(json.errors) : [];
    const candidates = [json.message, errorMessages[0], errors[0], json.error_description, json.errorMessage, json.error];
    const found = candidates.find((value): value is string => typeof value === 'string' && value.trim() !== '');
    if (found) return truncate(collapse(found), 160);
  }
  const text = http.message;
  if (!text.trim()) return null;
  if (isHtml(facts.mediaType) || /^\s*<(!doctype|html)/i.test(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
    return title && title.trim() ? truncate(collapse(decodeBasicEntities(title)), 160) : null;
  }
  const collapsed = collapse(text);
  const firstSentence = /^.*?[.!?](?=\s|$)/.exec(collapsed)?.[0] ?? collapsed;
  return truncate(firstSentence, 160);
}

function withLintHint(detail: string, facts: ObservedFacts): string {
  const findings = facts.observation.credential.findings;
  return findings.length > 0 ? `${detail}; header lint: ${describeLintCodes(findings)}` : detail;
}

function describeCertificateProblem(facts: ObservedFacts, context: ClassifyContext): string {
  const tls = facts.observation.tls;
  const code = (isCertError(facts.error) ? facts.error!.code : null) ?? tls?.authorizationError ?? facts.error?.code ?? 'unverified';
  const date = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : null);
  switch (code) {
    case 'CERT_HAS_EXPIRED': {
      const leaf = date(tls?.notAfter);
      const earliest = date(tls?.chainEarliestNotAfter);
      if (earliest && leaf && earliest < leaf) return `a certificate in the chain expired on ${earliest} (${code})`;
      return leaf ? `certificate expired on ${leaf} (${code})` : `certificate expired (${code})`;
    }
    case 'CERT_NOT_YET_VALID': {
      const from = date(tls?.notBefore);
      return from ? `certificate not valid before ${from} (${code})` : `certificate not yet valid (${code})`;
    }
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH': {
      // The name checked is tls.serverName when one is set, not the URL's host.
      const host = context.serverName ? `${context.serverName} (tls.serverName)` : hostOf(facts.observation.url);
      const names = tls?.sans.length ? tls.sans.join(', ') : tls?.subject;
      return `certificate is not valid for ${host ?? 'this host'}${names ? ` (it names ${truncate(names, 120)})` : ''} (${code})`;
    }
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `self-signed certificate${tls?.subject ? ` ${tls.subject}` : ''} (${code})`;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_UNTRUSTED':
      return `certificate${tls?.issuer ? ` issued by ${tls.issuer}` : ''} is not trusted (${code})`;
    default:
      return `certificate rejected (${code})`;
  }
}

function describeProxy(facts: ObservedFacts): string {
  const proxy = facts.observation.proxy!;
  return `the proxy ${proxy.url}${proxy.source === 'config' ? '' : ` (from ${proxy.source})`}`;
}

function certificateCode(facts: ObservedFacts): string | null {
  return (isCertError(facts.error) ? facts.error!.code : null) ?? facts.observation.tls?.authorizationError ?? null;
}

/**
 * The TLS alert the server ended the handshake with, when it is about the client certificate: one of
 * CLIENT_CERT_ALERTS, or handshake_failure after the server asked for a certificate (what TLS 1.2 servers send
 * when none came). Null for every other failure.
 */
function clientCertAlert(facts: ObservedFacts): string | null {
  const error = facts.error;
  if (!error) return null;
  const number = Number(/SSL alert number (\d+)/.exec(error.message)?.[1] ?? Number.NaN);
  if (CLIENT_CERT_ALERTS[number]) return CLIENT_CERT_ALERTS[number];
  const requested = facts.observation.clientCertificate?.requested === true;
  if (number === HANDSHAKE_FAILURE_ALERT && requested) return 'handshake_failure';
  if (error.code === 'ERR_CLIENT_CERT_NOT_ACCEPTED') return 'none (the server closed the connection)';
  if (requested && facts.observation.clientCertificate?.configured && (error.code === 'ECONNRESET' || /socket hang up/i.test(error.message))) {
    return 'none (the server closed the connection)';
  }
  const byCode = Object.values(CLIENT_CERT_ALERTS).find((name) => error.code.endsWith(`_ALERT_${name.toUpperCase()}`));
  return byCode ?? null;
}

function describeClientCertRejection(facts: ObservedFacts): string {
  const alert = clientCertAlert(facts)!;
  const client = facts.observation.clientCertificate!;
  const which = `the client certificate${client.subject ? ` ${client.subject}` : ''}`;
  const date = client.notAfter?.slice(0, 10);
  switch (alert) {
    case 'unknown_ca':
      return `the server does not trust the issuer of ${which}${client.issuer ? ` (issued by ${client.issuer})` : ''} (TLS alert unknown_ca)`;
    case 'certificate_expired': {
      const expired = client.notAfter !== null && Date.parse(client.notAfter) < Date.parse(facts.observation.startedAt);
      return `the server refused ${which} as expired${date ? (expired ? ` (it expired on ${date})` : ` (valid until ${date}: check the server's clock)`) : ''} (TLS alert certificate_expired)`;
    }
    case 'certificate_revoked':
      return `the server refused ${which} as revoked (TLS alert certificate_revoked)`;
    case 'none (the server closed the connection)': {
      // No alert says why: what authwatch knows about the certificate is the best lead.
      const expired = client.notAfter !== null && Date.parse(client.notAfter) < Date.parse(facts.observation.startedAt);
      const lead = expired ? `it expired on ${date}` : client.issuer ? `is its issuer ${client.issuer} one the server trusts?` : null;
      return `the server closed the connection right after the handshake without accepting ${which}${lead ? ` (${lead})` : ''}; no TLS alert said why`;
    }
    default:
      return `the server rejected ${which} (TLS alert ${alert})`;
  }
}

function errorText(error: ProbeError): string {
  const message = openSslReason(error.message) ?? error.message.trim();
  if (!message) return error.code;
  return message.includes(error.code) ? message : `${message} (${error.code})`;
}

/**
 * OpenSSL's errors read `80ACE962157F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol
 * version:../deps/openssl/...:1601:SSL alert number 70`; the reason ("tlsv1 alert protocol version") is what a
 * person can act on.
 */
export function openSslReason(message: string): string | null {
  const reason = /:SSL routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim();
  return reason ? reason : null;
}

/** Shows where a redirect goes without its query or fragment (SSO requests can carry state and tokens). */
function redactLocation(location: string, base: string): string {
  try {
    const target = new URL(location, base);
    const hidden = target.search || target.hash ? '?…' : '';
    return `${target.origin}${target.pathname}${hidden}`;
  } catch {
    const cut = location.search(/[?#]/);
    return cut >= 0 ? `${location.slice(0, cut)}?…` : truncate(location, 120);
  }
}

function probedPath(facts: ObservedFacts): string {
  try {
    return new URL(facts.observation.url).pathname;
  } catch {
    return facts.observation.url;
  }
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

function isHtml(mediaType: string | null): boolean {
  return mediaType === 'text/html' || mediaType === 'application/xhtml+xml';
}

function isJsonOrUnlabelled(mediaType: string | null): boolean {
  return mediaType === null || mediaType === 'application/json' || mediaType.endsWith('+json');
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(seconds < 10 ? 1 : 0))}s`;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '\\"')}"`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function decodeBasicEntities(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}
