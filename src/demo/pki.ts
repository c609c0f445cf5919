// A throw-away PKI made with the openssl CLI: a CA and the leaf certificates the simulated Jira serves
// (good, expired, self-signed, wrong hostname). Used by the demo and the tests; EC P-256 keeps it fast.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificatePair {
  /** PEM private key. */
  key: string;
  /** PEM certificate. */
  cert: string;
  keyFile: string;
  certFile: string;
}

export interface IssueOptions {
  /** File name stem inside the PKI directory, [a-z0-9-]. */
  name: string;
  commonName?: string;
  /** subjectAltName entries, e.g. ['DNS:localhost', 'IP:127.0.0.1']. */
  sans?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Signed by its own key instead of the CA. */
  selfSigned?: boolean;
  /** A client certificate (extendedKeyUsage clientAuth, no subjectAltName) for mutual TLS. */
  client?: boolean;
}

export interface PkiOptions {
  /** The CA's common name (a second PKI plays another company's CA, or a TLS-inspecting proxy's). */
  caCommonName?: string;
}

export interface Pki {
  dir: string;
  ca: CertificatePair;
  /** The CA certificate to trust (connection tls.caFile). */
  caFile: string;
  /** localhost + 127.0.0.1, valid now, signed by the CA. */
  good: CertificatePair;
  /** localhost + 127.0.0.1, signed by the CA, expired in the past. */
  expired: CertificatePair;
  /** localhost + 127.0.0.1, signed by itself. */
  selfSigned: CertificatePair;
  /** Signed by the CA but only for wrong.example. */
  wrongHost: CertificatePair;
  /** Issue another leaf (e.g. one expiring in three days). */
  issue(options: IssueOptions): Promise<CertificatePair>;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

const DAY_MS = 86_400_000;
export const LOOPBACK_SANS = ['DNS:localhost', 'IP:127.0.0.1'];

const CA_CONFIG = `[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
rand_serial = yes
[ policy_any ]
organizationName = optional
commonName = supplied
`;

/** YYYYMMDDHHMMSSZ, the form `openssl ca -startdate/-enddate` accepts for any year. */
export function opensslTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function leafExtensions(sans: string[], client = false): string {
  const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${client ? 'clientAuth' : 'serverAuth'}`];
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(',')}`);
  return lines.join('\n') + '\n';
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`);
  }
}

async function readPair(dir: string, name: string): Promise<CertificatePair> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  return { key, cert, keyFile, certFile };
}

export async function createTestPki(dir?: string, pkiOptions: PkiOptions = {}): Promise<Pki> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'authwatch-pki-')));
  await Promise.all([writeFile(join(root, 'ca.cnf'), CA_CONFIG), writeFile(join(root, 'index.txt'), '')]);
  await openssl(root, [
    'req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650',
    '-subj', `/O=authwatch/CN=${pkiOptions.caCommonName ?? 'authwatch test CA'}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = await readPair(root, 'ca');

  // `openssl ca` rewrites index.txt, so CA signatures run one at a time; key generation runs in parallel.
  let signing: Promise<unknown> = Promise.resolve();
  const issue = async (options: IssueOptions): Promise<CertificatePair> => {
    if (!/^[a-z0-9-]+$/.test(options.name) || options.name === 'ca') throw new Error(`bad certificate name "${options.name}"`);
    const now = Date.now();
    const notBefore = options.notBefore ?? new Date(now - DAY_MS);
    const notAfter = options.notAfter ?? new Date(now + 90 * DAY_MS);
    const subject = `/O=authwatch/CN=${options.commonName ?? 'localhost'}`;
    const extFile = `${options.name}.ext`;
    await writeFile(join(root, extFile), leafExtensions(options.client ? (options.sans ?? []) : (options.sans ?? LOOPBACK_SANS), options.client));
    if (options.selfSigned) {
      // A self-signed leaf cannot take explicit dates on OpenSSL 3.0's `req -x509`; its validity starts now.
      const days = Math.max(1, Math.ceil((notAfter.getTime() - now) / DAY_MS));
      await openssl(root, [
        'req', '-x509', ...EC_KEY, '-keyout', `${options.name}.key`, '-out', `${options.name}.pem`,
        '-days', String(days), '-subj', subject, '-extensions', 'leaf', '-config', await selfSignedConfig(root, options.name, extFile),
      ]);
      return readPair(root, options.name);
    }
    await openssl(root, ['req', '-new', ...EC_KEY, '-keyout', `${options.name}.key`, '-out', `${options.name}.csr`, '-subj', subject]);
    const signed = signing.then(() =>
      openssl(root, [
        'ca', '-batch', '-config', 'ca.cnf', '-in', `${options.name}.csr`, '-out', `${options.name}.pem`, '-notext',
        '-startdate', opensslTime(notBefore), '-enddate', opensslTime(notAfter), '-extfile', extFile,
      ]),
    );
    signing = signed.catch(() => undefined);
    await signed;
    return readPair(root, options.name);
  };

  const [good, expired, selfSigned, wrongHost] = await Promise.all([
    issue({ name: 'good' }),
    issue({ name: 'expired', notBefore: new Date(Date.UTC(2020, 0, 1)), notAfter: new Date(Date.UTC(2020, 1, 1)) }),
    issue({ name: 'self-signed', selfSigned: true }),
    issue({ name: 'wrong-host', commonName: 'wrong.example', sans: ['DNS:wrong.example'] }),
  ]);
  return {
    dir: root,
    ca,
    caFile: ca.certFile,
    good,
    expired,
    selfSigned,
    wrongHost,
    issue,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

async function selfSignedConfig(root: string, name: string, extFile: string): Promise<string> {
  const file = `${name}.req.cnf`;
  const extensions = await readFile(join(root, extFile), 'utf8');
  await writeFile(join(root, file), `[ req ]\ndistinguished_name = dn\n[ dn ]\n[ leaf ]\n${extensions}`);
  return file;
}
