// `authwatch demo`: a simulated Jira (Cloud and Data Center tenants, healthy and failing in typical ways) on
// loopback, a local stand-in for a Slack webhook that prints what it receives, and the real daemon against
// both with a temporary database. One healthy connection has its API token revoked a minute in, so the
// newcomer watches `ok → regressed` happen and sees the notification it produces.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { parseDuration } from '../config/duration.js';
import { ConfigError, loadConfigFile, parseConfigText } from '../config/load.js';
import { reportConfigError } from './validate.js';
import { probeAndClassify, renderCheck } from './check.js';
import { writeLine, EXIT_NOT_OK, EXIT_OK, type CliIO } from './io.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger } from '../log/logger.js';
import { createTestPki, type Pki } from '../demo/pki.js';
import { generateApiToken, SimulatedJira } from '../demo/simulated-jira.js';
import { ConnectProxy } from '../demo/connect-proxy.js';

export interface DemoOptions {
  /** Where the daemon serves /metrics and the API. */
  listen: string;
  /** When the healthy Cloud connection's token is revoked. */
  flipAfter: string;
  /** Probe schedule of every demo connection. */
  schedule: string;
}

interface DemoWorld {
  dir: string;
  pki: Pki;
  jira: SimulatedJira;
  oldTlsJira: SimulatedJira;
  /** A Data Center that requires client certificates (mutual TLS), and an in-process corporate proxy. */
  mtlsJira: SimulatedJira;
  proxy: ConnectProxy;
  clientCertFile: string;
  clientKeyFile: string;
  slack: Server;
  slackUrl: string;
  env: Record<string, string>;
}

export async function runDemo(options: DemoOptions, io: CliIO): Promise<number> {
  let flipAfterMs: number;
  try {
    flipAfterMs = parseDuration(options.flipAfter);
  } catch (error) {
    writeLine(io.stderr, `authwatch: --flip-after ${(error as Error).message}`);
    return 2;
  }
  // The options end up in the demo's config: check them with the config's own rules before anything starts.
  try {
    const placeholder = { name: 'demo', url: 'https://jira.demo.invalid', auth: { type: 'bearer', secret: { env: 'AUTHWATCH_DEMO' } } };
    parseConfigText(JSON.stringify({ server: { listen: options.listen }, defaults: { schedule: options.schedule }, connections: [placeholder] }), 'demo options (--listen, --schedule)');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigError(error, io);
    return 2;
  }
  // A taken port fails now, with the way out, rather than after the whole check.
  const portProblem = await listenProblem(options.listen);
  if (portProblem) {
    writeLine(io.stderr, `authwatch demo: cannot listen on ${options.listen}: ${portProblem}; choose another address with --listen, e.g. --listen 127.0.0.1:0`);
    return 2;
  }
  const world = await startWorld(io);
  const configPath = join(world.dir, 'authwatch.yaml');
  await writeFile(configPath, demoConfig(world, options), 'utf8');
  const env = { ...io.env, ...world.env };

  writeLine(io.stdout, 'authwatch demo: a simulated Jira on loopback and authwatch watching it (Ctrl-C to stop).');
  writeLine(io.stdout, `config: ${configPath}  (the daemon's JSON log: ${join(world.dir, 'authwatch.log')})`);
  writeLine(io.stdout, '');
  writeLine(io.stdout, 'What `authwatch check` says about each connection (without the demo, `check` also explains each failure):');
  const config = loadConfigFile(configPath);
  writeLine(io.stdout, renderCheck(await probeAndClassify(config.connections, env), { details: false }));
  writeLine(io.stdout, '');

  const logStream = createWriteStream(join(world.dir, 'authwatch.log'));
  const logger = createLogger({ level: 'info', stream: logStream });
  const acmeToken = world.jira.tenant('acme').credentials.apiToken;
  let recover: NodeJS.Timeout | undefined;
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      configPath,
      logger,
      env,
      maxSpreadMs: 1000,
      sweepIntervalMs: 5000,
      onStateChange: (connection, change, diagnosis) => {
        // The first verdicts are the Slack lines below; the story is in the changes after them.
        if (change.from === 'unknown') return;
        writeLine(io.stdout, `${time()}  state ${connection.name}: ${change.from} → ${change.to} (${diagnosis.outcome}: ${diagnosis.detail})`);
        if (connection.name === 'cloud-api-token' && change.to === 'regressed' && !recover) {
          recover = setTimeout(() => {
            world.jira.setCredentials('acme', { apiToken: acmeToken });
            writeLine(io.stdout, `${time()}  simulated Jira: the integration's token was re-activated (someone fixed it)`);
          }, flipAfterMs);
        }
      },
    });
  } catch (error) {
    writeLine(io.stderr, `authwatch demo: the daemon did not start: ${(error as Error).message}`);
    await stopWorld(world);
    return EXIT_NOT_OK;
  }
  writeLine(io.stdout, `The daemon probes them now, then on "${options.schedule}". Live: ${daemon.url}/metrics  ${daemon.url}/api/v1/connections`);
  writeLine(io.stdout, `In ${options.flipAfter} the API token of cloud-api-token gets revoked, and ${options.flipAfter} after it regresses, fixed again.`);
  writeLine(io.stdout, 'Each notification the daemon sends to Slack is one line here (the regression in full):');
  writeLine(io.stdout, '');

  const flip = setTimeout(() => {
    world.jira.setCredentials('acme', { apiToken: generateApiToken() });
    writeLine(io.stdout, `${time()}  simulated Jira: the API token used by cloud-api-token was revoked`);
  }, flipAfterMs);
  printSlackMessages(world.slack, io);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const terminal = process.stdin.isTTY && io.stdin === process.stdin ? process.stdin : null;
    const stop = () => {
      // A second Ctrl-C while stopping changes nothing: the demo still cleans up and exits 0.
      if (stopping) return;
      stopping = true;
      clearTimeout(flip);
      clearTimeout(recover);
      if (terminal) {
        terminal.setRawMode(false);
        terminal.pause();
      }
      writeLine(io.stdout, '\nstopping…');
      void daemon
        .shutdown()
        .then(() => stopWorld(world))
        .then(() => new Promise((done) => logStream.end(done)))
        .then(() => resolve(EXIT_OK), () => resolve(EXIT_NOT_OK))
        .finally(() => {
          for (const signal of STOP_SIGNALS) process.off(signal, stop);
        });
    };
    for (const signal of STOP_SIGNALS) process.on(signal, stop);
    // On a terminal, Ctrl-C is read as a key instead of raising SIGINT for the whole process group: under
    // `npm run demo` the shell npm starts would otherwise die of that SIGINT and npm exit 130 whatever the demo does.
    if (terminal) {
      terminal.setRawMode(true);
      terminal.resume();
      terminal.on('data', (key: Buffer) => {
        if (key.includes(0x03) || key.includes(0x04) || key.toString() === 'q') stop();
      });
    }
  });
}

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Why the demo's daemon could not listen on `listen` (host:port), or null; port 0 is always free. */
async function listenProblem(listen: string): Promise<string | null> {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  if (port === 0) return null;
  const probe = createNetServer();
  return new Promise((resolve) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'EADDRINUSE' ? 'the address is already in use (another authwatch, or a demo still running?)' : error.message),
    );
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

async function startWorld(io: CliIO): Promise<DemoWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'authwatch-demo-'));
  const pki = await createTestPki().catch((error: unknown) => {
    writeLine(io.stderr, `authwatch demo needs the openssl command to make its certificates: ${(error as Error).message}`);
    throw error;
  });
  const jira = new SimulatedJira({ tls: { key: pki.good.key, cert: pki.good.cert } });
  jira.addTenant({ name: 'acme', deployment: 'cloud', user: { emailAddress: 'integration@acme.example', displayName: 'Salesforce integration' } });
  jira.addTenant({ name: 'globex', deployment: 'cloud', user: { emailAddress: 'ci-bot@globex.example' }, behaviour: 'scope-mismatch' });
  jira.addTenant({ name: 'initech', deployment: 'datacenter', user: { name: 'svc-scriptrunner' } });
  jira.addTenant({ name: 'umbrella', deployment: 'datacenter', user: { name: 'svc-sync' }, behaviour: 'basic-auth-disabled' });
  jira.addTenant({ name: 'hooli', deployment: 'datacenter', behaviour: 'sso-redirect' });
  await jira.start();
  const oldTlsJira = new SimulatedJira({ tls: { key: pki.good.key, cert: pki.good.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' } });
  oldTlsJira.addTenant({ name: 'legacy', deployment: 'cloud' });
  await oldTlsJira.start();
  const mtlsJira = new SimulatedJira({ tls: { key: pki.good.key, cert: pki.good.cert, clientCa: pki.ca.cert } });
  mtlsJira.addTenant({ name: 'wayne', deployment: 'datacenter', user: { name: 'svc-mtls' } });
  await mtlsJira.start();
  const client = await pki.issue({ name: 'demo-client', commonName: 'salesforce-integration', client: true });
  const proxyPassword = `proxy-${generateApiToken().slice(12, 28)}`;
  const proxy = new ConnectProxy({ auth: { username: 'svc-authwatch', password: proxyPassword } });
  await proxy.start();

  const slack = createServer();
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  const slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0DEMO/B0DEMO/demo`;

  const acme = jira.tenant('acme');
  const initech = jira.tenant('initech');
  const umbrella = jira.tenant('umbrella');
  const env = {
    AUTHWATCH_DEMO_ACME_TOKEN: acme.credentials.apiToken,
    AUTHWATCH_DEMO_ACME_PASSWORD: 'Summer2024!',
    AUTHWATCH_DEMO_GLOBEX_TOKEN: jira.tenant('globex').credentials.apiToken,
    AUTHWATCH_DEMO_INITECH_PAT: initech.credentials.pat,
    AUTHWATCH_DEMO_UMBRELLA_PASSWORD: umbrella.credentials.password,
    AUTHWATCH_DEMO_HOOLI_PAT: jira.tenant('hooli').credentials.pat,
    AUTHWATCH_DEMO_LEGACY_TOKEN: oldTlsJira.tenant('legacy').credentials.apiToken,
    // The classic `echo user:token | base64` mistake: a newline inside the encoded credentials.
    AUTHWATCH_DEMO_HEADER: `Basic ${Buffer.from(`integration@acme.example:${acme.credentials.apiToken}\n`).toString('base64')}`,
    AUTHWATCH_DEMO_SLACK_WEBHOOK: slackUrl,
    AUTHWATCH_DEMO_PROXY_PASSWORD: proxyPassword,
    AUTHWATCH_DEMO_WAYNE_PAT: mtlsJira.tenant('wayne').credentials.pat,
  };
  return { dir, pki, jira, oldTlsJira, mtlsJira, proxy, clientCertFile: client.certFile, clientKeyFile: client.keyFile, slack, slackUrl, env };
}

function demoConfig(world: DemoWorld, options: DemoOptions): string {
  const { jira, oldTlsJira, pki } = world;
  const connection = (name: string, url: string, deployment: string, auth: string) =>
    `  - name: ${name}\n    url: ${url}\n    deployment: ${deployment}\n    auth: ${auth}\n`;
  return `# Written by \`authwatch demo\`: every connection points at the simulated Jira on loopback.
server:
  listen: ${options.listen}
storage:
  path: ${join(world.dir, 'authwatch.db')}
defaults:
  schedule: "${options.schedule}"
  timeout: 5s
  failureThreshold: 2
  tls: { caFile: ${pki.caFile} }
alerting:
  slack:
    webhookUrl: { env: AUTHWATCH_DEMO_SLACK_WEBHOOK }
connections:
${connection('cloud-api-token', jira.tenantUrl('acme'), 'cloud', `{ type: basic, username: integration@acme.example, secret: { env: AUTHWATCH_DEMO_ACME_TOKEN } }`)}\
${connection('cloud-password', jira.tenantUrl('acme'), 'cloud', `{ type: basic, username: integration@acme.example, secret: { env: AUTHWATCH_DEMO_ACME_PASSWORD } }`)}\
${connection('cloud-echo-header', jira.tenantUrl('acme'), 'cloud', `{ type: header, secret: { env: AUTHWATCH_DEMO_HEADER } }`)}\
${connection('cloud-scoped-token', jira.tenantUrl('globex'), 'cloud', `{ type: basic, username: ci-bot@globex.example, secret: { env: AUTHWATCH_DEMO_GLOBEX_TOKEN } }`)}\
${connection('cloud-old-tls', oldTlsJira.tenantUrl('legacy'), 'cloud', `{ type: basic, username: integration@legacy.example.com, secret: { env: AUTHWATCH_DEMO_LEGACY_TOKEN } }`)}\
${connection('dc-pat', jira.tenantUrl('initech'), 'datacenter', `{ type: bearer, secret: { env: AUTHWATCH_DEMO_INITECH_PAT } }`)}\
${connection('dc-basic-disabled', jira.tenantUrl('umbrella'), 'datacenter', `{ type: basic, username: svc-sync, secret: { env: AUTHWATCH_DEMO_UMBRELLA_PASSWORD } }`)}\
    # Data Center basic auth backs off for 5 minutes after an auth failure (no CAPTCHA lockout by the monitor),
    # so a threshold of 1 lets the demo show this one's state before then.
    failureThreshold: 1

${connection('dc-behind-sso', jira.tenantUrl('hooli'), 'datacenter', `{ type: bearer, secret: { env: AUTHWATCH_DEMO_HOOLI_PAT } }`)}\
${connection('dc-missing-secret', jira.tenantUrl('initech'), 'datacenter', `{ type: bearer, secret: { env: AUTHWATCH_DEMO_NOT_SET } }`)}\
${connection('dc-via-proxy', jira.tenantUrl('initech'), 'datacenter', `{ type: bearer, secret: { env: AUTHWATCH_DEMO_INITECH_PAT } }`)}\
    # Through the corporate proxy (HTTP CONNECT, Basic proxy auth): TLS to Jira runs inside the tunnel.
    proxy: { url: "${world.proxy.url}", auth: { username: svc-authwatch, secret: { env: AUTHWATCH_DEMO_PROXY_PASSWORD } } }
${connection('dc-mtls', world.mtlsJira.tenantUrl('wayne'), 'datacenter', `{ type: bearer, secret: { env: AUTHWATCH_DEMO_WAYNE_PAT } }`)}\
    # This Data Center requires a client certificate (mutual TLS).
    tls: { caFile: ${pki.caFile}, certFile: ${world.clientCertFile}, keyFile: ${world.clientKeyFile} }
`;
}

/** The stand-in Slack webhook: accepts every message and prints one line per message, the regression in full. */
function printSlackMessages(slack: Server, io: CliIO): void {
  slack.removeAllListeners('request');
  slack.on('request', (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      try {
        const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: string; blocks?: { text?: { text?: string } }[] };
        const summary = unescapeMrkdwn(message.text ?? '');
        writeLine(io.stdout, `${time()}  Slack ← ${summary}`);
        if (/: auth regressed/.test(summary)) {
          const body = (message.blocks ?? []).slice(1).map((block) => block.text?.text).filter(Boolean).join('\n');
          writeLine(io.stdout, indent(unescapeMrkdwn(body)));
        }
      } catch {
        writeLine(io.stdout, `${time()}  Slack received something that is not JSON`);
      }
    });
  });
}

function unescapeMrkdwn(text: string): string {
  // Slack links and dates (<url|label>, <!date^…|fallback>) as their label; then the three escaped characters.
  return text.replace(/<[^|>]+\|([^>]+)>/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    │ ${line}`)
    .join('\n');
}

async function stopWorld(world: DemoWorld): Promise<void> {
  await Promise.allSettled([
    world.jira.stop(), world.oldTlsJira.stop(), world.mtlsJira.stop(), world.proxy.stop(), new Promise((resolve) => world.slack.close(resolve)),
  ]);
  await Promise.allSettled([rm(world.dir, { recursive: true, force: true }), world.pki.cleanup()]);
}
