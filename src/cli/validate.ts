import { ConfigError, loadConfigFile, type Config } from '../config/load.js';
import { configJsonSchema } from '../config/schema.js';
import { EXIT_CONFIG_ERROR, EXIT_OK, writeLine, type CliIO } from './io.js';

/** Loads the config or prints every problem (file:line: path: message) and returns null. */
export function loadConfigOrReport(path: string, io: CliIO): Config | null {
  try {
    return loadConfigFile(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigError(error, io);
    return null;
  }
}

/** Every problem on its own line (file:line: path: message); a single problem or an unreadable file in one line. */
export function reportConfigError(error: ConfigError, io: CliIO): void {
  const [first] = error.issues;
  if (error.issues.length === 1 && first.path === '' && first.line === null) {
    writeLine(io.stderr, `authwatch: ${error.source}: ${first.message}`);
    return;
  }
  if (error.issues.length === 1) {
    writeLine(io.stderr, `authwatch: invalid config, nothing started: ${error.describe()}`);
    return;
  }
  writeLine(io.stderr, `authwatch: invalid config, nothing started (${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}):`);
  writeLine(io.stderr, error.describe());
}

export function runValidate(configPath: string, io: CliIO): number {
  const config = loadConfigOrReport(configPath, io);
  if (!config) return EXIT_CONFIG_ERROR;
  for (const warning of config.warnings) writeLine(io.stderr, `warning: ${warning}`);
  writeLine(io.stdout, `${configPath}: valid, ${config.connections.length} connection${config.connections.length === 1 ? '' : 's'}`);
  return EXIT_OK;
}

export function runSchema(io: CliIO): number {
  writeLine(io.stdout, JSON.stringify(configJsonSchema(), null, 2));
  return EXIT_OK;
}
