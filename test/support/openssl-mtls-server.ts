// `openssl s_server` as a Jira that requires client certificates and checks them inside the handshake, the way
// OpenSSL-based servers (Apache mod_ssl, HAProxy, Envoy) and Java's do: a refused certificate ends the handshake with
// a TLS alert (unknown_ca, certificate_expired…), which Node's own TLS server never sends. It serves one fixed Data
// Center /myself answer (-HTTP serves files holding whole HTTP responses) and logs `FILE:path` per request served.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OpensslMtlsServer {
  /** The connection url: https://127.0.0.1:PORT/jira */
  url: string;
  /** Requests served so far (each is one `FILE:` line of s_server's output). */
  requests(): number;
  stop(): Promise<void>;
}

export const MYSELF_BODY = { self: 'https://jira.example.com/rest/api/2/user?username=svc-mtls', key: 'JIRAUSER10500', name: 'svc-mtls', emailAddress: 'svc-mtls@example.com', displayName: 'mTLS integration', active: true };

export async function startOpensslMtlsServer(options: { certFile: string; keyFile: string; clientCaFile: string }): Promise<OpensslMtlsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'authwatch-s-server-'));
  await mkdir(join(dir, 'jira', 'rest', 'api', '2'), { recursive: true });
  const body = JSON.stringify(MYSELF_BODY);
  await writeFile(
    join(dir, 'jira', 'rest', 'api', '2', 'myself'),
    `HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nX-AUSERNAME: svc-mtls\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  const child: ChildProcess = spawn(
    'openssl',
    ['s_server', '-accept', '127.0.0.1:0', '-cert', options.certFile, '-key', options.keyFile, '-CAfile', options.clientCaFile,
      '-Verify', '2', '-verify_return_error', '-HTTP'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  let port: number | null = null;
  for (let attempt = 0; attempt < 400 && port === null; attempt++) {
    port = Number(/ACCEPT 127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? Number.NaN) || null;
    if (child.exitCode !== null) break;
    if (port === null) await sleep(25);
  }
  if (port === null) {
    await stop();
    throw new Error(`openssl s_server did not start: ${output}`);
  }
  return { url: `https://127.0.0.1:${port}/jira`, requests: () => output.match(/^FILE:/gm)?.length ?? 0, stop };
}
