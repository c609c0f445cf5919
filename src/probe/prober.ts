// One prober per connection: probe() authenticates the way the integration does and returns everything it
// saw as a ProbeObservation. It never throws; every failure is part of the observation.
// Steps: credential (read, lint, fingerprint; stop if unusable) → oauth2 token (cached) → one fresh verified
// TCP+TLS connection → one GET without redirects or retries → body up to 1 MiB → observation.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../config/load.js';
import { VERSION } from '../version.js';
import { protocolRank } from './tls.js';
import type { ClientCertificateObservation, ProbeObservation, ProbeTimings, ProbeError } from './observation.js';
import { basicAuthorization, resolveCredential } from './credentials.js';
import { openConnection } from './connect.js';
import { errorFrom, probeError } from './probe-error.js';
import { newChainExpiryCache } from './tls-verify.js';
import { decideProxy, type ProxyDecision, type ResolvedProxy } from './proxy.js';
import { TunnelAgent } from './tunnel-agent.js';
import type { TunnelProxy } from './proxy-tunnel.js';
import { readSecret } from '../config/secrets.js';
import { x509Name, certificateDate } from './tls.js';
import { exchange } from './exchange.js';
import { httpDetails, maskSecrets, secretForms } from './response.js';
import { accountIdentity } from '../diagnosis/classify.js';
import { fetchClientCredentialsToken, tokenResult, tokenUsable, type AccessToken } from './oauth.js';

export interface ProberDeps {
  /** The per-database key for credential fingerprints. */
  fingerprintKey: Buffer;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** TLS contexts shared with other probers (the daemon's); without it the prober keeps its own. */
  secureContexts?: SecureContextCache;
  /** Told each credential secret as it is read at probe time, before the probe can log anything (masking). */
  onSecret?: (secret: string) => void;
}

export interface Prober {
  readonly connection: Connection;
  probe(): Promise<ProbeObservation>;
  /** Forgets the cached oauth2 token and the TLS context the prober built for itself (a shared one stays). */
  close(): void;
}

const USER_AGENT = `authwatch/${VERSION}`;

/** Seconds to the microsecond: the clock is not more precise than that, and float noise helps nobody. */
export function roundTimings(timings: ProbeTimings): ProbeTimings {
  const rounded = { ...timings };
  for (const phase of Object.keys(rounded) as (keyof ProbeTimings)[]) {
    const value = rounded[phase];
    if (value !== null) rounded[phase] = Math.round(value * 1e6) / 1e6;
  }
  return rounded;
}

export function emptyTimings(): ProbeTimings {
  return { dns: null, connect: null, tls: null, request: null, first_byte: null, download: null, total: null };
}

/**
 * The key-exchange groups offered, in order; the first gets the key share. These are what the clients of Jira
 * integrations (Java, Go, older OpenSSL) offer. OpenSSL 3.5's default adds the post-quantum hybrid
 * X25519MLKEM768, whose key generation and decapsulation cost ~0.3 ms of CPU per handshake (a sixth of a probe)
 * and which no Jira login depends on.
 */
export const KEY_EXCHANGE_GROUPS = 'X25519:P-256:P-384';

/** The error code of a TLS file of the config (tls.caFile) that authwatch cannot read: a local problem. */
export const TLS_FILE_UNREADABLE = 'TLS_FILE_UNREADABLE';

/**
 * The client TLS settings of a connection, built once per prober (building one per probe is expensive).
 * A minVersion below TLS 1.2 mimics an old client, which also needs OpenSSL 3's legacy ciphers.
 */
export function buildSecureContext(settings: Connection['tls'], client: ClientCertificate | null = null): tls.SecureContext {
  const options: tls.SecureContextOptions = { minVersion: settings.minVersion, ecdhCurve: KEY_EXCHANGE_GROUPS };
  if (client) {
    options.cert = client.cert;
    options.key = client.key;
    if (client.passphrase !== null) options.passphrase = client.passphrase;
  }
  if (settings.maxVersion) options.maxVersion = settings.maxVersion;
  if (protocolRank(settings.minVersion) < protocolRank('TLSv1.2')) options.ciphers = 'DEFAULT:@SECLEVEL=0';
  if (settings.caFile) {
    let extra: string;
    try {
      extra = readFileSync(settings.caFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'ERR_TLS_CA_FILE';
      throw Object.assign(new Error(`cannot read tls.caFile ${settings.caFile} (${code})`), { code: TLS_FILE_UNREADABLE });
    }
    options.ca = [...tls.rootCertificates, extra];
  }
  try {
    return tls.createSecureContext(options);
  } catch (error) {
    if (!client) throw error;
    // A wrong passphrase, a key that does not belong to the certificate, or a file that is not PEM.
    const reason = (error as Error).message.split('\n')[0];
    throw Object.assign(new Error(`the client certificate ${settings.certFile} cannot be used: ${reason}`), { code: 'ERR_CLIENT_CERT_INVALID' });
  }
}

/** A client certificate as read at a probe: the PEM texts, the passphrase, and what the certificate says. */
export interface ClientCertificate {
  cert: string;
  key: string;
  passphrase: string | null;
  /** SHA-256 over certificate, key and passphrase: a rotated file or secret builds a new TLS context. */
  digest: string;
  info: Omit<ClientCertificateObservation, 'configured' | 'requested'>;
}

/**
 * Reads tls.certFile / keyFile and the passphrase at every probe (small files; a renewed certificate takes effect
 * without a reload, as a rotated secret does). Unreadable is `missing`, unparsable is `malformed`.
 */
export function readClientCertificate(
  settings: Connection['tls'],
  env: NodeJS.ProcessEnv,
): { ok: true; value: ClientCertificate | null } | { ok: false; error: ProbeError } {
  if (!settings.certFile) return { ok: true, value: null };
  const read = (file: string, key: string): string | ProbeError => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      return probeError('ERR_CLIENT_CERT_UNREADABLE', `tls.${key} ${file} is unreadable (${code})`);
    }
  };
  const cert = read(settings.certFile, 'certFile');
  if (typeof cert !== 'string') return { ok: false, error: cert };
  const key = settings.keyFile ? read(settings.keyFile, 'keyFile') : cert;
  if (typeof key !== 'string') return { ok: false, error: key };
  let passphrase: string | null = null;
  if (settings.passphrase) {
    const secret = readSecret(settings.passphrase, env);
    if (!secret.ok) return { ok: false, error: probeError('ERR_CLIENT_CERT_UNREADABLE', `tls.passphrase: ${secret.problem}`) };
    passphrase = secret.value;
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return { ok: false, error: probeError('ERR_CLIENT_CERT_INVALID', `tls.certFile ${settings.certFile} holds no PEM certificate`) };
  }
  return {
    ok: true,
    value: {
      cert,
      key,
      passphrase,
      digest: createHash('sha256').update(cert).update('\0').update(key).update('\0').update(passphrase ?? '').digest('hex'),
      info: {
        subject: x509Name(x509.subject),
        issuer: x509Name(x509.issuer),
        notAfter: certificateDate(x509.validTo),
        fingerprint256: x509.fingerprint256,
      },
    },
  };
}

/**
 * Client TLS contexts shared by every connection with the same TLS settings. Each context holds its own copy of
 * every trusted root (~1 MiB, ~20 ms of CPU to build), so one per connection costs gigabytes at 10,000 connections.
 * A failed build (unreadable caFile) is not cached: the next probe tries again.
 */
export class SecureContextCache {
  private readonly contexts = new Map<string, tls.SecureContext>();
  /** For contexts holding a client certificate: the digest of what they were built from (a renewal replaces them). */
  private readonly digests = new Map<string, string>();

  get(settings: Connection['tls'], client: ClientCertificate | null = null): tls.SecureContext {
    const base = JSON.stringify([settings.minVersion, settings.maxVersion ?? null, settings.caFile ?? null]);
    const key = client ? JSON.stringify([base, settings.certFile, settings.keyFile ?? null]) : base;
    let context = this.contexts.get(key);
    if (!context || (client && this.digests.get(key) !== client.digest)) {
      context = buildSecureContext(settings, client);
      this.contexts.set(key, context);
      if (client) this.digests.set(key, client.digest);
    }
    return context;
  }

  /** Forgets every context, so the next probes read their CA files again (on a config reload). */
  clear(): void {
    this.contexts.clear();
    this.digests.clear();
  }

  get size(): number {
    return this.contexts.size;
  }
}

export function createProber(connection: Connection, deps: ProberDeps): Prober {
  const env = deps.env ?? process.env;
  const now = deps.now ?? (() => new Date());
  const target = new URL(connection.probeUrl);
  const secure = target.protocol === 'https:';
  const port = Number(target.port) || (secure ? 443 : 80);
  const serverName = connection.tls.serverName ?? target.hostname.replace(/^\[|\]$/g, '');
  const chainExpiry = newChainExpiryCache();
  const ownContexts = deps.secureContexts ? null : new SecureContextCache();
  const secureContexts = deps.secureContexts ?? ownContexts!;
  let cachedToken: AccessToken | null = null;
  // Decided once per connection (and config): the environment of the process does not change under it.
  const proxyDecision = decideProxy(connection, env);
  // The oauth2 token endpoint may be another host (auth.atlassian.com): NO_PROXY is asked about that one.
  const tokenProxyDecision = connection.auth.type === 'oauth2' ? decideProxy({ probeUrl: connection.auth.tokenUrl, proxy: connection.proxy }, env) : null;

  /** The CONNECT settings of a decision, with the proxy's secret read now; an error when it cannot be used. */
  function proxySettings(decision: ProxyDecision | null): { ok: true; proxy: TunnelProxy | null; secrets: string[] } | { ok: false; error: ProbeError; where: ResolvedProxy | null } {
    if (decision === null || decision.kind === 'direct') return { ok: true, proxy: null, secrets: [] };
    if (decision.kind === 'invalid') return { ok: false, error: probeError('ERR_PROXY_INVALID', decision.problem), where: null };
    const { auth, ...where } = decision.proxy;
    if (!auth) return { ok: true, proxy: { ...where, authorization: null, userAgent: USER_AGENT }, secrets: [] };
    const secret = readSecret(auth.secret, env);
    if (!secret.ok) return { ok: false, error: probeError('ERR_PROXY_SECRET', `proxy.auth.secret: ${secret.problem}`), where: decision.proxy };
    const authorization = basicAuthorization(auth.username, secret.value);
    return { ok: true, proxy: { ...where, authorization, userAgent: USER_AGENT }, secrets: secretForms(secret.value, authorization) };
  }

  const contextFor = (client: ClientCertificate | null = null): tls.SecureContext => secureContexts.get(connection.tls, client);

  async function accessToken(
    clientSecret: string,
    fingerprint: string,
    observation: ProbeObservation,
  ): Promise<string | null> {
    const auth = connection.auth;
    if (auth.type !== 'oauth2') return null;
    if (tokenUsable(cachedToken, fingerprint, now().getTime())) {
      observation.oauth = tokenResult({ cached: cachedToken });
      return cachedToken.value;
    }
    cachedToken = null;
    const tokenProxy = proxySettings(tokenProxyDecision);
    if (!tokenProxy.ok) {
      observation.error = tokenProxy.error;
      return null;
    }
    const agent = tokenProxy.proxy
      ? new TunnelAgent(tokenProxy.proxy, contextFor(), connection.timeoutMs)
      : new https.Agent({ keepAlive: false, maxCachedSessions: 0, secureContext: contextFor() });
    const fetched = await fetchClientCredentialsToken(
      { tokenUrl: auth.tokenUrl, clientId: auth.clientId, clientSecret, scope: auth.scope, audience: auth.audience },
      {
        agent: { https: agent },
        timeoutMs: connection.timeoutMs,
        nowMs: () => now().getTime(),
        secretFingerprint: fingerprint,
        userAgent: USER_AGENT,
        mask: (text) => maskSecrets(text, [...secretForms(clientSecret, null), ...tokenProxy.secrets]),
      },
    );
    agent.destroy();
    observation.oauth = tokenResult(fetched);
    if (!fetched.ok) return null;
    if (fetched.token.expiresAtMs !== null) cachedToken = fetched.token;
    return fetched.token.value;
  }

  async function probe(): Promise<ProbeObservation> {
    const observation = await observe();
    observation.timings = roundTimings(observation.timings);
    return observation;
  }

  async function observe(): Promise<ProbeObservation> {
    const observation: ProbeObservation = {
      connection: connection.name,
      startedAt: now().toISOString(),
      url: connection.probeUrl,
      credential: { status: 'ok', problem: null, fingerprint: null, findings: [] },
      oauth: null,
      error: null,
      http: null,
      identity: null,
      tls: null,
      timings: emptyTimings(),
    };
    let secrets: string[] = [];
    const mask = (error: ProbeError): ProbeError => ({ ...error, message: maskSecrets(error.message, secrets) });

    try {
      const credential = resolveCredential(connection.auth, connection.deployment, deps.fingerprintKey, env, deps.onSecret);
      observation.credential = credential.check;
      if (credential.check.status !== 'ok' || credential.secret === null) return observation;
      secrets = secretForms(credential.secret, credential.authorization);

      let authorization = credential.authorization;
      if (connection.auth.type === 'oauth2') {
        const token = await accessToken(credential.secret, credential.check.fingerprint ?? '', observation);
        if (observation.oauth?.error) observation.oauth.error = maskSecrets(observation.oauth.error, secrets);
        if (token === null || observation.error) return observation;
        authorization = `Bearer ${token}`;
        secrets = [...secrets, ...secretForms(token, authorization)];
      }

      const proxied = proxySettings(proxyDecision);
      if (!proxied.ok) {
        if (proxied.where) {
          const { url, source } = proxied.where;
          observation.proxy = { url, source, credentials: false, tunnel: false, status: null, contentType: null, headers: {}, message: '', connect: null, tunnel_seconds: null };
        }
        observation.error = proxied.error;
        return observation;
      }
      const proxy = proxied.proxy;
      secrets = [...secrets, ...proxied.secrets];

      let context: tls.SecureContext | null = null;
      let client: ClientCertificate | null = null;
      if (secure) {
        const clientRead = readClientCertificate(connection.tls, env);
        if (!clientRead.ok) {
          observation.clientCertificate = { configured: true, requested: null, subject: null, issuer: null, notAfter: null, fingerprint256: null };
          observation.error = mask(clientRead.error);
          return observation;
        }
        client = clientRead.value;
        if (client) observation.clientCertificate = { configured: true, requested: null, ...client.info };
        if (client?.passphrase) secrets = [...secrets, ...secretForms(client.passphrase, null)];
        try {
          context = contextFor(client);
        } catch (error) {
          observation.error = mask(errorFrom(error));
          return observation;
        }
      }
      // Timed from here: building the (cached) TLS context is authwatch's cost, not the server's.
      const startedAt = performance.now();
      const finishTotal = (): void => {
        observation.timings.total = (performance.now() - startedAt) / 1000;
      };
      const opened = await openConnection({
        hostname: target.hostname,
        port,
        tls: context ? { secureContext: context, serverName } : null,
        timeoutMs: connection.timeoutMs,
        proxy,
        chainExpiry,
      });
      observation.tls = opened.tls;
      if (opened.proxy) observation.proxy = { ...opened.proxy, message: maskSecrets(opened.proxy.message, secrets) };
      if (client || opened.clientCertRequested) {
        observation.clientCertificate = {
          configured: client !== null,
          requested: opened.clientCertRequested,
          subject: client?.info.subject ?? null,
          issuer: client?.info.issuer ?? null,
          notAfter: client?.info.notAfter ?? null,
          fingerprint256: client?.info.fingerprint256 ?? null,
        };
      }
      Object.assign(observation.timings, opened.timings);
      if (!opened.ok) {
        observation.error = mask(opened.error);
        finishTotal();
        return observation;
      }

      const result = await exchange({
        url: target,
        socket: opened.socket,
        authorization,
        userAgent: USER_AGENT,
        timeoutMs: connection.timeoutMs,
      });
      Object.assign(observation.timings, result.timings);
      finishTotal();
      if (result.error) observation.error = mask(result.error);
      if (result.response) {
        observation.http = httpDetails({ ...result.response, secrets });
        if (result.response.status >= 200 && result.response.status < 300) observation.identity = accountIdentity(observation.http.json);
        // A token Jira refuses is not reused: the next probe asks the token endpoint again.
        if (result.response.status === 401 && observation.oauth?.fromCache) cachedToken = null;
      }
      return observation;
    } catch (error) {
      observation.error = mask(errorFrom(error));
      return observation;
    }
  }

  return {
    connection,
    probe,
    close() {
      cachedToken = null;
      ownContexts?.clear();
    },
  };
}
