// `authwatch run`: the daemon in the foreground, as systemd runs it. SIGHUP reloads, SIGTERM/SIGINT stop cleanly.
import { ConfigError } from '../config/load.js';
import { Daemon } from '../daemon/daemon.js';
import type { Shard } from '../daemon/shard.js';
import { createLogger, type LogLevel } from '../log/logger.js';
import { StoreError } from '../store/store.js';
import { EXIT_CONFIG_ERROR, EXIT_NOT_OK, EXIT_OK, writeLine, type CliIO } from './io.js';
import { reportConfigError } from './validate.js';

export interface RunOptions {
  configPath: string;
  logLevel: LogLevel;
  /** Absent: derived from the schedules and the observed probe durations. */
  concurrency?: number;
  /** Default: the daemon's (30 s). */
  sweepIntervalMs?: number;
  shard?: Shard | null;
}

export async function runDaemon(options: RunOptions, io: CliIO): Promise<number> {
  const logger = createLogger({ level: options.logLevel, stream: io.stdout });
  // A SIGHUP before the handlers below exist (a reload right after "authwatch started") would kill the process
  // by its default action: remember it and reload once started.
  let hangupDuringStart = false;
  const hangupWhileStarting = () => {
    hangupDuringStart = true;
  };
  process.on('SIGHUP', hangupWhileStarting);
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      configPath: options.configPath,
      logger,
      env: io.env,
      concurrency: options.concurrency ?? null,
      shard: options.shard ?? null,
      ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
    });
  } catch (error) {
    process.off('SIGHUP', hangupWhileStarting);
    if (error instanceof ConfigError) {
      reportConfigError(error, io);
      return EXIT_CONFIG_ERROR;
    }
    const message = startFailureMessage(error);
    logger.error('authwatch could not start', { error: message });
    writeLine(io.stderr, `authwatch: ${logger.secrets.maskIn(message)}`);
    return EXIT_NOT_OK;
  }

  return new Promise<number>((resolve) => {
    const onHangup = () => {
      logger.info('SIGHUP: reloading the config');
      daemon.reload();
    };
    // Without a handler a SIGHUP racing the shutdown (logrotate, a config deploy) would kill the process mid-flush.
    const ignoreHangup = () => logger.info('SIGHUP ignored: shutting down');
    const onStop = (signal: NodeJS.Signals) => {
      logger.info(`${signal}: shutting down`);
      process.on('SIGHUP', ignoreHangup);
      process.off('SIGHUP', onHangup);
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      process.once('SIGINT', () => process.exit(EXIT_NOT_OK));
      daemon.shutdown().then(
        () => resolve(EXIT_OK),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          resolve(EXIT_NOT_OK);
        },
      );
    };
    process.on('SIGHUP', onHangup);
    process.off('SIGHUP', hangupWhileStarting);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    if (hangupDuringStart) onHangup();
  });
}

/** The one line saying why the daemon could not start (config errors are reported separately). */
function startFailureMessage(error: unknown): string {
  if (error instanceof StoreError) return error.message;
  const message = (error as Error)?.message ?? String(error);
  const cause = (error as { cause?: NodeJS.ErrnoException })?.cause;
  const code = cause?.code ?? (error as NodeJS.ErrnoException)?.code;
  return code === 'EADDRINUSE' ? `${message} (is another authwatch running?)` : message;
}
