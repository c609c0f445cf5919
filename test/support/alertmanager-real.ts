// The real Alertmanager (Debian's prometheus-alertmanager) with a minimal config, for the notifier's tests:
// a thin preset over deploy-servers.ts, which starts the process.
import { startAlertmanager as startAlertmanagerProcess, type RunningServer } from './deploy-servers.js';

export type RunningAlertmanager = RunningServer;

/** Every alert goes to a receiver that sends nothing; grouping by alertname and connection. */
export const MINIMAL_CONFIG = `route:
  receiver: blackhole
  group_by: ['alertname', 'connection']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
`;

export function startAlertmanager(options: { config?: string } = {}): Promise<RunningAlertmanager> {
  return startAlertmanagerProcess({ configYaml: options.config ?? MINIMAL_CONFIG });
}
