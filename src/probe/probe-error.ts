// The probe's errors: a ProbeError is data (code, phase, message), never an Error, so it crosses every layer and
// is recorded as it is. A phase that does not finish in its time becomes the ETIMEDOUT ProbeError of that phase.
import type { ProbeError } from './observation.js';

export function probeError(code: string, message: string, phase: string | null = null): ProbeError {
  return { code, phase, message };
}

export function errorFrom(error: unknown): ProbeError {
  const code = (error as { code?: unknown }).code;
  const message = (error instanceof Error ? error.message : String(error)).trim();
  return probeError(typeof code === 'string' && code ? code : 'ERR_UNKNOWN', message);
}

export function isProbeError(value: unknown): value is ProbeError {
  return typeof value === 'object' && value !== null && 'code' in value && 'phase' in value && 'message' in value && !(value instanceof Error);
}

function timeoutError(phase: string, timeoutMs: number): ProbeError {
  return probeError('ETIMEDOUT', `no answer within ${timeoutMs} ms in phase ${phase}`, phase);
}

/** Resolves, or rejects with the phase's ProbeError. The underlying work is abandoned, not awaited, on timeout. */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, phase: string, onTimeout: () => void = () => undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(timeoutError(phase, timeoutMs));
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
