// Slack Block Kit: the subset authwatch sends, its limits, escaping, and a validator for those limits.
// Pure. Limits from https://api.slack.com/reference/block-kit/blocks.

export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

export interface SlackPayload {
  /** Plain fallback shown in notifications and by clients that cannot show blocks. */
  text: string;
  blocks: SlackBlock[];
}

export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  fallbackText: 40_000,
} as const;

/** Slack's three control characters in mrkdwn text. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Control characters other than newline and tab become spaces: they have no business in a chat message. */
export function stripControl(text: string): string {
  return text.replace(/[\p{Cc}]/gu, (character) => (character === '\n' || character === '\t' ? character : ' '));
}

/** `text` as inline code: a backtick inside would end it early, so it becomes a look-alike. */
export function inlineCode(text: string): string {
  const clean = stripControl(text).replace(/\s+/g, ' ').replace(/`/g, 'ˋ');
  return `\`${escapeMrkdwn(clean)}\``;
}

/** A preformatted block: formatting characters stay literal; backticks become look-alikes so they cannot close it. */
export function codeBlock(text: string): string {
  return '```\n' + escapeMrkdwn(stripControl(text).replace(/`/g, 'ˋ')) + '\n```';
}

export function link(url: string, label: string): string {
  const target = url.replace(/&/g, '&amp;').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C').replace(/\s/g, '%20');
  return `<${target}|${escapeMrkdwn(label.replace(/\|/g, '¦'))}>`;
}

/** Slack shows the reader's local time; clients that can't show the fallback (UTC). */
export function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeMrkdwn(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${formatUtc(ms)}>`;
}

export function formatUtc(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown time';
  return new Date(ms).toISOString().replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

const ELLIPSIS = '…';
const CODE_FENCE = '```';

/**
 * Shortens mrkdwn text to at most `max` characters without cutting an escape (&amp;), a link or date
 * token (<…>), a surrogate pair, or leaving a code block open.
 */
export function clampMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  const reserve = ELLIPSIS.length + 1 + CODE_FENCE.length;
  let kept = text.slice(0, Math.max(0, max - reserve));
  const lastAmp = kept.lastIndexOf('&');
  if (lastAmp >= 0 && !kept.slice(lastAmp).includes(';')) kept = kept.slice(0, lastAmp);
  const lastOpen = kept.lastIndexOf('<');
  if (lastOpen > kept.lastIndexOf('>')) kept = kept.slice(0, lastOpen);
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  const openFence = kept.split(CODE_FENCE).length % 2 === 0;
  if (openFence && kept.endsWith('`')) kept = kept.replace(/`+$/, '');
  return kept + ELLIPSIS + (openFence ? '\n' + CODE_FENCE : '');
}

export function clampPlain(text: string, max: number): string {
  if (text.length <= max) return text;
  let kept = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  return kept + ELLIPSIS;
}

/** Cuts every text to its limit and drops blocks past the 50th: the last line of defence, never expected to act. */
export function enforceSlackLimits(payload: SlackPayload): SlackPayload {
  const fit = (text: SlackText, max: number): SlackText => ({
    ...text,
    text: text.type === 'mrkdwn' ? clampMrkdwn(text.text, max) : clampPlain(text.text, max),
  });
  const blocks = payload.blocks.slice(0, SLACK_LIMITS.blocks).map((block): SlackBlock => {
    switch (block.type) {
      case 'header':
        return { type: 'header', text: fit(block.text, SLACK_LIMITS.headerText) };
      case 'section': {
        const section: SlackBlock = { type: 'section' };
        if (block.text) section.text = fit(block.text, SLACK_LIMITS.sectionText);
        if (block.fields) section.fields = block.fields.slice(0, SLACK_LIMITS.sectionFields).map((field) => fit(field, SLACK_LIMITS.fieldText));
        return section;
      }
      case 'context':
        return { type: 'context', elements: block.elements.slice(0, SLACK_LIMITS.contextElements).map((element) => fit(element, SLACK_LIMITS.contextText)) };
      default:
        return block;
    }
  });
  return { text: clampMrkdwn(payload.text, SLACK_LIMITS.fallbackText), blocks };
}

const TOKEN = /^<(?:https?:\/\/[^\s|<>]+(?:\|[^<>]*)?|!date\^\d+\^[^|<>]+(?:\^[^|<>]+)?\|[^<>]*)>/;

/** Unescaped control characters in mrkdwn: a '<' that starts no link or date token, a stray '>', a bare '&'. */
function escapingProblems(text: string): string[] {
  const problems: string[] = [];
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '<') {
      const token = TOKEN.exec(text.slice(index));
      if (!token) {
        problems.push(`unescaped "<" at ${index}`);
        continue;
      }
      index += token[0].length - 1;
    } else if (character === '>') {
      problems.push(`unescaped ">" at ${index}`);
    } else if (character === '&' && !/^&(?:amp|lt|gt);/.test(text.slice(index, index + 5))) {
      problems.push(`unescaped "&" at ${index}`);
    }
  }
  return problems;
}

function checkText(where: string, value: unknown, max: number, allowed: SlackText['type'][]): string[] {
  if (!value || typeof value !== 'object') return [`${where}: missing text object`];
  const text = value as Partial<SlackText>;
  const problems: string[] = [];
  if (!allowed.includes(text.type as SlackText['type'])) problems.push(`${where}: type must be ${allowed.join(' or ')}`);
  if (typeof text.text !== 'string' || text.text.length === 0) return [...problems, `${where}: text is empty`];
  if (text.text.length > max) problems.push(`${where}: ${text.text.length} characters, limit ${max}`);
  if (text.type === 'mrkdwn') problems.push(...escapingProblems(text.text).map((problem) => `${where}: ${problem}`));
  return problems;
}

/** Every Block Kit limit this payload breaks; empty when Slack will accept it. */
export function validateSlackPayload(payload: unknown): string[] {
  if (!payload || typeof payload !== 'object') return ['payload is not an object'];
  const { text, blocks } = payload as Partial<SlackPayload>;
  const problems: string[] = [];
  if (typeof text !== 'string' || text.length === 0) problems.push('text: the fallback text is empty');
  else {
    if (text.length > SLACK_LIMITS.fallbackText) problems.push(`text: ${text.length} characters, limit ${SLACK_LIMITS.fallbackText}`);
    problems.push(...escapingProblems(text).map((problem) => `text: ${problem}`));
  }
  if (!Array.isArray(blocks)) return [...problems, 'blocks: not an array'];
  if (blocks.length > SLACK_LIMITS.blocks) problems.push(`blocks: ${blocks.length} blocks, limit ${SLACK_LIMITS.blocks}`);
  blocks.forEach((block: SlackBlock, index) => {
    const where = `blocks[${index}]`;
    switch (block?.type) {
      case 'header':
        problems.push(...checkText(`${where}.text`, block.text, SLACK_LIMITS.headerText, ['plain_text']));
        break;
      case 'section':
        if (!block.text && !block.fields?.length) problems.push(`${where}: a section needs text or fields`);
        if (block.text) problems.push(...checkText(`${where}.text`, block.text, SLACK_LIMITS.sectionText, ['mrkdwn', 'plain_text']));
        if (block.fields) {
          if (block.fields.length > SLACK_LIMITS.sectionFields) problems.push(`${where}.fields: ${block.fields.length} fields, limit ${SLACK_LIMITS.sectionFields}`);
          block.fields.forEach((field, fieldIndex) =>
            problems.push(...checkText(`${where}.fields[${fieldIndex}]`, field, SLACK_LIMITS.fieldText, ['mrkdwn', 'plain_text'])),
          );
        }
        break;
      case 'context':
        if (!Array.isArray(block.elements) || block.elements.length === 0) problems.push(`${where}: a context needs elements`);
        else {
          if (block.elements.length > SLACK_LIMITS.contextElements) problems.push(`${where}.elements: ${block.elements.length}, limit ${SLACK_LIMITS.contextElements}`);
          block.elements.forEach((element, elementIndex) =>
            problems.push(...checkText(`${where}.elements[${elementIndex}]`, element, SLACK_LIMITS.contextText, ['mrkdwn', 'plain_text'])),
          );
        }
        break;
      case 'divider':
        break;
      default:
        problems.push(`${where}: unknown block type ${JSON.stringify((block as { type?: unknown })?.type)}`);
    }
  });
  return problems;
}
