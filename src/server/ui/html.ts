// The status page's only way to build HTML: a tagged template that escapes every interpolated value unless it is
// a fragment this same template made. Attribute values must be quoted ("..."); the escaping covers text and quoted
// attributes alike. Pure.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe to place in an element or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

/** A fragment of HTML; only fragments made by `html` (remembered here) are inserted unescaped. */
export interface Html {
  readonly text: string;
}

const made = new WeakSet<Html>();

function fragment(text: string): Html {
  const value = Object.freeze({ text });
  made.add(value);
  return value;
}

export function isHtml(value: unknown): value is Html {
  return typeof value === 'object' && value !== null && made.has(value as Html);
}

/** What may be interpolated: fragments as they are; null, undefined and false as nothing; arrays item by item; the rest as escaped text. */
export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (isHtml(value)) return value.text;
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0];
  for (let index = 0; index < values.length; index += 1) out += render(values[index]) + strings[index + 1];
  return fragment(out);
}
