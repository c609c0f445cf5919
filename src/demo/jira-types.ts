// The simulated Jira's vocabulary: deployments, behaviours, users, credentials, request records, replies.
import type http from 'node:http';

export type JiraDeployment = 'cloud' | 'datacenter';

export const DEMO_JIRA_BEHAVIOURS = [
  /** Checks credentials like real Jira (including the DC CAPTCHA lockout after repeated wrong passwords). */
  'normal',
  /** 401 {"code":401,"message":"Unauthorized; scope does not match"}. */
  'scope-mismatch',
  /** 403 "Basic Authentication has been disabled on this instance." */
  'basic-auth-disabled',
  /** 302 to the login page / IdP. */
  'sso-redirect',
  /** /myself as normal; the token endpoint answers 401 invalid_client (lives here: it changes the token endpoint). */
  'oauth-refuses',
] as const;
export type DemoJiraBehaviour = (typeof DEMO_JIRA_BEHAVIOURS)[number];

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

export interface TenantOptions<B extends string = DemoJiraBehaviour> {
  /** First path segment, [a-z0-9_-]. */
  name: string;
  deployment: JiraDeployment;
  user?: Partial<JiraUser>;
  credentials?: Partial<Omit<TenantCredentials, 'oauth'>> & { oauth?: Partial<OAuthClient> };
  behaviour?: B;
  /** DC: failed basic logins before the CAPTCHA lockout (default 3). */
  captchaAfterFailures?: number;
}

export interface Tenant<B extends string = DemoJiraBehaviour> {
  readonly name: string;
  readonly deployment: JiraDeployment;
  readonly user: JiraUser;
  readonly credentials: TenantCredentials;
  readonly behaviour: B;
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

/** A tenant as the server keeps it (mutable; the API hands out `Tenant` snapshots). */
export interface TenantState {
  name: string;
  deployment: JiraDeployment;
  user: JiraUser;
  credentials: TenantCredentials;
  behaviour: string;
  captchaAfterFailures: number;
  failedBasicLogins: number;
  /** Issued OAuth access tokens → expiry (ms since epoch). */
  accessTokens: Map<string, number>;
  log: JiraRequestRecord[];
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** What an added behaviour sees of the request it answers. */
export interface BehaviourContext {
  deployment: JiraDeployment;
  /** The account the tenant's credentials belong to. */
  tenantUser: JiraUser;
  /** The tenant's base URL as the client addressed it, e.g. https://127.0.0.1:PORT/acme. */
  base: string;
  record: JiraRequestRecord;
  build: ReplyBuilder;
  /** For a behaviour that writes the answer itself (streams, hangs): it returns 'answered' and owns the response. */
  response: http.ServerResponse;
  /** Repeats fn every ms until the response closes or the server stops. */
  every(ms: number, fn: () => void): void;
  /** What /serverInfo says of this tenant (the body of an anonymous 200). */
  serverInfo: Record<string, unknown>;
  captcha(): Reply;
  notFound(): Reply;
  /** The /myself answer that authenticates as this user. */
  authenticatedAs(user: JiraUser): Reply;
}

/** A reply to send, or 'answered' when the behaviour wrote (or will never write) the response itself. */
export type BehaviourHandler = (context: BehaviourContext) => Reply | 'answered';

export type HeaderMap = Record<string, string | string[]>;

export interface ReplyBuilder {
  /** Headers every answer of this deployment carries (trace and request ids). */
  common: Record<string, string>;
  json(status: number, body: unknown, headers?: HeaderMap): Reply;
  html(status: number, body: string, headers?: HeaderMap): Reply;
  text(status: number, contentType: string, body: string, headers?: HeaderMap): Reply;
}

