// Instants as stored and compared everywhere: ISO 8601 UTC strings in Date#toISOString form, so that text
// comparison is time order.

export type Instant = string | Date;

/** Normalises an instant to the stored form (Date#toISOString); refuses anything else. */
export function iso(value: Instant): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 instant: ${JSON.stringify(value instanceof Date ? 'Invalid Date' : value)}`);
  return new Date(ms).toISOString();
}
