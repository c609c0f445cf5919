// An https.Agent that opens every connection through an HTTP CONNECT proxy, with the probe's own connect code
// (the same tunnel, verification and timeouts), for the requests made with got: the oauth2 token request.
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { openConnection } from './connect.js';
import type { TunnelProxy } from './proxy-tunnel.js';

export class TunnelAgent extends https.Agent {
  readonly #proxy: TunnelProxy;
  readonly #secureContext: tls.SecureContext;
  readonly #timeoutMs: number;

  constructor(proxy: TunnelProxy, secureContext: tls.SecureContext, timeoutMs: number) {
    super({ keepAlive: false, maxCachedSessions: 0 });
    this.#proxy = proxy;
    this.#secureContext = secureContext;
    this.#timeoutMs = timeoutMs;
  }

  // Node's Agent accepts a connection handed over later through the callback.
  override createConnection(options: https.RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex {
    const hostname = String(options.hostname ?? options.host ?? 'localhost');
    const port = Number(options.port) || 443;
    void openConnection({
      hostname,
      port,
      tls: { secureContext: this.#secureContext, serverName: options.servername || hostname.replace(/^\[|\]$/g, '') },
      timeoutMs: this.#timeoutMs,
      proxy: this.#proxy,
    }).then((opened) => {
      if (opened.ok) callback?.(null, opened.socket);
      else callback?.(Object.assign(new Error(opened.error.message), { code: opened.error.code }), undefined as unknown as Duplex);
    });
    return undefined as unknown as Duplex;
  }
}
