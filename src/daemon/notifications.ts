// The I/O around src/notify/decide.ts: the periodic sweep that plans reminders and Alertmanager re-sends for
// incidents that stay open between probes, and the log and metric of a notification that could not be rendered.
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { AuthwatchMetrics } from '../metrics/metrics.js';
import { incidentNotifiers, incidentPolicy, notificationFacts, rows } from '../notify/decide.js';
import { planExpiryResend, planIncidentNotifications } from '../notify/plan.js';
import type { Notifier, RenderFailure } from '../notify/registry.js';
import type { SweepStore } from '../store/ports.js';
import type { NewOutboxItem } from '../store/types.js';

export { incidentPolicy, notificationFacts, planNotifications, type NotificationContext } from '../notify/decide.js';

export function sweepIncidents(
  store: SweepStore,
  config: Config,
  notifiers: readonly Notifier[],
  now: Date,
  previousSweepAt: Date | null,
  onRenderFailures: (failures: RenderFailure[]) => void,
): number {
  const policy = incidentPolicy(config.alerting);
  if (notifiers.length === 0 || (policy.reminderIntervalMs === 0 && policy.alertmanagerResendMs === 0)) return 0;
  const connections = new Map(config.connections.map((connection) => [connection.name, connection]));
  const items: NewOutboxItem[] = [];
  const failures: RenderFailure[] = [];
  for (const incident of store.openIncidents()) {
    const connection = connections.get(incident.connection);
    const kind = incident.kind;
    if (!connection) continue;
    const latest = store.recentProbes(connection.name, 1)[0];
    if (!latest) continue;
    const state = store.loadState(connection.name);
    if (kind === 'cert_expiring' || kind === 'token_expiring') {
      const expiresAt = kind === 'cert_expiring' ? latest.observation.tls?.notAfter : connection.tokenExpiresAt;
      if (!expiresAt) continue;
      const daysLeft = Math.floor((Date.parse(expiresAt) - now.getTime()) / 86_400_000);
      const resend = planExpiryResend(connection.name, { kind, openedAt: incident.openedAt }, { at: expiresAt, daysLeft }, policy, now.toISOString(), previousSweepAt?.toISOString() ?? null);
      if (!resend) continue;
      const facts = notificationFacts(connection, latest.observation, latest, state, null, now);
      const rendered = rows(resend, facts, notifiers, now, { incident: { id: incident.id } });
      failures.push(...rendered.failures);
      items.push(...rendered.rows.map((row) => ({ ...row, kind: 'reminder' as const })));
      continue;
    }
    const planned = planIncidentNotifications({
      connection: connection.name,
      now: now.toISOString(),
      change: null,
      current: { state: kind, since: state.state === kind ? state.since : incident.openedAt },
      previousEvaluationAt: previousSweepAt?.toISOString() ?? null,
        policy,
    });
    const facts = notificationFacts(connection, latest.observation, latest, state, store.lastOkProbe(connection.name)?.observation ?? null, now);
    for (const plan of planned) {
      const rendered = rows(plan, facts, incidentNotifiers(notifiers, config.alerting), now, { incident: { id: incident.id } });
      failures.push(...rendered.failures);
      items.push(...rendered.rows);
    }
  }
  if (failures.length > 0) onRenderFailures(failures);
  if (items.length === 0) return 0;
  return store.enqueueOutbox(items, now).filter((id) => id !== null).length;
}

/**
 * A renderer that threw (a defect in a notifier): its row was not written, so it is logged with the error and
 * counted as a failed notification (authwatch_notifications_total{result="failed"}); nothing else is lost.
 */
export function reportRenderFailures(failures: readonly RenderFailure[], log: Logger, metrics: Pick<AuthwatchMetrics, 'notification'>): void {
  for (const failure of failures) {
    log.error('notification could not be rendered; not sent', { channel: failure.channel, target: failure.target, error: failure.error });
    metrics.notification(failure.channel, 'failed');
  }
}
