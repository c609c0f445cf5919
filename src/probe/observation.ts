// What one probe saw. Produced by the probe (I/O), read by the pure classifier, stored as a probe row.
// Every field is plain data so it can be serialised as-is; nothing here ever holds a secret.

export type TimingPhase = 'dns' | 'connect' | 'tls' | 'request' | 'first_byte' | 'download' | 'total';
export const TIMING_PHASES: readonly TimingPhase[] = ['dns', 'connect', 'tls', 'request', 'first_byte', 'download', 'total'];

/** Seconds spent in each phase; null when the phase did not happen (e.g. no TLS on http://, failed before). */
export type ProbeTimings = Record<TimingPhase, number | null>;

export interface TlsDetails {
  protocol: string | null;          // 'TLSv1.3'
  cipher: string | null;            // 'TLS_AES_256_GCM_SHA384'
  subject: string | null;           // 'CN=acme.atlassian.net'
  issuer: string | null;
  sans: string[];                   // ['DNS:acme.atlassian.net']
  serial: string | null;
  fingerprint256: string | null;    // 'AB:CD:...'
  notBefore: string | null;         // ISO 8601
  notAfter: string | null;          // ISO 8601, leaf
  chainEarliestNotAfter: string | null;
  authorized: boolean;              // verification passed
  authorizationError: string | null; // e.g. 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'
}

export type CredentialStatus = 'ok' | 'missing' | 'malformed';

export interface CredentialCheck {
  status: CredentialStatus;
  /** Why missing/malformed, without the secret: 'env AUTHWATCH_X is not set', 'secret contains a newline at position 41'. */
  problem: string | null;
  /** HMAC-SHA256 of the secret under the per-database key, 16 hex chars; null when there is no secret. */
  fingerprint: string | null;
  /** Header-lint finding codes (docs/cli.md, explain-header) for auth.type header, and advisory ones for other types. */
  findings: string[];
}

export interface OAuthTokenResult {
  ok: boolean;
  fromCache: boolean;
  httpStatus: number | null;
  /** The token endpoint's error, e.g. 'invalid_client: Unauthorized' (never the secret or token). */
  error: string | null;
  expiresAt: string | null;
}

export interface ProbeError {
  /** Node/got error code: 'ENOTFOUND', 'ECONNREFUSED', 'ETIMEDOUT', 'ERR_SSL_...', 'CERT_HAS_EXPIRED', 'EPROTO', ... */
  code: string;
  /** For timeouts: which phase ran out ('lookup', 'connect', 'secureConnect', 'send', 'response', 'read'). */
  phase: string | null;
  message: string;
}

export interface HttpDetails {
  status: number;
  contentType: string | null;
  /** Only the Atlassian/diagnostic headers (docs/behaviour.md, The probe), lower-cased names. */
  headers: Record<string, string>;
  /** First 500 characters of the body with secrets masked. */
  message: string;
  /** The parsed body when it was JSON (kept in memory for the classifier; not stored whole). */
  json: unknown;
  bodyBytes: number;
  bodyTruncated: boolean;
}

export interface Identity {
  accountId: string | null;
  name: string | null;
  key: string | null;
  emailAddress: string | null;
  displayName: string | null;
  active: boolean | null;
}

/** The proxy a probe went through and what it answered to CONNECT (never its credentials). */
export interface ProxyObservation {
  /** http://host:port */
  url: string;
  /** 'config', or the environment variable it came from (HTTPS_PROXY, https_proxy). */
  source: string;
  /** Whether the CONNECT carried Proxy-Authorization (proxy.auth configured, or user:password@ in HTTPS_PROXY). */
  credentials: boolean;
  /** Whether the tunnel to Jira was opened (CONNECT answered 2xx). */
  tunnel: boolean;
  /** CONNECT's status; null when the proxy did not answer. */
  status: number | null;
  contentType: string | null;
  /** Proxy-Authenticate, Via, Server, X-Squid-Error…, lower-cased names. */
  headers: Record<string, string>;
  /** The start of a refusal's body (a block page), secrets masked; '' after a 2xx. */
  message: string;
  /** Seconds: TCP connect to the proxy, and the CONNECT until its answer (both are in timings.connect). */
  connect: number | null;
  tunnel_seconds: number | null;
}

/** The client certificate of a mutual-TLS connection, and whether the server asked for one. */
export interface ClientCertificateObservation {
  configured: boolean;
  /** A CertificateRequest arrived in the handshake; null when the handshake did not get that far. */
  requested: boolean | null;
  subject: string | null;
  issuer: string | null;
  notAfter: string | null;
  fingerprint256: string | null;
}

export interface ProbeObservation {
  connection: string;
  startedAt: string;   // ISO 8601
  url: string;         // the full URL probed (never contains credentials)
  credential: CredentialCheck;
  oauth: OAuthTokenResult | null;
  error: ProbeError | null;
  http: HttpDetails | null;
  identity: Identity | null;
  tls: TlsDetails | null;
  timings: ProbeTimings;
  /** Absent or null when the probe went direct. */
  proxy?: ProxyObservation | null;
  /** Absent or null when no client certificate was configured and none was asked for. */
  clientCertificate?: ClientCertificateObservation | null;
}
