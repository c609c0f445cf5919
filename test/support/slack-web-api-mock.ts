// A local HTTP server speaking the Slack Web API methods authwatch uses, as documented at
// https://api.slack.com/methods/chat.postMessage and https://api.slack.com/methods/chat.update:
// POST <apiUrl>/chat.postMessage | chat.update with a JSON body and "Authorization: Bearer <token>";
// HTTP 200 { ok: true, channel, ts, message } or HTTP 200 { ok: false, error } (invalid_auth, channel_not_found,
// message_not_found, …); when rate limited HTTP 429 { ok: false, error: 'ratelimited' } with Retry-After seconds.
// It keeps the channel's messages as Slack would (top level, thread replies, updates) for the tests to read.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackApiCall {
  method: string;
  /** The Authorization header as received. */
  authorization: string | undefined;
  body: Record<string, unknown>;
  /** What the mock answered. */
  status: number;
  answer: Record<string, unknown>;
  receivedAt: number;
}

export interface StoredSlackMessage {
  channel: string;
  ts: string;
  /** The parent's ts for a thread reply. */
  threadTs: string | null;
  text: string;
  blocks: unknown[];
  /** Every version after chat.update, oldest first (the current one is text/blocks). */
  edits: { text: string; blocks: unknown[] }[];
}

export interface SlackApiScript {
  /** Answer this call with HTTP 429 ratelimited and this Retry-After (seconds). */
  ratelimitedSeconds?: number;
  /** Answer with { ok: false, error }. */
  error?: string;
}

export interface SlackWebApiMock {
  /** http://127.0.0.1:PORT/api: the alerting.slack.apiUrl to configure. */
  apiUrl: string;
  token: string;
  /** Channel IDs that exist; posting elsewhere is channel_not_found. */
  channels: Set<string>;
  calls: SlackApiCall[];
  messages: StoredSlackMessage[];
  /** Top-level messages of a channel, oldest first. */
  topLevel(channel: string): StoredSlackMessage[];
  replies(channel: string, threadTs: string): StoredSlackMessage[];
  /** The next calls of `method` get these answers, one each. */
  script(method: string, ...answers: SlackApiScript[]): void;
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startSlackWebApiMock(options: { token: string; channels: string[] }): Promise<SlackWebApiMock> {
  const calls: SlackApiCall[] = [];
  const messages: StoredSlackMessage[] = [];
  const scripts = new Map<string, SlackApiScript[]>();
  const channels = new Set(options.channels);
  let clock = 1_700_000_000;
  const nextTs = () => `${++clock}.${String(calls.length).padStart(6, '0')}`;

  const handle = (method: string, authorization: string | undefined, body: Record<string, unknown>): { status: number; answer: Record<string, unknown>; headers?: Record<string, string> } => {
    const scripted = scripts.get(method)?.shift();
    if (scripted?.ratelimitedSeconds !== undefined) return { status: 429, answer: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(scripted.ratelimitedSeconds) } };
    if (scripted?.error) return { status: 200, answer: { ok: false, error: scripted.error } };
    if (authorization !== `Bearer ${options.token}`) return { status: 200, answer: { ok: false, error: authorization ? 'invalid_auth' : 'not_authed' } };
    const channel = String(body.channel ?? '');
    if (!channels.has(channel)) return { status: 200, answer: { ok: false, error: 'channel_not_found' } };
    const text = typeof body.text === 'string' ? body.text : '';
    const blocks = Array.isArray(body.blocks) ? body.blocks : [];
    if (!text && blocks.length === 0) return { status: 200, answer: { ok: false, error: 'no_text' } };
    if (method === 'chat.postMessage') {
      const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : null;
      if (threadTs && !messages.some((message) => message.channel === channel && message.ts === threadTs)) return { status: 200, answer: { ok: false, error: 'thread_not_found' } };
      const message: StoredSlackMessage = { channel, ts: nextTs(), threadTs, text, blocks, edits: [] };
      messages.push(message);
      return { status: 200, answer: { ok: true, channel, ts: message.ts, message: { text, blocks, ts: message.ts } } };
    }
    if (method === 'chat.update') {
      const message = messages.find((candidate) => candidate.channel === channel && candidate.ts === body.ts);
      if (!message) return { status: 200, answer: { ok: false, error: 'message_not_found' } };
      message.edits.push({ text: message.text, blocks: message.blocks });
      message.text = text;
      message.blocks = blocks;
      return { status: 200, answer: { ok: true, channel, ts: message.ts, text, message: { text, blocks } } };
    }
    return { status: 200, answer: { ok: false, error: 'unknown_method' } };
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = (request.url ?? '').replace(/^\/api\//, '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = {};
      }
      const { status, answer, headers } = request.method === 'POST' && (request.url ?? '').startsWith('/api/') ? handle(method, request.headers.authorization, body) : { status: 404, answer: { ok: false, error: 'not_found' }, headers: undefined };
      calls.push({ method, authorization: request.headers.authorization, body, status, answer, receivedAt: Date.now() });
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api`,
    token: options.token,
    channels,
    calls,
    messages,
    topLevel: (channel) => messages.filter((message) => message.channel === channel && message.threadTs === null),
    replies: (channel, threadTs) => messages.filter((message) => message.channel === channel && message.threadTs === threadTs),
    script: (method, ...answers) => scripts.set(method, [...(scripts.get(method) ?? []), ...answers]),
    async waitFor(predicate, timeoutMs = 20_000, what = 'the expected Slack messages') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; calls: ${JSON.stringify(calls.map((call) => `${call.method} ${call.status} ${JSON.stringify(call.answer.error ?? 'ok')}`))}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
