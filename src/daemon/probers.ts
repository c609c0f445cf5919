// One prober per configured connection, rebuilt only when its connection's config changed, sharing one TLS context
// per distinct tls settings; and the masking of every secret the daemon may come across.
import { secretsOf, type Config, type Connection } from '../config/load.js';
import { readSecret } from '../config/secrets.js';
import type { SecretRegistry } from '../log/mask.js';
import { channelSecretRefs } from '../notify/registry.js';
import { createProber, SecureContextCache, type Prober } from '../probe/prober.js';

export class ProberPool {
  private readonly probers = new Map<string, { prober: Prober; fingerprint: string }>();
  private readonly secureContexts = new SecureContextCache();

  constructor(private readonly secrets: SecretRegistry) {}

  get(name: string): Prober | undefined {
    return this.probers.get(name)?.prober;
  }

  /** Closes the probers of removed or changed connections and creates the missing ones; CA files are read again. */
  sync(connections: readonly Connection[], options: { fingerprintKey: Buffer; env: NodeJS.ProcessEnv }): void {
    // A reload reads the CA files again (a renewed corporate CA takes effect on SIGHUP).
    this.secureContexts.clear();
    const wanted = new Map(connections.map((connection) => [connection.name, connection]));
    for (const [name, entry] of this.probers) {
      const connection = wanted.get(name);
      if (!connection || JSON.stringify(connection) !== entry.fingerprint) {
        entry.prober.close();
        this.probers.delete(name);
      }
    }
    for (const connection of connections) {
      if (this.probers.has(connection.name)) continue;
      const prober = createProber(connection, { ...options, secureContexts: this.secureContexts, onSecret: secretMasker(connection, this.secrets) });
      this.probers.set(connection.name, { prober, fingerprint: JSON.stringify(connection) });
    }
  }

  close(): void {
    for (const { prober } of this.probers.values()) prober.close();
  }
}

/** Every secret the config names is masked in every log line and API response from the moment it is applied. */
export function registerSecrets(config: Config, env: NodeJS.ProcessEnv, secrets: SecretRegistry): void {
  for (const connection of config.connections) {
    const mask = secretMasker(connection, secrets);
    for (const [, ref] of secretsOf(connection.auth)) {
      const secret = readSecret(ref, env);
      if (secret.ok) mask(secret.value);
    }
  }
  // Every channel's own secrets (a Slack webhook URL or bot token, …), as each channel's registration names them.
  for (const ref of channelSecretRefs(config.alerting)) {
    const secret = readSecret(ref, env);
    if (secret.ok) secrets.register(secret.value);
  }
}

/**
 * Masks a connection's secret as its probe reads it: a secret file fixed since the last reload is masked before
 * that probe can log anything, without reading the file a second time.
 */
function secretMasker(connection: Connection, secrets: SecretRegistry): (secret: string) => void {
  const { auth } = connection;
  return auth.type === 'basic' ? (secret) => secrets.registerBasicCredential(auth.username, secret) : (secret) => secrets.register(secret);
}
