// The Alertmanager channel's registration: one notifier per configured URL (every instance of an Alertmanager
// cluster must receive every alert), each its own outbox lane delivered and retried on its own, so one instance
// being down delays nothing for the others.
import { DEFAULT_NOTIFIER_TIMEOUT_MS, type ChannelNotifier, type ChannelRegistration, type NotifierOptions } from '../notifier.js';
import { postToAlertmanager } from './client.js';
import { ALERTMANAGER_TIMING, isFiring, renderAlertmanagerAlerts, withFiringWindow, type AlertmanagerAlert } from './render.js';

export const alertmanagerChannel: ChannelRegistration = {
  title: 'Alertmanager',
  setting: 'alerting.alertmanager.urls',
  notifiers: (alerting, options) => (alerting.alertmanager?.urls ?? []).map((url) => alertmanagerNotifier(url, alerting.dashboardUrl, options)),
};

/** What the Alertmanager notifier stores: firing alerts get endsAt = send time + firingValidityMs when sent. */
export interface AlertmanagerOutboxPayload {
  alerts: AlertmanagerAlert[];
  firingValidityMs: number | null;
}

function alertmanagerNotifier(url: string, dashboardUrl: string | null, options: NotifierOptions): ChannelNotifier {
  const now = options.now ?? (() => new Date());
  const firingValidityMs = options.firingValidityMs ?? ALERTMANAGER_TIMING.firingValidityMs;
  return {
    target: url,
    render(notification, context): AlertmanagerOutboxPayload {
      return {
        alerts: renderAlertmanagerAlerts(notification, { dashboardUrl, now: context.now, firingValidityMs }),
        firingValidityMs: isFiring(notification) ? firingValidityMs : null,
      };
    },
    async deliver(payload) {
      if (!isAlertmanagerPayload(payload)) return { kind: 'rejected', reason: 'the stored Alertmanager payload is not a list of alerts' };
      const alerts = payload.firingValidityMs === null ? payload.alerts : withFiringWindow(payload.alerts, now(), payload.firingValidityMs);
      return postToAlertmanager(url, alerts, { timeoutMs: options.timeoutMs ?? DEFAULT_NOTIFIER_TIMEOUT_MS });
    },
  };
}

function isAlertmanagerPayload(payload: unknown): payload is AlertmanagerOutboxPayload {
  const candidate = payload as AlertmanagerOutboxPayload | null;
  return Boolean(candidate) && Array.isArray(candidate!.alerts) && (candidate!.firingValidityMs === null || typeof candidate!.firingValidityMs === 'number');
}
