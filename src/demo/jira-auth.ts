// How the simulated Jira authenticates: credentials in Atlassian's shapes, Authorization parsing, which of a
// tenant's credentials a request presented, the /myself body, and the OAuth client-credentials token endpoint.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { AuthorizationScheme, HeaderMap, JiraDeployment, JiraRequestRecord, JiraUser, PresentedCredential, Reply, ReplyBuilder, TenantState } from './jira-types.js';

export const BASIC_DEPRECATED =
  'Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/';
export const CLIENT_MUST_AUTHENTICATE = 'Client must be authenticated to access this resource.';

/** A Cloud API token in Atlassian's current shape. */
export function generateApiToken(): string {
  // 192 characters, as Atlassian's current tokens: prefix, 171 base64url characters, '=', 8 hex checksum.
  return `ATATT3xFfGF0${randomBytes(129).toString('base64url').slice(0, 171)}=${randomBytes(4).toString('hex').toUpperCase()}`;
}

/** A DC personal access token in Jira's shape (base64, 44 characters). */
export function generatePat(): string {
  return randomBytes(33).toString('base64');
}

export function defaultUser(tenant: string, deployment: JiraDeployment, user: Partial<JiraUser> = {}): JiraUser {
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

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function decodeBasic(token: string): { username: string; password: string } | null {
  if (!/^[A-Za-z0-9+/]+=*$/.test(token)) return null;
  const text = Buffer.from(token, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function parseAuthorization(header: string | undefined): { scheme: AuthorizationScheme; value: string } | null {
  if (header === undefined) return null;
  const match = /^(\S+) (.*)$/s.exec(header);
  const scheme = match?.[1].toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic', value: match![2] };
  if (scheme === 'bearer') return { scheme: 'bearer', value: match![2] };
  return { scheme: 'other', value: header };
}

export function traceId(): string {
  return randomBytes(16).toString('hex');
}

export function identify(state: TenantState, auth: { scheme: AuthorizationScheme; value: string }): PresentedCredential {
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


export function userBody(state: Pick<TenantState, 'deployment'>, user: JiraUser, base: string): Record<string, unknown> {
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


export function identityHeaders(state: Pick<TenantState, 'deployment'>, user: JiraUser): Record<string, string> {
  return state.deployment === 'cloud'
    ? { 'X-AACCOUNTID': user.accountId }
    : { 'X-AUSERNAME': user.name, 'X-Seraph-LoginReason': 'OK' };
}


export async function tokenEndpoint(state: TenantState, request: http.IncomingMessage, record: JiraRequestRecord): Promise<Reply> {
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


export function replyBuilder(common: Record<string, string>): ReplyBuilder {
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
export function prefersXml(accept: string | undefined): boolean {
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

