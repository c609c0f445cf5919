// A local HTTP server standing in for a Slack incoming webhook: records every request and answers from a
// script (e.g. 500, then 429 with Retry-After: 2, then 200), then with the default reply.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  receivedAt: number;
  /** The reply it got. */
  status: number;
}

export interface ScriptedReply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Answer only after this long (for timeouts). */
  delayMs?: number;
}

export interface RecordingServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  requests: RecordedRequest[];
  /** Replies used in order, one per request; afterwards the default reply. */
  script(...replies: ScriptedReply[]): void;
  /** Runs `hook` (awaited) just before each later reply is sent, e.g. to take a database lock at that moment. */
  beforeReply(hook: ((reply: ScriptedReply) => void | Promise<void>) | null): void;
  /** Resolves once `count` requests have been answered. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export async function startRecordingServer(defaultReply: ScriptedReply): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedReply[] = [];
  const waiters: (() => void)[] = [];
  let beforeReply: ((reply: ScriptedReply) => void | Promise<void>) | null = null;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      const reply = queue.shift() ?? defaultReply;
      const answer = async () => {
        await beforeReply?.(reply);
        requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body, receivedAt: Date.now(), status: reply.status });
        response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
        response.end(reply.body ?? '');
        waiters.splice(0).forEach((wake) => wake());
      };
      if (reply.delayMs) setTimeout(() => void answer(), reply.delayMs);
      else void answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => queue.push(...replies),
    beforeReply: (hook) => {
      beforeReply = hook;
    },
    async waitForRequests(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} requests, got ${requests.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return requests.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The path of a realistic webhook URL: its last segment is the secret token. */
export const SLACK_WEBHOOK_PATH = '/services/T0AUTHWATCH/B0NOTIFIER/xoxbSecretWebhookToken12345';

export interface SlackMock extends RecordingServer {
  /** The full webhook URL to configure (a credential: must never show up in any output). */
  webhookUrl: string;
}

/** Slack answers 200 "ok" to a good message. */
export async function startSlackMock(): Promise<SlackMock> {
  const server = await startRecordingServer({ status: 200, body: 'ok' });
  return Object.assign(server, { webhookUrl: `${server.origin}${SLACK_WEBHOOK_PATH}` });
}
