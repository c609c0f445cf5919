// A simulated Jira (Cloud and Data Center) on a real HTTP(S) server: it answers /myself and an OAuth
// client-credentials token endpoint the way real Jira does (see shared/jira-responses.md), including the
// failure modes. One server hosts many tenants, chosen by the first path segment:
//   https://127.0.0.1:PORT/<tenant>/rest/api/3/myself     https://127.0.0.1:PORT/<tenant>/oauth/token
// Each tenant's behaviour can be changed at runtime. It keeps a request log per tenant that records which
// credential a request carried, never the credential itself. Used by `authwatch demo` and the tests.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureVersion } from 'node:tls';

export type JiraDeployment = 'cloud' | 'datacenter';

export const JIRA_BEHAVIOURS = [
  /** Checks credentials like real Jira (including the DC CAPTCHA lockout after repeated wrong passwords). */
  'normal',
  /** 200 that ran as anonymous: X-Seraph-LoginReason AUTHENTICATED_FAILED and an `_lout` xsrf cookie (Cloud, expired token). */
  'expired-token-anonymous',
  /** 200 with X-AUSERNAME: anonymous and no identity (DC with the credentials ignored). */
  'anonymous-dc',
  /** 401 {"code":401,"message":"Unauthorized; scope does not match"}. */
  'scope-mismatch',
  /** 403 CAPTCHA_CHALLENGE / AUTHENTICATION_DENIED, whatever the credentials. */
  'captcha',
  /** 403 "Basic Authentication has been disabled on this instance." */
  'basic-auth-disabled',
  /** Any other 403 (the account may not use Jira). */
  'forbidden',
  /** 302 to the login page / IdP. */
  'sso-redirect',
  /** 200 text/html login page from an SSO proxy. */
  'login-page',
  /** 429 with the deployment's rate-limit headers. */
  'rate-limited',
  /** Cloud: 503 with Retry-After; DC: 500 HTML. */
  'server-error',
  /** 404 (wrong base URL or context path). */
  'not-found',
  /** 200 application/json whose body is not valid JSON. */
  'malformed-json',
  /** 418 text/plain. */
  'teapot',
  /** 200 as a different account than the credentials belong to. */
  'wrong-identity',
  /** Accepts the request and never answers. */
  'hang',
  /** Sends the headers and a first chunk, then one byte at a time, forever. */
  'slow-body',
  /** 200 application/json with a body of `hugeBodyBytes` (64 MiB by default), written as the client reads it. */
  'huge-body',
  /** 302 to the same URL. */
  'redirect-loop',
  /** /myself as normal; the token endpoint answers 401 invalid_client. */
  'oauth-refuses',
  /** 500 text/html whose body carries markup and a script (what a status page must show as text, never run). */
  'hostile-message',
] as const;
export type JiraBehaviour = (typeof JIRA_BEHAVIOURS)[number];

/** The body of 'hostile-message': if a page ran it, window.pwned would be set and a request would go to /pwned. */
export const HOSTILE_MESSAGE =
  '<h1>Down for maintenance</h1><script>window.pwned = "server message"; fetch("/pwned?from=message");</script><img src="/pwned.png" onerror="window.pwned = \'img\'">';

export interface JiraUser {
  /** Cloud. */
  accountId: string;
  /** DC username. */
  name: string;
  /** DC user key. */
  key: string;
  emailAddress: string;
  displayName: string;
  active: boolean;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** Lifetime of issued access tokens (Atlassian: 3600). */
  tokenTtlSeconds: number;
}

export interface TenantCredentials {
  /** Cloud basic: the account email is the username, the API token the password. */
  apiToken: string;
  /** DC basic password (the username is user.name). */
  password: string;
  /** DC personal access token (Bearer). */
  pat: string;
  /** Client credentials for /<tenant>/oauth/token; the issued tokens work as Bearer on /myself. */
  oauth: OAuthClient;
}

export interface TenantOptions {
  /** First path segment, [a-z0-9_-]. */
  name: string;
  deployment: JiraDeployment;
  user?: Partial<JiraUser>;
  credentials?: Partial<Omit<TenantCredentials, 'oauth'>> & { oauth?: Partial<OAuthClient> };
  behaviour?: JiraBehaviour;
  /** DC: failed basic logins before the CAPTCHA lockout (default 3). */
  captchaAfterFailures?: number;
}

export interface Tenant {
  readonly name: string;
  readonly deployment: JiraDeployment;
  readonly user: JiraUser;
  readonly credentials: TenantCredentials;
  readonly behaviour: JiraBehaviour;
  readonly captchaAfterFailures: number;
  /** DC failed basic logins counted towards the CAPTCHA lockout. */
  readonly failedBasicLogins: number;
  readonly lockedOut: boolean;
}

export type AuthorizationScheme = 'basic' | 'bearer' | 'other';
/** Which of the tenant's credentials a request presented; 'invalid' when it matched none. */
export type PresentedCredential = 'api-token' | 'password' | 'pat' | 'access-token' | 'client-secret' | 'invalid';
export type JiraEndpoint = 'myself' | 'oauth-token' | 'other';

export interface JiraRequestRecord {
  at: Date;
  method: string;
  /** The path after the tenant segment, with the query string. */
  path: string;
  endpoint: JiraEndpoint;
  /** Scheme of the Authorization header; null when there was none. */
  authorization: AuthorizationScheme | null;
  /** Which credential came (in the header, or as client_secret in a token request's body); null when none. */
  credential: PresentedCredential | null;
  /** 0 while no answer was sent (hang). */
  status: number;
  bodyBytesSent: number;
  /** False while the body is still being written or when the client went away first. */
  completed: boolean;
}

export interface SimulatedJiraTls {
  key: string;
  cert: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  /** Mutual TLS: require a client certificate issued by this CA (PEM); the handshake fails without one. */
  clientCa?: string;
}

export interface SimulatedJiraOptions {
  /** null serves plain http (allowed by authwatch only on loopback). */
  tls: SimulatedJiraTls | null;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  tenants?: TenantOptions[];
  hugeBodyBytes?: number;
  slowBodyIntervalMs?: number;
  /** Every request is answered this many milliseconds late, as by a Jira far away (benchmarks). */
  responseDelayMs?: number;
}

const BASIC_DEPRECATED =
  'Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/';
const CLIENT_MUST_AUTHENTICATE = 'Client must be authenticated to access this resource.';
const MIB = 1024 * 1024;

interface TenantState {
  name: string;
  deployment: JiraDeployment;
  user: JiraUser;
  credentials: TenantCredentials;
  behaviour: JiraBehaviour;
  captchaAfterFailures: number;
  failedBasicLogins: number;
  /** Issued OAuth access tokens → expiry (ms since epoch). */
  accessTokens: Map<string, number>;
  log: JiraRequestRecord[];
}

interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** A Cloud API token in Atlassian's current shape. */
export function generateApiToken(): string {
  // 192 characters, as Atlassian's current tokens: prefix, 171 base64url characters, '=', 8 hex checksum.
  return `ATATT3xFfGF0${randomBytes(129).toString('base64url').slice(0, 171)}=${randomBytes(4).toString('hex').toUpperCase()}`;
}

/** A DC personal access token in Jira's shape (base64, 44 characters). */
export function generatePat(): string {
  return randomBytes(33).toString('base64');
}

function defaultUser(tenant: string, deployment: JiraDeployment, user: Partial<JiraUser> = {}): JiraUser {
  const name = user.name ?? 'svc-integration';
  return {
    accountId: user.accountId ?? `5b10ac8d82e05b22cc7d${randomBytes(2).toString('hex')}`,
    name,
    key: user.key ?? (deployment === 'datacenter' ? `JIRAUSER${10000 + randomBytes(2).readUInt16BE()}` : name),
    emailAddress: user.emailAddress ?? `integration@${tenant}.example.com`,
    displayName: user.displayName ?? 'Integration Bot',
    active: user.active ?? true,
  };
}

const OTHER_USER: JiraUser = {
  accountId: '557058:f0e1d2c3-b4a5-4968-8776-655443322110',
  name: 'jdoe',
  key: 'JIRAUSER10999',
  emailAddress: 'jane.doe@example.com',
  displayName: 'Jane Doe',
  active: true,
};

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function decodeBasic(token: string): { username: string; password: string } | null {
  if (!/^[A-Za-z0-9+/]+=*$/.test(token)) return null;
  const text = Buffer.from(token, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function parseAuthorization(header: string | undefined): { scheme: AuthorizationScheme; value: string } | null {
  if (header === undefined) return null;
  const match = /^(\S+) (.*)$/s.exec(header);
  const scheme = match?.[1].toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic', value: match![2] };
  if (scheme === 'bearer') return { scheme: 'bearer', value: match![2] };
  return { scheme: 'other', value: header };
}

function traceId(): string {
  return randomBytes(16).toString('hex');
}

export class SimulatedJira {
  readonly #options: SimulatedJiraOptions;
  readonly #tenants = new Map<string, TenantState>();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #server: http.Server | null = null;
  #baseUrl: string | null = null;
  #connections = 0;

  constructor(options: SimulatedJiraOptions) {
    this.#options = options;
    for (const tenant of options.tenants ?? []) this.addTenant(tenant);
  }

  /** Starts listening; resolves with the base URL, e.g. https://127.0.0.1:41234 (no trailing slash). */
  async start(): Promise<string> {
    if (this.#baseUrl) return this.#baseUrl;
    const delay = this.#options.responseDelayMs ?? 0;
    const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      if (delay > 0) setTimeout(() => this.#handle(request, response), delay);
      else this.#handle(request, response);
    };
    const tls = this.#options.tls;
    const server = tls
      ? https.createServer(
          {
            key: tls.key, cert: tls.cert, minVersion: tls.minVersion, maxVersion: tls.maxVersion, ciphers: tls.ciphers,
            ...(tls.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: tls.clientCa } : {}),
          },
          handler,
        )
      : http.createServer(handler);
    server.keepAliveTimeout = 1000;
    server.on('connection', (socket: Socket) => {
      this.#connections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // A refused handshake is normal here (expired / TLS 1.0 servers); it must not crash the process.
    server.on('tlsClientError', () => undefined);
    server.on('clientError', (_error, socket: Socket) => socket.destroy());
    const host = this.#options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    this.#baseUrl = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return this.#baseUrl;
  }

  /** Closes the server and every open connection, including hanging and trickling responses. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    const server = this.#server;
    this.#server = null;
    this.#baseUrl = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  get baseUrl(): string {
    if (!this.#baseUrl) throw new Error('the simulated Jira is not started');
    return this.#baseUrl;
  }

  /** TCP connections accepted so far (a probe opens exactly one). */
  get connectionCount(): number {
    return this.#connections;
  }

  /** Base URL of one tenant, the `url` of an authwatch connection: https://127.0.0.1:PORT/<tenant>. */
  tenantUrl(name: string): string {
    this.#tenant(name);
    return `${this.baseUrl}/${name}`;
  }

  addTenant(options: TenantOptions): Tenant {
    if (!/^[a-z0-9_-]+$/.test(options.name)) throw new Error(`tenant name "${options.name}" must use a-z, 0-9, _ and -`);
    if (this.#tenants.has(options.name)) throw new Error(`tenant "${options.name}" exists already`);
    const given = options.credentials ?? {};
    const state: TenantState = {
      name: options.name,
      deployment: options.deployment,
      user: defaultUser(options.name, options.deployment, options.user),
      credentials: {
        apiToken: given.apiToken ?? generateApiToken(),
        password: given.password ?? `pw-${randomBytes(9).toString('base64url')}`,
        pat: given.pat ?? generatePat(),
        oauth: {
          clientId: given.oauth?.clientId ?? `client-${options.name}`,
          clientSecret: given.oauth?.clientSecret ?? randomBytes(24).toString('base64url'),
          tokenTtlSeconds: given.oauth?.tokenTtlSeconds ?? 3600,
        },
      },
      behaviour: options.behaviour ?? 'normal',
      captchaAfterFailures: options.captchaAfterFailures ?? 3,
      failedBasicLogins: 0,
      accessTokens: new Map(),
      log: [],
    };
    this.#tenants.set(options.name, state);
    return this.tenant(options.name);
  }

  /** A snapshot of a tenant: its user, credentials (to configure authwatch with) and current behaviour. */
  tenant(name: string): Tenant {
    const state = this.#tenant(name);
    return {
      name: state.name,
      deployment: state.deployment,
      user: { ...state.user },
      credentials: { ...state.credentials, oauth: { ...state.credentials.oauth } },
      behaviour: state.behaviour,
      captchaAfterFailures: state.captchaAfterFailures,
      failedBasicLogins: state.failedBasicLogins,
      lockedOut: this.#lockedOut(state),
    };
  }

  tenantNames(): string[] {
    return [...this.#tenants.keys()];
  }

  setBehaviour(name: string, behaviour: JiraBehaviour): void {
    if (!JIRA_BEHAVIOURS.includes(behaviour)) throw new Error(`unknown behaviour "${behaviour}"`);
    this.#tenant(name).behaviour = behaviour;
  }

  /** Rotates or revokes credentials, e.g. `{ apiToken: generateApiToken() }` makes the old token fail. */
  setCredentials(name: string, credentials: Partial<Omit<TenantCredentials, 'oauth'>> & { oauth?: Partial<OAuthClient> }): void {
    const state = this.#tenant(name);
    const { oauth, ...rest } = credentials;
    state.credentials = { ...state.credentials, ...rest, oauth: { ...state.credentials.oauth, ...oauth } };
    if (oauth) state.accessTokens.clear();
  }

  /** Revokes every OAuth access token issued so far. */
  revokeAccessTokens(name: string): void {
    this.#tenant(name).accessTokens.clear();
  }

  /** What a DC admin's "reset failed login count" does: lifts the CAPTCHA lockout. */
  resetLockout(name: string): void {
    this.#tenant(name).failedBasicLogins = 0;
  }

  /** The tenant's request log, oldest first (copies). */
  requests(name: string): JiraRequestRecord[] {
    return this.#tenant(name).log.map((record) => ({ ...record }));
  }

  clearRequests(name: string): void {
    this.#tenant(name).log.length = 0;
  }

  #tenant(name: string): TenantState {
    const state = this.#tenants.get(name);
    if (!state) throw new Error(`no tenant "${name}" in the simulated Jira`);
    return state;
  }

  #lockedOut(state: TenantState): boolean {
    return state.deployment === 'datacenter' && state.failedBasicLogins >= state.captchaAfterFailures;
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://jira.invalid');
    const [, tenantName = '', ...rest] = url.pathname.split('/');
    const state = this.#tenants.get(tenantName);
    if (!state) {
      request.resume();
      this.#send(response, null, { status: 404, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: `No tenant "${tenantName}" here.\n` });
      return;
    }
    const path = `/${rest.join('/')}${url.search}`;
    const pathname = `/${rest.join('/')}`;
    const endpoint: JiraEndpoint = /^\/rest\/api\/(2|3|latest)\/myself\/?$/.test(pathname)
      ? 'myself'
      : pathname === '/oauth/token'
        ? 'oauth-token'
        : 'other';
    const record: JiraRequestRecord = {
      at: new Date(),
      method: request.method ?? 'GET',
      path,
      endpoint,
      authorization: parseAuthorization(request.headers.authorization)?.scheme ?? null,
      credential: null,
      status: 0,
      bodyBytesSent: 0,
      completed: false,
    };
    state.log.push(record);
    if (endpoint === 'oauth-token') {
      // A client that goes away mid-request (a timed-out probe) must not take the server down with it.
      this.#tokenEndpoint(state, request, record).then(
        (reply) => this.#send(response, record, reply),
        () => response.destroy(),
      );
      return;
    }
    request.resume();
    const base = `${this.#options.tls ? 'https' : 'http'}://${request.headers.host ?? '127.0.0.1'}/${state.name}`;
    this.#answerJira(state, request, response, record, endpoint, base);
  }

  #answerJira(
    state: TenantState,
    request: http.IncomingMessage,
    response: http.ServerResponse,
    record: JiraRequestRecord,
    endpoint: JiraEndpoint,
    base: string,
  ): void {
    const auth = parseAuthorization(request.headers.authorization);
    // The log says which credential came, whatever the behaviour; CAPTCHA counting happens only when checked.
    record.credential = auth ? this.#identify(state, auth) : null;
    const cloud = state.deployment === 'cloud';
    const build = replyBuilder(cloud
      ? { Server: 'AtlassianEdge', 'ATL-TraceId': traceId(), 'X-ARequestId': randomUUID() }
      : { 'X-ARequestId': `${Math.floor(Math.random() * 1440)}x${Math.floor(Math.random() * 1e6)}x1`, 'X-ASESSIONID': randomBytes(4).toString('hex') });
    const { json, html } = build;
    const captcha = (): Reply =>
      html(403, '<html><body><h1>CAPTCHA required</h1><p>Log in through the browser to continue.</p></body></html>', {
        'X-Seraph-LoginReason': 'AUTHENTICATION_DENIED',
        'X-Authentication-Denied-Reason': `CAPTCHA_CHALLENGE; login-url=${base}/login.jsp`,
        'X-AUSERNAME': 'anonymous',
      });
    const notFound = (): Reply =>
      html(404, '<!doctype html><html lang="en"><head><title>HTTP Status 404 – Not Found</title></head><body><h1>HTTP Status 404 – Not Found</h1></body></html>');
    const serverInfo = {
      baseUrl: base,
      version: cloud ? '1001.0.0-SNAPSHOT' : '9.12.15',
      deploymentType: cloud ? 'Cloud' : 'Server',
      serverTitle: 'Jira',
    };

    let reply: Reply;
    switch (state.behaviour) {
      case 'expired-token-anonymous':
        reply = json(200, serverInfo, {
          'X-Seraph-LoginReason': 'AUTHENTICATED_FAILED',
          'Set-Cookie': `atlassian.xsrf.token=${randomBytes(20).toString('hex')}_lout; Path=/; Secure; SameSite=None`,
        });
        break;
      case 'anonymous-dc':
        reply = json(200, serverInfo, { 'X-AUSERNAME': 'anonymous' });
        break;
      case 'scope-mismatch':
        reply = json(401, { code: 401, message: 'Unauthorized; scope does not match' }, { 'WWW-Authenticate': 'Bearer realm="api.atlassian.com", error="insufficient_scope"' });
        break;
      case 'captcha':
        reply = captcha();
        break;
      case 'basic-auth-disabled':
        reply = json(403, { message: 'Basic Authentication has been disabled on this instance.' });
        break;
      case 'forbidden':
        reply = json(403, { errorMessages: ['You do not have the permission to see the specified resource.'], errors: {} }, cloud ? {} : { 'X-AUSERNAME': state.user.name });
        break;
      case 'sso-redirect':
        reply = html(302, '', {
          Location: cloud
            ? `https://id.atlassian.com/login?continue=${encodeURIComponent(base + record.path)}`
            : `${base}/login.jsp?os_destination=${encodeURIComponent(record.path)}`,
        });
        break;
      case 'redirect-loop':
        reply = html(302, '', { Location: `${base}${record.path}` });
        break;
      case 'login-page':
        reply = html(
          200,
          `<!DOCTYPE html><html><head><title>Log in - Jira</title></head><body><form id="login-form" method="post" action="${base}/login.jsp"><input name="os_username"><input name="os_password" type="password"></form></body></html>`,
        );
        break;
      case 'rate-limited':
        reply = cloud
          ? json(429, { message: 'Rate limit exceeded.' }, {
              'Retry-After': '30',
              'RateLimit-Reason': 'jira-quota-tenant-based',
              'X-RateLimit-Limit': '350',
              'X-RateLimit-Remaining': '0',
              'X-RateLimit-Reset': new Date(Date.now() + 30_000).toISOString(),
              'X-RateLimit-NearLimit': 'true',
            })
          : build.text(429, 'text/plain;charset=UTF-8', 'Too many requests. Try again later.', {
              'Retry-After': '10',
              'X-RateLimit-Limit': '100',
              'X-RateLimit-Remaining': '0',
              'X-RateLimit-Interval-Seconds': '60',
              'X-RateLimit-FillRate': '10',
            });
        break;
      case 'server-error':
        reply = cloud
          ? json(503, { message: 'Service Unavailable', 'status-code': 503 }, { 'Retry-After': '60' })
          : html(500, '<html><head><title>Oops, you\'ve found a dead link. - Jira</title></head><body><h1>System Error</h1><p>java.lang.NullPointerException</p></body></html>');
        break;
      case 'not-found':
        reply = notFound();
        break;
      case 'malformed-json':
        reply = build.text(200, 'application/json;charset=UTF-8', `{"self":"${base}/rest/api/3/user","accountId":`);
        break;
      case 'teapot':
        reply = build.text(418, 'text/plain', "I'm a teapot");
        break;
      case 'hostile-message':
        reply = html(500, HOSTILE_MESSAGE);
        break;
      case 'wrong-identity':
        reply = json(200, this.#userBody(state, OTHER_USER, base), this.#identityHeaders(state, OTHER_USER));
        break;
      case 'hang':
        return; // never answers; stop() closes the socket
      case 'slow-body':
        this.#trickle(response, record, build.common);
        return;
      case 'huge-body':
        this.#hugeBody(response, record, build.common);
        return;
      case 'normal':
      case 'oauth-refuses':
        reply =
          endpoint !== 'myself'
            ? notFound()
            : this.#checkCredentials(state, auth, record, { build, captcha, base, wantsXml: prefersXml(request.headers.accept) });
        break;
    }
    this.#send(response, record, reply);
  }

  #checkCredentials(
    state: TenantState,
    auth: { scheme: AuthorizationScheme; value: string } | null,
    record: JiraRequestRecord,
    context: { build: ReplyBuilder; captcha: () => Reply; base: string; wantsXml: boolean },
  ): Reply {
    const { build } = context;
    const cloud = state.deployment === 'cloud';
    const unauthenticated = (loginReason: string | null): Reply => {
      const headers: Record<string, string> = { 'WWW-Authenticate': `OAuth realm="${encodeURIComponent(context.base)}"` };
      if (loginReason) headers['X-Seraph-LoginReason'] = loginReason;
      if (!cloud) headers['X-AUSERNAME'] = 'anonymous';
      return context.wantsXml
        ? build.text(
            401,
            'application/xml;charset=UTF-8',
            `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><status><status-code>401</status-code><message>${CLIENT_MUST_AUTHENTICATE}</message></status>`,
            headers,
          )
        : build.json(401, { message: CLIENT_MUST_AUTHENTICATE, 'status-code': 401 }, headers);
    };
    const authenticated = (): Reply => build.json(200, this.#userBody(state, state.user, context.base), this.#identityHeaders(state, state.user));

    if (!auth) return unauthenticated(null);
    if (auth.scheme === 'bearer') {
      return record.credential === 'access-token' || (!cloud && record.credential === 'pat') ? authenticated() : unauthenticated('AUTHENTICATED_FAILED');
    }
    if (auth.scheme !== 'basic') return unauthenticated(null);
    if (cloud) return record.credential === 'api-token' ? authenticated() : build.text(401, 'text/plain', BASIC_DEPRECATED);
    if (this.#lockedOut(state)) return context.captcha();
    if (record.credential === 'password') {
      state.failedBasicLogins = 0;
      return authenticated();
    }
    state.failedBasicLogins += 1;
    return build.html(
      401,
      '<html><head><title>Unauthorized (401)</title></head><body><h1>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</h1></body></html>',
      { 'X-Seraph-LoginReason': 'AUTHENTICATED_FAILED', 'X-AUSERNAME': 'anonymous', 'WWW-Authenticate': 'Basic realm="protected-area"' },
    );
  }

  #identify(state: TenantState, auth: { scheme: AuthorizationScheme; value: string }): PresentedCredential {
    const { credentials, user } = state;
    if (auth.scheme === 'basic') {
      const pair = decodeBasic(auth.value);
      if (!pair) return 'invalid';
      if (state.deployment === 'cloud') {
        return pair.username === user.emailAddress && sameSecret(pair.password, credentials.apiToken) ? 'api-token' : 'invalid';
      }
      return pair.username === user.name && sameSecret(pair.password, credentials.password) ? 'password' : 'invalid';
    }
    if (auth.scheme === 'bearer') {
      const expiry = state.accessTokens.get(auth.value);
      if (expiry !== undefined && expiry > Date.now()) return 'access-token';
      if (sameSecret(auth.value, credentials.pat)) return 'pat';
    }
    return 'invalid';
  }

  #userBody(state: TenantState, user: JiraUser, base: string): Record<string, unknown> {
    if (state.deployment === 'cloud') {
      return {
        self: `${base}/rest/api/3/user?accountId=${user.accountId}`,
        accountId: user.accountId,
        accountType: 'atlassian',
        emailAddress: user.emailAddress,
        avatarUrls: { '48x48': 'https://secure.gravatar.com/avatar/0?d=mm&s=48' },
        displayName: user.displayName,
        active: user.active,
        timeZone: 'Europe/Berlin',
        locale: 'en_US',
      };
    }
    return {
      self: `${base}/rest/api/2/user?username=${user.name}`,
      key: user.key,
      name: user.name,
      emailAddress: user.emailAddress,
      avatarUrls: { '48x48': `${base}/secure/useravatar?avatarId=10122` },
      displayName: user.displayName,
      active: user.active,
      deleted: false,
      timeZone: 'Europe/Berlin',
      locale: 'en_US',
      groups: { size: 1, items: [] },
      applicationRoles: { size: 1, items: [] },
      expand: 'groups,applicationRoles',
    };
  }

  #identityHeaders(state: TenantState, user: JiraUser): Record<string, string> {
    return state.deployment === 'cloud'
      ? { 'X-AACCOUNTID': user.accountId }
      : { 'X-AUSERNAME': user.name, 'X-Seraph-LoginReason': 'OK' };
  }

  async #tokenEndpoint(state: TenantState, request: http.IncomingMessage, record: JiraRequestRecord): Promise<Reply> {
    const json = (status: number, body: unknown): Reply => ({
      status,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
      body: JSON.stringify(body),
    });
    if (request.method !== 'POST') return json(405, { error: 'invalid_request', error_description: 'POST required' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 64 * 1024) return json(413, { error: 'invalid_request', error_description: 'body too large' });
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const params: Record<string, string> = (request.headers['content-type'] ?? '').includes('json')
      ? safeJsonObject(text)
      : Object.fromEntries(new URLSearchParams(text));
    const basic = parseAuthorization(request.headers.authorization);
    const fromHeader = basic?.scheme === 'basic' ? decodeBasic(basic.value) : null;
    const clientId = fromHeader?.username ?? params.client_id;
    const clientSecret = fromHeader?.password ?? params.client_secret;
    const { oauth } = state.credentials;
    const valid = clientId === oauth.clientId && clientSecret !== undefined && sameSecret(clientSecret, oauth.clientSecret);
    record.credential = clientSecret === undefined ? null : valid ? 'client-secret' : 'invalid';
    if (state.behaviour === 'oauth-refuses' || !valid) {
      return json(401, { error: 'invalid_client', error_description: 'Unauthorized' });
    }
    if (params.grant_type !== 'client_credentials') {
      return json(400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    }
    const accessToken = randomBytes(32).toString('base64url');
    state.accessTokens.set(accessToken, Date.now() + oauth.tokenTtlSeconds * 1000);
    return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: oauth.tokenTtlSeconds, scope: params.scope ?? 'read:jira-user' });
  }

  #send(response: http.ServerResponse, record: JiraRequestRecord | null, reply: Reply): void {
    const body = Buffer.from(reply.body, 'utf8');
    response.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(body.length) });
    if (record) record.status = reply.status;
    response.end(body, () => {
      if (record) {
        record.bodyBytesSent = body.length;
        record.completed = true;
      }
    });
  }

  #trickle(response: http.ServerResponse, record: JiraRequestRecord, headers: Record<string, string>): void {
    response.writeHead(200, { ...headers, 'Content-Type': 'application/json;charset=UTF-8' });
    record.status = 200;
    response.write('{"self":"');
    record.bodyBytesSent = 9;
    const timer = setInterval(() => {
      response.write('.');
      record.bodyBytesSent += 1;
    }, this.#options.slowBodyIntervalMs ?? 200);
    this.#timers.add(timer);
    response.on('close', () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    });
  }

  #hugeBody(response: http.ServerResponse, record: JiraRequestRecord, headers: Record<string, string>): void {
    const total = this.#options.hugeBodyBytes ?? 64 * MIB;
    response.writeHead(200, { ...headers, 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': String(total) });
    record.status = 200;
    const filler = Buffer.alloc(64 * 1024, 'x');
    const first = Buffer.from(filler);
    first.write('{"padding":"');
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    // Writes only as fast as the client reads, so the bytes sent show how much the client accepted.
    const pump = (): void => {
      while (!closed && record.bodyBytesSent < total) {
        const size = Math.min(filler.length, total - record.bodyBytesSent);
        const piece = (record.bodyBytesSent === 0 ? first : filler).subarray(0, size);
        record.bodyBytesSent += size;
        if (record.bodyBytesSent >= total) {
          response.end(piece, () => {
            record.completed = true;
          });
          return;
        }
        if (!response.write(piece)) {
          response.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }
}

type HeaderMap = Record<string, string | string[]>;

interface ReplyBuilder {
  /** Headers every answer of this deployment carries (trace and request ids). */
  common: Record<string, string>;
  json(status: number, body: unknown, headers?: HeaderMap): Reply;
  html(status: number, body: string, headers?: HeaderMap): Reply;
  text(status: number, contentType: string, body: string, headers?: HeaderMap): Reply;
}

function replyBuilder(common: Record<string, string>): ReplyBuilder {
  const text = (status: number, contentType: string, body: string, headers: HeaderMap = {}): Reply => ({
    status,
    headers: { ...common, 'Content-Type': contentType, ...headers },
    body,
  });
  return {
    common,
    text,
    json: (status, body, headers) => text(status, 'application/json;charset=UTF-8', JSON.stringify(body), headers),
    html: (status, body, headers) => text(status, 'text/html;charset=UTF-8', body, headers),
  };
}

/** Jira answers XML only to a client that asks for XML and not JSON. */
function prefersXml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('xml') && !accept.includes('json');
}

function safeJsonObject(text: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    }
  } catch {
    // not JSON: no parameters
  }
  return {};
}

