// Durations as users write them in YAML: "15s", "90d", "1h30m", "500ms", or 0.
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DURATION_PATTERN = /^(?:0|(?:\d+(?:ms|s|m|h|d|w))+)$/;

export function parseDuration(text: string | number): number {
  if (text === 0 || text === '0') return 0;
  if (typeof text === 'number') throw new Error(`a duration needs a unit, e.g. "${text}s"`);
  if (!DURATION_PATTERN.test(text)) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 15s, 5m, 1h, 14d)`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 && parts.length === 0) parts.push(`${rest}ms`);
  return parts.slice(0, 2).join(' ');
}
