// The probe against proxies that misbehave, written as raw TCP servers: a refusal page that never ends, and a
// proxy that echoes the request head (and so the proxy credentials) into its page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { createProber } from '../../src/probe/prober.js';
import { classify } from '../../src/diagnosis/classify.js';
import { FINGERPRINT_KEY, connectionFrom, secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';

let fixture: JiraFixture;
const servers: net.Server[] = [];

before(async () => {
  fixture = await startJiraFixture();
});
after(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await fixture.close();
});

/** A "proxy" that answers the first request head it reads with `answer(head)` and keeps the connection open. */
async function rawProxy(answer: (head: string) => string): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) socket.write(answer(head));
    });
    socket.on('error', () => undefined);
  });
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  const close = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    sockets.forEach((socket) => socket.destroy());
    return close(callback);
  }) as typeof server.close;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function probeVia(proxyUrl: string, proxyPassword: string | null = null) {
  const tenant = fixture.tenant({ deployment: 'datacenter' });
  const pat = secretEnv(fixture.jira.tenant(tenant).credentials.pat);
  const password = secretEnv(proxyPassword ?? 'unused');
  const connection = connectionFrom({
    url: fixture.jira.tenantUrl(tenant),
    timeout: '2s',
    auth: { type: 'bearer', secret: pat.ref },
    tls: { caFile: fixture.pki.caFile },
    proxy: { url: proxyUrl, ...(proxyPassword ? { auth: { username: 'svc', secret: password.ref } } : {}) },
  });
  const observation = await createProber(connection, { fingerprintKey: FINGERPRINT_KEY, env: { ...pat.env, ...password.env } }).probe();
  return { observation, diagnosis: classify(observation, { deployment: 'datacenter', authType: 'bearer', expect: null }) };
}

test('a refusal page that never ends is still the proxy\'s refusal, not a timeout', async () => {
  const url = await rawProxy(() => 'HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n2f\r\n<html><head><title>Blocked by policy</title></head>\r\n');
  const { diagnosis } = await probeVia(url);
  assert.equal(diagnosis.outcome, 'proxy_tunnel_failed', diagnosis.detail);
  assert.match(diagnosis.detail, /answered CONNECT with 403 text\/html block page: "Blocked by policy"$/);
});

test('a proxy that echoes the CONNECT head: the proxy password is masked in what is recorded', async () => {
  const password = 'pr0xy-Secret-echoed-91';
  const url = await rawProxy((head) => {
    const body = `<html><head><title>Denied</title></head><body><pre>${head}</pre></body></html>`;
    return `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  });
  const { observation, diagnosis } = await probeVia(url, password);
  assert.equal(diagnosis.outcome, 'proxy_auth_required');
  assert.match(observation.proxy!.message, /proxy-authorization: \*\*\*/i, 'the echo is there, masked');
  const recorded = JSON.stringify({ observation, diagnosis });
  assert.ok(!recorded.includes(password));
  assert.ok(!recorded.includes(Buffer.from(`svc:${password}`).toString('base64')));
});
