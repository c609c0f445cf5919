// A simulated Jira (Cloud and Data Center) on a real HTTP(S) server: it answers /myself and an OAuth
// client-credentials token endpoint the way real Jira does (docs/outcomes.md, "what Jira answered"), including the
// failure modes. One server hosts many tenants, chosen by the first path segment:
//   https://127.0.0.1:PORT/<tenant>/rest/api/3/myself     https://127.0.0.1:PORT/<tenant>/oauth/token
// Each tenant's behaviour can be changed at runtime. It keeps a request log per tenant that records which
// credential a request carried, never the credential itself. This is the demo's Jira (`authwatch demo`), with
// the behaviours the demo shows; the tests' Jira (test/support/jira-mock.ts) adds the rest through `behaviours`.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureVersion } from 'node:tls';
import { BASIC_DEPRECATED, CLIENT_MUST_AUTHENTICATE, defaultUser, generateApiToken, generatePat, identify, identityHeaders, parseAuthorization, prefersXml, replyBuilder, tokenEndpoint, traceId, userBody } from './jira-auth.js';
import { DEMO_JIRA_BEHAVIOURS, type AuthorizationScheme, type BehaviourHandler, type DemoJiraBehaviour, type JiraEndpoint, type JiraRequestRecord, type OAuthClient, type Reply, type ReplyBuilder, type Tenant, type TenantCredentials, type TenantOptions, type TenantState } from './jira-types.js';

export * from './jira-types.js';
export { generateApiToken, generatePat } from './jira-auth.js';

export interface SimulatedJiraTls {
  key: string;
  cert: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  /** Mutual TLS: require a client certificate issued by this CA (PEM); the handshake fails without one. */
  clientCa?: string;
}

export interface SimulatedJiraOptions<B extends string = DemoJiraBehaviour> {
  /** null serves plain http (allowed by authwatch only on loopback). */
  tls: SimulatedJiraTls | null;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  tenants?: TenantOptions<B>[];
  /** Answers for behaviours beyond the demo's own (the tests' Jira adds hangs, huge bodies, ...). */
  behaviours?: Partial<Record<B, BehaviourHandler>>;
  /** Every request is answered this many milliseconds late, as by a Jira far away (benchmarks). */
  responseDelayMs?: number;
}

export class SimulatedJira<B extends string = DemoJiraBehaviour> {
  readonly #options: SimulatedJiraOptions<B>;
  readonly #behaviours: ReadonlySet<string>;
  readonly #tenants = new Map<string, TenantState>();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #server: http.Server | null = null;
  #baseUrl: string | null = null;
  #connections = 0;

  constructor(options: SimulatedJiraOptions<B>) {
    this.#options = options;
    this.#behaviours = new Set([...DEMO_JIRA_BEHAVIOURS, ...Object.keys(options.behaviours ?? {})]);
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

  addTenant(options: TenantOptions<B>): Tenant<B> {
    if (!/^[a-z0-9_-]+$/.test(options.name)) throw new Error(`tenant name "${options.name}" must use a-z, 0-9, _ and -`);
    if (this.#tenants.has(options.name)) throw new Error(`tenant "${options.name}" exists already`);
    if (options.behaviour !== undefined && !this.#behaviours.has(options.behaviour)) throw new Error(`unknown behaviour "${options.behaviour}"`);
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
  tenant(name: string): Tenant<B> {
    const state = this.#tenant(name);
    return {
      name: state.name,
      deployment: state.deployment,
      user: { ...state.user },
      credentials: { ...state.credentials, oauth: { ...state.credentials.oauth } },
      behaviour: state.behaviour as B,
      captchaAfterFailures: state.captchaAfterFailures,
      failedBasicLogins: state.failedBasicLogins,
      lockedOut: this.#lockedOut(state),
    };
  }

  tenantNames(): string[] {
    return [...this.#tenants.keys()];
  }

  setBehaviour(name: string, behaviour: B): void {
    if (!this.#behaviours.has(behaviour)) throw new Error(`unknown behaviour "${behaviour}"`);
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
      tokenEndpoint(state, request, record).then(
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
    record.credential = auth ? identify(state, auth) : null;
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
      case 'scope-mismatch':
        reply = json(401, { code: 401, message: 'Unauthorized; scope does not match' }, { 'WWW-Authenticate': 'Bearer realm="api.atlassian.com", error="insufficient_scope"' });
        break;
      case 'basic-auth-disabled':
        reply = json(403, { message: 'Basic Authentication has been disabled on this instance.' });
        break;
      case 'sso-redirect':
        reply = html(302, '', {
          Location: cloud
            ? `https://id.atlassian.com/login?continue=${encodeURIComponent(base + record.path)}`
            : `${base}/login.jsp?os_destination=${encodeURIComponent(record.path)}`,
        });
        break;
      case 'normal':
      case 'oauth-refuses':
        reply =
          endpoint !== 'myself'
            ? notFound()
            : this.#checkCredentials(state, auth, record, { build, captcha, base, wantsXml: prefersXml(request.headers.accept) });
        break;
      default: {
        const added = this.#options.behaviours?.[state.behaviour as B];
        if (!added) throw new Error(`unknown behaviour "${state.behaviour}"`);
        const answer = added({
          deployment: state.deployment,
          tenantUser: { ...state.user },
          base,
          record,
          build,
          response,
          every: (ms, fn) => this.#every(response, ms, fn),
          serverInfo,
          captcha,
          notFound,
          authenticatedAs: (user) => json(200, userBody(state, user, base), identityHeaders(state, user)),
        });
        if (answer === 'answered') return;
        reply = answer;
      }
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
    const authenticated = (): Reply => build.json(200, userBody(state, state.user, context.base), identityHeaders(state, state.user));

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

  #every(response: http.ServerResponse, ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.#timers.add(timer);
    response.on('close', () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    });
  }
}

