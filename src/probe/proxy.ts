// Which proxy a connection's probe goes through, decided once per connection: the configured one, `none`, or
// (when nothing is configured) HTTPS_PROXY / NO_PROXY from the environment, read the way curl reads them.
// The CONNECT itself is in proxy-tunnel.ts; here is only the pure decision and the request head it sends.
import net from 'node:net';
import type { Connection } from '../config/load.js';
import type { SecretRef } from '../config/schema.js';
import type { Environment } from '../config/secrets.js';

export interface ResolvedProxy {
  /** http://host:port, never with credentials: safe to record and show. */
  url: string;
  hostname: string;
  port: number;
  /** Where it came from: the connection's (or defaults') `proxy`, or the environment variable's name. */
  source: 'config' | 'HTTPS_PROXY' | 'https_proxy';
  auth: { username: string; secret: SecretRef } | null;
}

export type ProxyDecision =
  | { kind: 'direct'; reason: 'none' | 'no-env' | 'no_proxy' | 'plain-http' }
  | { kind: 'proxy'; proxy: ResolvedProxy }
  /** The environment names a proxy authwatch cannot use (e.g. socks5://); every probe reports it. */
  | { kind: 'invalid'; problem: string };

/** curl's default proxy port, used when an environment proxy URL names none. */
export const DEFAULT_ENV_PROXY_PORT = 1080;

export function decideProxy(connection: Pick<Connection, 'probeUrl' | 'proxy'>, env: Environment): ProxyDecision {
  const target = new URL(connection.probeUrl);
  // Plain http is allowed only to loopback; a proxy would see the Authorization header in clear, so it is never used.
  if (target.protocol !== 'https:') return { kind: 'direct', reason: 'plain-http' };
  const configured = connection.proxy ?? null;
  if (configured === 'none') return { kind: 'direct', reason: 'none' };
  if (configured !== null) {
    const url = new URL(configured.url);
    return {
      kind: 'proxy',
      proxy: { url: `http://${url.host}`, hostname: url.hostname, port: Number(url.port), source: 'config', auth: configured.auth ?? null },
    };
  }
  // curl reads the lower-case name first.
  const source = env.https_proxy ? 'https_proxy' : env.HTTPS_PROXY ? 'HTTPS_PROXY' : null;
  if (source === null) return { kind: 'direct', reason: 'no-env' };
  if (noProxyMatches(env.no_proxy ?? env.NO_PROXY ?? '', target.hostname, Number(target.port) || 443)) {
    return { kind: 'direct', reason: 'no_proxy' };
  }
  return envProxy(env[source]!, source);
}

function envProxy(value: string, source: 'HTTPS_PROXY' | 'https_proxy'): ProxyDecision {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { kind: 'invalid', problem: `${source} is not a URL` };
  }
  if (url.protocol !== 'http:') return { kind: 'invalid', problem: `${source} names a ${url.protocol}// proxy; authwatch speaks only to http:// proxies (CONNECT)` };
  const port = Number(url.port) || DEFAULT_ENV_PROXY_PORT;
  const auth = url.username ? { username: decodeURIComponent(url.username), secret: decodeURIComponent(url.password) } : null;
  return {
    kind: 'proxy',
    proxy: { url: `http://${url.hostname}:${port}`, hostname: url.hostname, port, source, auth: auth && auth.secret ? auth : null },
  };
}

/**
 * NO_PROXY as curl reads it: comma- (or space-) separated; `*` matches every host; a name matches itself and every
 * subdomain (a leading dot is ignored); an IP address matches exactly, a CIDR range (10.0.0.0/8) every address in it;
 * an entry with `:port` matches only that port.
 */
export function noProxyMatches(list: string, hostname: string, port: number): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  for (const raw of list.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: number | null = null;
    const portMatch = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (portMatch) {
      entry = portMatch[1];
      entryPort = Number(portMatch[2]);
    }
    if (entryPort !== null && entryPort !== port) continue;
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '').replace(/\.$/, '');
    const slash = entry.indexOf('/');
    if (slash > 0 && net.isIP(host)) {
      const network = entry.slice(0, slash);
      const prefix = Number(entry.slice(slash + 1));
      const family = net.isIP(network);
      if (family === 0 || family !== net.isIP(host) || !Number.isInteger(prefix)) continue;
      const range = new net.BlockList();
      try {
        range.addSubnet(network, prefix, family === 6 ? 'ipv6' : 'ipv4');
      } catch {
        continue;
      }
      if (range.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
      continue;
    }
    if (host === entry || (!net.isIP(host) && host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/** `host:port` as CONNECT's request target (IPv6 in brackets). */
export function authority(hostname: string, port: number): string {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return `${net.isIP(bare) === 6 ? `[${bare}]` : bare}:${port}`;
}
