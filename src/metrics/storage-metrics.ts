// Storage health on /metrics: authwatch_storage_up, authwatch_storage_errors_total{kind} and the writes waiting
// in memory. Self-contained: registered on the daemon's registry next to AuthwatchMetrics, read at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import { STORAGE_ERROR_KINDS, type StorageHealth } from '../store/health.js';

export interface StorageBacklog {
  /** Probes waiting to be recorded (RecordQueue). */
  probes(): number;
  /** Channel answers (delivered, failed, retry) waiting to be recorded in the outbox. */
  notifications(): number;
}

export function registerStorageMetrics(registry: Registry, health: StorageHealth, backlog: StorageBacklog): void {
  const registers = [registry];
  new Gauge({
    name: 'authwatch_storage_up',
    help: 'Whether the last write to the database succeeded (1) or storage is failing (0)',
    registers,
    collect() {
      this.set(health.up ? 1 : 0);
    },
  });
  const errors = new Counter({
    name: 'authwatch_storage_errors_total',
    help: 'Failed database writes, by kind: busy (locked by another process), full (disk full), readonly, io, other',
    labelNames: ['kind'],
    registers,
  });
  for (const kind of STORAGE_ERROR_KINDS) errors.inc({ kind }, 0);
  health.listen({ onError: (kind) => errors.inc({ kind }) });
  new Gauge({
    name: 'authwatch_storage_pending_writes',
    help: 'Writes waiting in memory for storage to return, by what: probe (results to record), notification (channel answers to record)',
    labelNames: ['what'],
    registers,
    collect() {
      this.set({ what: 'probe' }, backlog.probes());
      this.set({ what: 'notification' }, backlog.notifications());
    },
  });
}
