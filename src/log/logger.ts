// The process's log: winston, one JSON object per line (journald reads stdout), masked by a format
// that every line passes through, so no caller can forget to mask.
import winston from 'winston';
import { maskText, maskValue, SecretRegistry } from './mask.js';

export { MASK, SecretRegistry, maskText, maskValue, isSensitiveKey } from './mask.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const LEVEL_PRIORITIES: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogFields = Record<string, unknown>;

/** What the rest of authwatch logs through; tests may pass any object with this shape. */
export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. { connection }). */
  child(fields: LogFields): Logger;
}

export interface AppLogger extends Logger {
  /** The secrets masked in every line; the same registry should mask notifications and errors. */
  readonly secrets: SecretRegistry;
  registerSecret(value: string | null | undefined): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Defaults to process.stdout. */
  stream?: NodeJS.WritableStream;
  /** Share one registry between the logger and everything else that masks. */
  secrets?: SecretRegistry;
  /** For tests: the clock that stamps lines. */
  now?: () => Date;
}

// winston's internal keys (triple-beam): the formatted line lives under Symbol.for('message').
const FORMATTED_LINE = Symbol.for('message');
const FIELDS = Symbol('authwatch.fields');
const RESERVED = new Set(['timestamp', 'level', 'msg']);

/** Builds the JSON line { timestamp, level, msg, ...fields } with everything masked. */
export function formatLine(level: string, msg: string, fields: LogFields, secrets: SecretRegistry, at: Date): string {
  const line: Record<string, unknown> = { timestamp: at.toISOString(), level, msg: maskText(msg, secrets) };
  const masked = maskValue(fields, secrets) as Record<string, unknown>;
  for (const [key, value] of Object.entries(masked)) {
    line[RESERVED.has(key) ? `field_${key}` : key] = value;
  }
  return JSON.stringify(line);
}

const dropLine = (): void => undefined;

export function createLogger(options: LoggerOptions = {}): AppLogger {
  const secrets = options.secrets ?? new SecretRegistry();
  const now = options.now ?? (() => new Date());
  const maskedJsonLine = winston.format((info) => {
    const record = info as unknown as Record<string | symbol, unknown>;
    const fields = (record[FIELDS] as LogFields | undefined) ?? {};
    record[FORMATTED_LINE] = formatLine(String(info.level), String(info.message), fields, secrets, now());
    return info;
  });
  const winstonLogger = winston.createLogger({
    levels: LEVEL_PRIORITIES,
    level: options.level ?? 'info',
    format: maskedJsonLine(),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout, eol: '\n' })],
  });

  // winston runs the format (masking, JSON) before its transports drop a line below the level: the level is
  // checked here first, so a disabled level costs one call to a function that does nothing.
  const threshold = LEVEL_PRIORITIES[options.level ?? 'info'];
  const make = (bound: LogFields): Logger => {
    const write = (level: LogLevel) =>
      LEVEL_PRIORITIES[level] > threshold
        ? dropLine
        : (msg: string, fields?: LogFields) => {
            winstonLogger.log({ level, message: msg, [FIELDS]: fields ? { ...bound, ...fields } : bound } as winston.LogEntry);
          };
    return {
      error: write('error'),
      warn: write('warn'),
      info: write('info'),
      debug: write('debug'),
      child: (fields) => make({ ...bound, ...fields }),
    };
  };
  return {
    ...make({}),
    secrets,
    registerSecret: (value) => secrets.register(value),
  };
}

/** A logger that drops everything (tests, and commands that must not write logs). */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger,
};
