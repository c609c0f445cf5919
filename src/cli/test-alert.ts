// `authwatch test-alert [--channel NAME]`: sends a clearly marked test notification through every
// configured channel (every Alertmanager URL on its own), with the daemon's delivery rules — retries with back-off,
// Retry-After honoured, a 4xx other than 429 not retried — for a short bounded time. Needs no database.
import { formatDuration } from '../config/duration.js';
import type { Config } from '../config/load.js';
import { readSecret } from '../config/secrets.js';
import { SecretRegistry, maskText } from '../log/mask.js';
import { Dispatcher, displayTarget, type DeliveryAttempt } from '../notify/dispatcher.js';
import { MemoryOutbox } from '../notify/memory-outbox.js';
import { testNotification } from '../notify/plan.js';
import { buildNotifiers, channelSecretRefs, CHANNEL_REGISTRY, CHANNELS, outboxEntriesFor, type Channel, type Notifier } from '../notify/registry.js';
import { EXIT_CONFIG_ERROR, EXIT_NOT_OK, EXIT_OK, writeLine, type CliIO } from './io.js';
import { renderTable } from './table.js';
import { loadConfigOrReport } from './validate.js';

export const TEST_ALERT_TIMING = {
  /** A delivery still not accepted this long after the command started is reported as failed. */
  giveUpAfterMs: 15_000,
  /** First retry delay; doubles after each further failure (Retry-After wins when longer). */
  initialRetryDelayMs: 1000,
  requestTimeoutMs: 5000,
  /** The test alert fires in Alertmanager this long, long enough for a route to notify, then resolves by itself. */
  alertmanagerFiringMs: 5 * 60_000,
} as const;

export interface TestAlertOptions {
  configPath: string;
  /** null: every configured channel. */
  channel: Channel | null;
}

export interface TestAlertResult {
  channel: Channel;
  /** 'webhook' for Slack, the Alertmanager URL without user-info. */
  target: string;
  delivered: boolean;
  attempts: number;
  /** Why it was not delivered; never holds a secret. */
  reason: string | null;
}

export async function runTestAlert(options: TestAlertOptions, io: CliIO): Promise<number> {
  const config = loadConfigOrReport(options.configPath, io);
  if (!config) return EXIT_CONFIG_ERROR;
  for (const warning of config.warnings) writeLine(io.stderr, `warning: ${warning}`);

  const notifiers = buildNotifiers(config.alerting, {
    env: io.env,
    timeoutMs: TEST_ALERT_TIMING.requestTimeoutMs,
    firingValidityMs: TEST_ALERT_TIMING.alertmanagerFiringMs,
  });
  const selected = notifiers.filter((notifier) => options.channel === null || notifier.channel === options.channel);
  if (selected.length === 0) {
    writeLine(io.stderr, `authwatch: ${noChannelMessage(config, options.channel)}`);
    return EXIT_CONFIG_ERROR;
  }

  const secrets = new SecretRegistry();
  for (const ref of channelSecretRefs(config.alerting)) {
    const secret = readSecret(ref, io.env);
    if (secret.ok) secrets.register(secret.value);
  }
  const mask = (text: string) => maskText(text, secrets);

  const unsendable = new Map<Notifier, string>();
  for (const notifier of selected) {
    const problem = CHANNEL_REGISTRY[notifier.channel].unsendable?.(notifier, config.alerting, io.env) ?? null;
    if (problem) unsendable.set(notifier, problem);
  }

  const sent = await sendTestNotification(
    selected.filter((notifier) => !unsendable.has(notifier)),
    (attempt) => {
      if (attempt.outcome !== 'retried' || !attempt.nextAttemptAt) return;
      const wait = formatDuration(Math.max(0, attempt.nextAttemptAt.getTime() - Date.now()));
      writeLine(io.stderr, mask(`${attempt.channel} ${attempt.target}: ${attempt.reason ?? 'not accepted'}; trying again in ${wait}`));
    },
  );
  const results: TestAlertResult[] = [
    ...sent,
    ...[...unsendable].map(([notifier, reason]) => ({ channel: notifier.channel, target: displayTarget(notifier.target), delivered: false, attempts: 0, reason })),
  ].sort((a, b) => CHANNELS.indexOf(a.channel) - CHANNELS.indexOf(b.channel));

  writeLine(
    io.stdout,
    renderTable(
      ['CHANNEL', 'TARGET', 'RESULT'],
      results.map((result) => [result.channel, result.target, mask(result.delivered ? 'delivered' : `${result.attempts === 0 ? 'not sent' : 'failed'}: ${result.reason ?? 'not accepted'}`)]),
    ),
  );
  return results.every((result) => result.delivered) ? EXIT_OK : EXIT_NOT_OK;
}

/** Delivers one test notification through each notifier; resolves once every one is delivered or given up on. */
export async function sendTestNotification(notifiers: readonly Notifier[], onAttempt?: (attempt: DeliveryAttempt) => void): Promise<TestAlertResult[]> {
  if (notifiers.length === 0) return [];
  const now = new Date();
  const outbox = new MemoryOutbox();
  const notification = testNotification(now.toISOString());
  for (const entry of outboxEntriesFor(notifiers, notification, { dedupeKey: `test|${now.toISOString()}`, channels: notifiers.map((notifier) => notifier.channel) }, { now })) {
    outbox.enqueue(entry, now);
  }
  const dispatcher = new Dispatcher({
    outbox,
    notifiers: () => notifiers,
    retry: { initialDelayMs: TEST_ALERT_TIMING.initialRetryDelayMs, maxAgeMs: TEST_ALERT_TIMING.giveUpAfterMs },
    pollIntervalMs: 50,
    onAttempt,
  });
  dispatcher.start();
  while (outbox.pendingCount() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  await dispatcher.stop();
  return outbox.list().map((row) => ({
    channel: row.channel,
    target: displayTarget(row.target),
    delivered: row.status === 'delivered',
    attempts: row.attempts,
    reason: row.status === 'delivered' ? null : row.lastError,
  }));
}

function noChannelMessage(config: Config, channel: Channel | null): string {
  if (channel !== null) return `no ${CHANNEL_REGISTRY[channel].title} configured in ${config.source}: add ${CHANNEL_REGISTRY[channel].setting}`;
  return `no notification channel configured in ${config.source}: add ${Object.values(CHANNEL_REGISTRY).map((registration) => registration.setting).join(' or ')}`;
}
