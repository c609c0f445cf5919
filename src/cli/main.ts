#!/usr/bin/env node
// Entry point: parses the command line and hands each command an IO; the command returns the exit code.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DURATION_PATTERN, parseDuration } from '../config/duration.js';
import { DEFAULT_CONFIG_PATH } from '../config/load.js';
import { runSchema, runValidate } from './validate.js';
import type { CliIO } from './io.js';
import type { LogLevel } from '../log/logger.js';
import { parseShard, type Shard } from '../daemon/shard.js';
import { VERSION } from '../version.js';
import { CHANNELS, type Channel } from '../notify/registry.js';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return parsed;
}

function positiveDuration(value: string): number {
  const parsed = DURATION_PATTERN.test(value) ? parseDuration(value) : 0;
  if (!(parsed > 0)) throw new InvalidArgumentError('must be a duration such as 30s or 1m');
  return parsed;
}

function shardArgument(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  let exitCode = 0;
  const program = new Command('authwatch')
    .description('Keeps checking that integrations can still log in to Jira')
    .version(VERSION)
    .addOption(new Option('-c, --config <path>', 'config file').default(DEFAULT_CONFIG_PATH).env('AUTHWATCH_CONFIG'))
    .addOption(new Option('--log-level <level>', 'log level').choices(['error', 'warn', 'info', 'debug']).default('info'))
    .showHelpAfterError('(authwatch --help lists the commands and options)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride();
  const globals = () => program.opts<{ config: string; logLevel: string }>();

  program
    .command('run')
    .description('the daemon, in the foreground (systemd); SIGHUP reloads the config')
    .addOption(new Option('--concurrency <n>', 'probes in flight at most (default: derived from the schedules and probe durations, 32-1000)').argParser(positiveInteger))
    // Advanced: how often open incidents are re-evaluated for reminders and Alertmanager re-sends (tests use seconds).
    .addOption(new Option('--sweep-interval <duration>').argParser(positiveDuration).hideHelp())
    .addOption(new Option('--shard <I/N>', "probe only replica I's share of N replicas (rendezvous hashing of connection names)").argParser(shardArgument))
    .action(async (options: { concurrency?: number; sweepInterval?: number; shard?: Shard }) => {
      const { runDaemon } = await import('./run.js');
      const { config, logLevel } = globals();
      exitCode = await runDaemon(
        { configPath: config, logLevel: logLevel as LogLevel, concurrency: options.concurrency, sweepIntervalMs: options.sweepInterval, shard: options.shard ?? null },
        io,
      );
    });
  program
    .command('validate')
    .description('validate the config (exit 0 valid, 2 invalid)')
    .action(() => {
      exitCode = runValidate(globals().config, io);
    });
  program
    .command('schema')
    .description("print the config's JSON Schema")
    .action(() => {
      exitCode = runSchema(io);
    });

  program
    .command('check')
    .description('probe now and print one row per connection with outcome and diagnosis (exit 0 all ok, 1 any not ok, 2 config error)')
    .argument('[name...]', 'only these connections')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], options: { json?: boolean }) => {
      const { runCheck } = await import('./check.js');
      exitCode = await runCheck({ configPath: globals().config, names, json: Boolean(options.json) }, io);
    });
  program
    .command('probe')
    .description("ask the running daemon to probe now, recorded and notified like a scheduled probe (exit 0 all ok, 1 any not ok or held by the lockout back-off, 2 config error)")
    .argument('[name...]', 'only these connections')
    .option('--url <url>', "the daemon's address (default: server.listen of the config, over loopback)")
    .option('--json', 'machine-readable output')
    .action(async (names: string[], options: { url?: string; json?: boolean }) => {
      const { runProbe } = await import('./probe.js');
      exitCode = await runProbe({ configPath: globals().config, names, url: options.url ?? null, json: Boolean(options.json) }, io);
    });
  program
    .command('explain-header')
    .description('read an Authorization header value from stdin and lint it offline (exit 0 no findings, 1 findings)')
    .addOption(new Option('--deployment <kind>', 'cloud or datacenter').choices(['cloud', 'datacenter']))
    .action(async (options: { deployment?: 'cloud' | 'datacenter' }) => {
      const { runExplainHeader } = await import('./explain-header.js');
      exitCode = await runExplainHeader({ deployment: options.deployment ?? null }, io);
    });

  program
    .command('status')
    .description('current state of every connection, read from the database')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { runStatus } = await import('./status.js');
      exitCode = runStatus({ configPath: globals().config, json: Boolean(options.json) }, io);
    });
  program
    .command('history')
    .description('recorded probes and state changes of one connection; hourly summaries where the probes were pruned')
    .argument('<name>', 'connection name')
    .option('--since <duration>', 'how far back', '24h')
    .addOption(new Option('--limit <n>', 'at most this many probes, events and hourly summaries each').default(50).argParser(positiveInteger))
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { since: string; limit: number; json?: boolean }) => {
      const { runHistory } = await import('./status.js');
      exitCode = runHistory({ configPath: globals().config, name, since: options.since, limit: options.limit, json: Boolean(options.json) }, io);
    });

  program
    .command('test-alert')
    .description('send a clearly marked test notification through each configured channel (exit 0 delivered, 1 not delivered, 2 config error)')
    .addOption(new Option('--channel <channel>', 'only this channel').choices(CHANNELS))
    .action(async (options: { channel?: Channel }) => {
      const { runTestAlert } = await import('./test-alert.js');
      exitCode = await runTestAlert({ configPath: globals().config, channel: options.channel ?? null }, io);
    });

  program
    .command('demo')
    .description('a built-in simulated Jira on loopback and authwatch against it: no Jira or network needed')
    .option('--listen <host:port>', 'where the demo daemon serves /metrics and the API', '127.0.0.1:9477')
    .option('--flip-after <duration>', "when the healthy Cloud connection's token gets revoked", '1m')
    .option('--schedule <cron>', 'probe schedule of the demo connections', '*/10 * * * * *')
    .action(async (options: { listen: string; flipAfter: string; schedule: string }) => {
      const { runDemo } = await import('./demo.js');
      exitCode = await runDemo(options, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return 2;
    throw error;
  }
  return exitCode;
}

const io: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`authwatch: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
