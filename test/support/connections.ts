// A configured connection as the store and the read models see it, for tests that need no config file: a Cloud
// connection with basic auth on `https://NAME.atlassian.net`, the loader's defaults, and what a test overrides.
import type { Connection } from '../../src/config/load.js';

export function testConnection(name: string, overrides: Partial<Connection> = {}): Connection {
  return {
    name,
    url: `https://${name}.atlassian.net`,
    deployment: 'cloud',
    path: '/rest/api/3/myself',
    probeUrl: `https://${name}.atlassian.net/rest/api/3/myself`,
    auth: { type: 'basic', username: 'bot@acme.com', secret: { env: 'TOKEN' } },
    expect: null,
    labels: {},
    schedule: '* * * * *',
    timeoutMs: 15_000,
    failureThreshold: 2,
    recoveryThreshold: 1,
    tls: { minVersion: 'TLSv1.2', maxVersion: null, caFile: null, serverName: null },
    tokenExpiresAt: null,
    ...overrides,
  };
}
