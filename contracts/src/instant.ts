/**
 * Instants as the contract writes them. Internally an instant is a number of
 * milliseconds since the Unix epoch (UTC); text forms are parsed and printed
 * only here.
 */

const MS_PER_MINUTE = 60_000;

// YYYY-MM-DDTHH:mm:ss with an optional 1–3 digit fraction; the suffix is handled by callers.
const INSTANT_BODY = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses `YYYY-MM-DDTHH:mm:ss[.f|.ff|.fff]` (no zone designator) as UTC.
 * Returns epoch milliseconds, or `undefined` for any other form or an
 * impossible date such as February 30th or 24:00:00.
 */
export function parseUtcInstantBody(text: string): number | undefined {
  const m = INSTANT_BODY.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m as unknown as [string, string, string, string, string, string, string, string | undefined];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0'));
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 onto 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime();
}

/** Parses an event time: the instant body followed by a mandatory `Z`. */
export function parseEventTime(text: string): number | undefined {
  if (!text.endsWith('Z')) return undefined;
  return parseUtcInstantBody(text.slice(0, -1));
}

/** The canonical event-time form: `2022-03-22T12:15:00.000Z`. */
export function formatEventTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** A minute bucket's label in aggregate answers: `2022-03-22T12:15:00` (second precision, no `Z`). */
export function formatBucket(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}

/** The start of the minute that contains `epochMs`. */
export function minuteOf(epochMs: number): number {
  return Math.floor(epochMs / MS_PER_MINUTE) * MS_PER_MINUTE;
}

export { MS_PER_MINUTE };
