/**
 * The most Unicode code points any string field of a tag holds, and any
 * cookie or filter a query names. Counted as JSON Schema's `maxLength` counts
 * (code points, not UTF-16 units: 256 emoji fit). It keeps every cookie
 * readable back: its profile URL, percent-encoded (12 characters for a
 * four-byte character), stays far below the 16 KiB request-line limit.
 */
export const MAX_TEXT_CODE_POINTS = 256;

/** What is wrong with a lone surrogate: it is not Unicode text and cannot be stored as UTF-8 without changing it. */
export const NOT_WELL_FORMED = 'is not valid Unicode text (it has a lone surrogate)';
export const TOO_LONG = `is longer than ${MAX_TEXT_CODE_POINTS} characters (Unicode code points)`;

/** True when `text` holds at most `max` code points; it must be well-formed (every surrogate paired). */
export function withinCodePoints(text: string, max: number = MAX_TEXT_CODE_POINTS): boolean {
  // A code point is one or two UTF-16 units, so the length alone decides most strings without counting.
  if (text.length <= max) return true;
  if (text.length > 2 * max) return false;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) count++;
  }
  return count <= max;
}

/** Why `text` cannot be a text field or query value (a lone surrogate, too long), or `undefined` when it can. */
export function textProblem(text: string): string | undefined {
  if (!text.isWellFormed()) return NOT_WELL_FORMED;
  if (!withinCodePoints(text)) return TOO_LONG;
  return undefined;
}
