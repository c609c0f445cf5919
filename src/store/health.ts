// Storage health: whether the last write to the database succeeded, and the failures by kind. Every write path
// (probe records, outbox marks, sweeps, reloads) reports here; /readyz, the metrics and the log read it.
//
// An episode starts with the first failed write after a success and ends with the next successful write: one
// log line at each end, however many probes fail in between.

export type StorageErrorKind = 'busy' | 'full' | 'readonly' | 'io' | 'other';
export const STORAGE_ERROR_KINDS: readonly StorageErrorKind[] = ['busy', 'full', 'readonly', 'io', 'other'];

/** The kind of a database failure, from SQLite's (extended) result code; anything else is 'other'. */
export function storageErrorKind(error: unknown): StorageErrorKind {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code === 'SQLITE_FULL' || (error as { code?: unknown } | null)?.code === 'ENOSPC') return 'full';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') return 'readonly';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_CORRUPT') || code === 'EIO') return 'io';
  return 'other';
}

/** Whether an error came from the database or the file system under it (and may go away), rather than from a bug. */
export function isStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_') || ['ENOSPC', 'EROFS', 'EIO'].includes(code));
}

export interface StorageEpisode {
  kind: StorageErrorKind;
  /** What failed first, e.g. "record probe". */
  operation: string;
  message: string;
  since: Date;
  errors: number;
}

export interface StorageHealthView {
  up: boolean;
  /** The episode in progress, when storage is down. */
  degraded: { kind: StorageErrorKind; operation: string; message: string; since: string; errors: number } | null;
  errors: Record<StorageErrorKind, number>;
}

export interface StorageHealthListener {
  onError?(kind: StorageErrorKind): void;
  onEpisodeStart?(episode: StorageEpisode): void;
  onEpisodeEnd?(episode: StorageEpisode, endedAt: Date): void;
}

export class StorageHealth {
  private episode: StorageEpisode | null = null;
  private readonly counts: Record<StorageErrorKind, number> = { busy: 0, full: 0, readonly: 0, io: 0, other: 0 };
  private readonly listeners: StorageHealthListener[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  listen(listener: StorageHealthListener): void {
    this.listeners.push(listener);
  }

  get up(): boolean {
    return this.episode === null;
  }

  /** A write failed: counts it, and starts an episode when storage was up. Returns the kind. */
  failed(operation: string, error: unknown): StorageErrorKind {
    const kind = storageErrorKind(error);
    this.counts[kind]++;
    for (const listener of this.listeners) listener.onError?.(kind);
    if (this.episode) {
      this.episode.errors++;
    } else {
      this.episode = { kind, operation, message: oneLine(error), since: this.now(), errors: 1 };
      for (const listener of this.listeners) listener.onEpisodeStart?.(this.episode);
    }
    return kind;
  }

  /** A write committed: ends the episode in progress. */
  succeeded(): void {
    if (!this.episode) return;
    const ended = this.episode;
    this.episode = null;
    for (const listener of this.listeners) listener.onEpisodeEnd?.(ended, this.now());
  }

  /** Runs a write; reports its success or storage failure, and rethrows the failure. */
  track<T>(operation: string, write: () => T): T {
    let result: T;
    try {
      result = write();
    } catch (error) {
      if (isStorageError(error)) this.failed(operation, error);
      throw error;
    }
    this.succeeded();
    return result;
  }

  view(): StorageHealthView {
    const episode = this.episode;
    return {
      up: episode === null,
      degraded: episode && { kind: episode.kind, operation: episode.operation, message: episode.message, since: episode.since.toISOString(), errors: episode.errors },
      errors: { ...this.counts },
    };
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 300);
}
