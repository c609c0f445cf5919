// One prober per connection: probe() authenticates the way the integration does and returns everything it
// saw as a ProbeObservation. It never throws; every failure is part of the observation.
// Steps: credential (read, lint, fingerprint; stop if unusable) → oauth2 token (cached) → one fresh verified
// TCP+TLS connection → one GET without redirects or retries → body up to 1 MiB → observation.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../config/load.js';
import { VERSION } from '../version.js';
import { protocolRank } from './tls.js';
import type { ProbeObservation, ProbeTimings, ProbeError } from './observation.js';
import { resolveCredential } from './credentials.js';
import { openConnection, errorFrom } from './connect.js';
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

/** The error code of a TLS file of the config (tls.caFile) that authwatch cannot read: a local problem. */
export const TLS_FILE_UNREADABLE = 'TLS_FILE_UNREADABLE';

/**
 * The client TLS settings of a connection, built once per prober (building one per probe is expensive).
 * A minVersion below TLS 1.2 mimics an old client, which also needs OpenSSL 3's legacy ciphers.
 */
export function buildSecureContext(settings: Connection['tls']): tls.SecureContext {
  const options: tls.SecureContextOptions = { minVersion: settings.minVersion };
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
  return tls.createSecureContext(options);
}

/**
 * Client TLS contexts shared by every connection with the same TLS settings. Each context holds its own copy of
 * every trusted root (~1 MiB, ~20 ms of CPU to build), so one per connection costs gigabytes at 10,000 connections.
 * A failed build (unreadable caFile) is not cached: the next probe tries again.
 */
export class SecureContextCache {
  private readonly contexts = new Map<string, tls.SecureContext>();

  get(settings: Connection['tls']): tls.SecureContext {
    const key = JSON.stringify([settings.minVersion, settings.maxVersion ?? null, settings.caFile ?? null]);
    let context = this.contexts.get(key);
    if (!context) {
      context = buildSecureContext(settings);
      this.contexts.set(key, context);
    }
    return context;
  }

  /** Forgets every context, so the next probes read their CA files again (on a config reload). */
  clear(): void {
    this.contexts.clear();
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
  const ownContexts = deps.secureContexts ? null : new SecureContextCache();
  const secureContexts = deps.secureContexts ?? ownContexts!;
  let cachedToken: AccessToken | null = null;

  const contextFor = (): tls.SecureContext => secureContexts.get(connection.tls);

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
    const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0, secureContext: contextFor() });
    const fetched = await fetchClientCredentialsToken(
      { tokenUrl: auth.tokenUrl, clientId: auth.clientId, clientSecret, scope: auth.scope, audience: auth.audience },
      {
        agent: { https: agent },
        timeoutMs: connection.timeoutMs,
        nowMs: () => now().getTime(),
        secretFingerprint: fingerprint,
        userAgent: USER_AGENT,
        mask: (text) => maskSecrets(text, secretForms(clientSecret, null)),
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
      const credential = resolveCredential(connection.auth, connection.deployment, deps.fingerprintKey, env);
      observation.credential = credential.check;
      if (credential.check.status !== 'ok' || credential.secret === null) return observation;
      secrets = secretForms(credential.secret, credential.authorization);

      let authorization = credential.authorization;
      if (connection.auth.type === 'oauth2') {
        const token = await accessToken(credential.secret, credential.check.fingerprint ?? '', observation);
        if (observation.oauth?.error) observation.oauth.error = maskSecrets(observation.oauth.error, secrets);
        if (token === null) return observation;
        authorization = `Bearer ${token}`;
        secrets = [...secrets, ...secretForms(token, authorization)];
      }

      let context: tls.SecureContext | null = null;
      if (secure) {
        try {
          context = contextFor();
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
        port: Number(target.port) || (secure ? 443 : 80),
        tls: context ? { secureContext: context, serverName: connection.tls.serverName ?? target.hostname.replace(/^\[|\]$/g, '') } : null,
        timeoutMs: connection.timeoutMs,
      });
      observation.tls = opened.tls;
      Object.assign(observation.timings, opened.timings);
      if (!opened.ok) {
        observation.error = mask(opened.error);
        finishTotal();
        return observation;
      }

      const result = await exchange({
        url: connection.probeUrl,
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
