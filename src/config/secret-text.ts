// What a secret may contain: pure rules shared by secret reading and the header lint.

/** Whitespace, control characters and invisible format characters (zero-width space, soft hyphen, BOM…). */
export const SECRET_FORBIDDEN = /[\s\p{Cc}\p{Cf}]/u;
export const SECRET_FORBIDDEN_ALL = /[\s\p{Cc}\p{Cf}]/gu;

const CHARACTER_NAMES: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', ' ': 'a space' };

export type SecretTextCheck = { ok: true; value: string } | { ok: false; status: 'malformed'; problem: string };

function codePoint(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).padStart(4, '0').toUpperCase()}`;
}

function position(index: number, length: number): string {
  return index === length - 1 ? 'at the end' : index === 0 ? 'at the start' : `at position ${index + 1} of ${length}`;
}

/** Any whitespace, control or invisible character inside a secret is reported, never silently fixed; the secret is never shown. */
export function checkSecretText(value: string, where: string): SecretTextCheck {
  const bad = SECRET_FORBIDDEN.exec(value);
  if (bad) {
    const name = CHARACTER_NAMES[bad[0]] ?? (/\p{Cf}/u.test(bad[0]) ? `an invisible character ${codePoint(bad[0])}` : `control character ${codePoint(bad[0])}`);
    return { ok: false, status: 'malformed', problem: `${where} contains ${name} ${position(bad.index, value.length)}` };
  }
  return { ok: true, value };
}

/** An HTTP header carries only visible ASCII (bearer tokens and pre-built header values are sent as they are). */
export function checkHeaderText(value: string, where: string): SecretTextCheck {
  const bad = /[^\x20-\x7e]/u.exec(value);
  if (bad) {
    return { ok: false, status: 'malformed', problem: `${where} contains ${codePoint(bad[0])} ${position(bad.index, value.length)}, which an HTTP header cannot carry` };
  }
  return { ok: true, value };
}
