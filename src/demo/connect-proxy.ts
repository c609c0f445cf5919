// A small HTTP CONNECT proxy on loopback, for the demo and the tests: optional Basic proxy authentication, and
// optionally a TLS-inspecting mode that answers the tunnel with its own certificate instead of relaying. It records
// every byte its clients send, so a test can show what a proxy gets to see (the CONNECT head, then only TLS).
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';

export interface ConnectProxyOptions {
  /** Require `Proxy-Authorization: Basic` with these credentials (407 otherwise). */
  auth?: { username: string; password: string };
  /** Terminate TLS in the tunnel with this certificate (a TLS-inspecting proxy) instead of relaying to the target. */
  intercept?: { key: string; cert: string };
  /** Only these target ports may be tunnelled to; others get a 403 HTML block page. */
  allowedPorts?: number[];
}

export class ConnectProxy {
  readonly #options: ConnectProxyOptions;
  readonly #sockets = new Set<Socket>();
  #server: http.Server | null = null;
  #port = 0;
  /** Every byte clients sent (CONNECT heads and tunnelled data), per client connection. */
  readonly received: Buffer[][] = [];
  /** Request lines of the CONNECTs seen, e.g. `CONNECT 127.0.0.1:443 -> 200`. */
  readonly log: string[] = [];

  constructor(options: ConnectProxyOptions = {}) {
    this.#options = options;
  }

  async start(): Promise<string> {
    const server = http.createServer((_request, response) => {
      response.writeHead(405, { 'content-type': 'text/plain' }).end('only CONNECT is supported\n');
    });
    server.on('connection', (socket: Socket) => {
      const chunks: Buffer[] = [];
      this.received.push(chunks);
      socket.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('connect', (request: http.IncomingMessage, socket: Socket, head: Buffer) => this.#tunnel(request, socket, head));
    server.on('clientError', (_error, socket: Socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Everything clients sent so far, as one latin1 string (binary TLS records stay byte-for-byte comparable). */
  receivedText(): string {
    return this.received.map((chunks) => Buffer.concat(chunks).toString('latin1')).join('\n');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #tunnel(request: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    const target = request.url ?? '';
    const answer = (status: number, reason: string, headers: Record<string, string> = {}, body = ''): void => {
      this.log.push(`CONNECT ${target} -> ${status}`);
      const lines = [`HTTP/1.1 ${status} ${reason}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
      socket.end(`${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    const auth = this.#options.auth;
    if (auth) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (request.headers['proxy-authorization'] !== expected) {
        answer(407, 'Proxy Authentication Required', { 'Proxy-Authenticate': 'Basic realm="authwatch demo proxy"', 'Content-Type': 'text/html' },
          '<html><head><title>Proxy authentication required</title></head><body>Sign in to the proxy.</body></html>');
        return;
      }
    }
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    if (!match) {
      answer(400, 'Bad Request');
      return;
    }
    const port = Number(match[2]);
    if (this.#options.allowedPorts && !this.#options.allowedPorts.includes(port)) {
      answer(403, 'Forbidden', { 'Content-Type': 'text/html; charset=utf-8' },
        '<!DOCTYPE html><html><head><title>Blocked by company policy</title></head><body>This site is blocked.</body></html>');
      return;
    }
    if (this.#options.intercept) {
      this.log.push(`CONNECT ${target} -> 200 (intercepted)`);
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) socket.unshift(head);
      const secure = new tls.TLSSocket(socket, { isServer: true, key: this.#options.intercept.key, cert: this.#options.intercept.cert });
      secure.on('error', () => socket.destroy());
      // An inspecting proxy would now relay to the real server; this one only shows its certificate.
      secure.on('data', () => undefined);
      return;
    }
    const upstream = net.connect({ host: match[1].replace(/^\[|\]$/g, ''), port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.log.push(`CONNECT ${target} -> 200`);
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.once('error', () => {
      if (!connected) answer(502, 'Bad Gateway', { 'Content-Type': 'text/plain' }, `cannot reach ${target}\n`);
      else socket.destroy();
    });
    socket.once('close', () => upstream.destroy());
  }
}
