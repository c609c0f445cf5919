// What a command may touch of the outside world; main() passes the real process streams, tests pass their own.
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_NOT_OK = 1;
export const EXIT_CONFIG_ERROR = 2;

export function writeLine(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}
