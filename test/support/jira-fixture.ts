// Shared setup for tests that probe the simulated Jira over real HTTPS: one PKI, one good server and the
// servers with broken TLS (expired, self-signed, wrong host, TLS 1.0/1.1 only), plus helpers to build
// Connections through the real config loader.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseConfigText, type Connection } from '../../src/config/load.js';
import { createTestPki, type CertificatePair, type Pki } from '../../src/demo/pki.js';
import { JiraMock, type SimulatedJiraTls, type TenantOptions } from './jira-mock.js';

export interface JiraFixture {
  pki: Pki;
  /** Valid certificate for 127.0.0.1, signed by pki.ca. */
  jira: JiraMock;
  /** Adds a tenant with a unique name to `jira` (or another server) and returns its name. */
  tenant(options: Omit<TenantOptions, 'name'> & { name?: string }, server?: JiraMock): string;
  /** Starts another simulated Jira with the same tenants API (e.g. serving the expired certificate). */
  startServer(tls: SimulatedJiraTls | null, extra?: { hugeBodyBytes?: number; slowBodyIntervalMs?: number }): Promise<JiraMock>;
  serve(pair: CertificatePair, extra?: Partial<SimulatedJiraTls>): Promise<JiraMock>;
  close(): Promise<void>;
}

export async function startJiraFixture(): Promise<JiraFixture> {
  const pki = await createTestPki();
  const servers: JiraMock[] = [];
  let counter = 0;
  const startServer = async (tls: SimulatedJiraTls | null, extra: { hugeBodyBytes?: number; slowBodyIntervalMs?: number } = {}) => {
    const server = new JiraMock({ tls, ...extra });
    await server.start();
    servers.push(server);
    return server;
  };
  const jira = await startServer({ key: pki.good.key, cert: pki.good.cert }, { slowBodyIntervalMs: 50 });
  return {
    pki,
    jira,
    tenant(options, server = jira) {
      counter += 1;
      const name = options.name ?? `t${counter}-${options.deployment === 'cloud' ? 'cloud' : 'dc'}`;
      server.addTenant({ ...options, name });
      return name;
    },
    startServer,
    serve: (pair, extra = {}) => startServer({ key: pair.key, cert: pair.cert, ...extra }),
    async close() {
      await Promise.all(servers.map((server) => server.stop()));
      await pki.cleanup();
    },
  };
}

/** One connection through the real config loader (JSON is YAML), with its defaults and validation. */
export function connectionFrom(entry: Record<string, unknown>, defaults: Record<string, unknown> = {}): Connection {
  const config = parseConfigText(JSON.stringify({ defaults, connections: [{ name: 'probe-test', ...entry }] }), 'test-config');
  return config.connections[0];
}

/** An environment holding one secret under a fresh variable name. */
export function secretEnv(value: string): { env: Record<string, string>; ref: { env: string } } {
  const name = `AUTHWATCH_TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
  return { env: { [name]: value }, ref: { env: name } };
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const FINGERPRINT_KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
