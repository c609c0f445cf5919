// Slack Web API messages that start a thread: the stored payload says which thread a message starts or
// belongs to, and the Web API notifier remembers each thread's channel and ts once Slack accepted its first
// message, so replies, reminders and the resolution land in it and the original can be updated.
import { clampPlain, enforceSlackLimits, SLACK_LIMITS, type SlackBlock, type SlackPayload } from './blocks.js';

export interface SlackThreadRecord {
  /** The channel ID Slack answered with (chat.update needs the ID, not a #name). */
  channel: string;
  ts: string;
  /** The message as posted, to be re-rendered as resolved. */
  message: SlackPayload;
}

/** Where thread parents are remembered: the database in the daemon (survives restarts), memory in test-alert. */
export interface SlackThreads {
  get(target: string, thread: string): SlackThreadRecord | null;
  remember(target: string, thread: string, record: SlackThreadRecord, at: Date): void;
}

export type SlackWebAction =
  /** Starts `thread` (when set): posted once; a re-send after a crash finds the thread remembered and posts nothing. */
  | 'post'
  /** A reply in `thread`; top-level when the thread's first message never got through. */
  | 'reply'
  /** Updates the thread's first message to show it is resolved (resolvedNote on top), then replies `message`. */
  | 'resolve';

export interface SlackWebPayload {
  web: true;
  thread: string | null;
  action: SlackWebAction;
  message: SlackPayload;
  resolvedNote: string | null;
}

export function isSlackWebPayload(payload: unknown): payload is SlackWebPayload {
  const candidate = payload as Partial<SlackWebPayload> | null;
  return (
    Boolean(candidate) &&
    candidate!.web === true &&
    (candidate!.thread === null || typeof candidate!.thread === 'string') &&
    ['post', 'reply', 'resolve'].includes(candidate!.action as string) &&
    typeof candidate!.message?.text === 'string' &&
    Array.isArray(candidate!.message?.blocks)
  );
}

/** The original message, marked resolved: a ✅ header and the note right under it; the rest kept as it was. Pure. */
export function markResolved(original: SlackPayload, note: string): SlackPayload {
  const [first, ...rest] = original.blocks;
  const header = first?.type === 'header' ? first.text.text.replace(/^:[a-z_]+:\s*/, '') : null;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clampPlain(`:white_check_mark: Resolved: ${header ?? 'authwatch'}`, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: note } },
    ...(first?.type === 'header' ? rest : original.blocks),
  ];
  return enforceSlackLimits({ text: `Resolved: ${original.text}`, blocks });
}

/** Memory-only threads (test-alert, tests): lost with the process. */
export function memoryThreads(): SlackThreads {
  const records = new Map<string, SlackThreadRecord>();
  return {
    get: (target, thread) => records.get(`${target}\u0000${thread}`) ?? null,
    remember: (target, thread, record) => void records.set(`${target}\u0000${thread}`, record),
  };
}
