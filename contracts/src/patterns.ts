/**
 * The forms the parsers accept, written as JSON Schema `pattern`s (ECMA-262
 * regular expressions) for the OpenAPI documents. Each pattern admits exactly
 * the strings its parser accepts, no more and no fewer, so a client or a
 * generator that follows the document is never refused, and one that does
 * not is (contracts/test/patterns.unit.test.ts checks both directions).
 * Only ASCII classes (`[0-9]`, not `\d`): some regex engines read `\d` as any
 * Unicode digit.
 */

const MONTH_AND_DAY = '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))';
/** Gregorian leap years among 0000–9999: divisible by 4 but not by 100, or by 400. */
const LEAP_YEAR = '(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)';
/** A calendar date that exists: February 29th only in leap years. */
const DATE = `(?:[0-9]{4}-${MONTH_AND_DAY}|${LEAP_YEAR}-02-29)`;
const HOUR_MINUTE = '(?:[01][0-9]|2[0-3]):[0-5][0-9]';
/** `YYYY-MM-DDTHH:mm:ss` with 0–3 fraction digits, no zone designator (`parseUtcInstantBody`). */
const INSTANT_BODY = `${DATE}T${HOUR_MINUTE}:[0-5][0-9](?:\\.[0-9]{1,3})?`;
/** An instant on a whole minute: seconds `00`, a fraction, if any, of zeros. */
const MINUTE_BODY = `${DATE}T${HOUR_MINUTE}:00(?:\\.0{1,3})?`;

/** A tag's `time` (`parseEventTime`): `2022-03-22T12:15:00.000Z`, 0–3 fraction digits, `Z` required. */
export const EVENT_TIME_PATTERN = `^${INSTANT_BODY}Z$`;

/**
 * `time_range` of `/user_profiles` (`parseTimeRange`): `<from>_<to>`, each end
 * second or millisecond precision (1–3 fraction digits), a trailing `Z`
 * tolerated. That the end is after the start is not a matter of form: it is
 * checked by the server (400).
 */
export const TIME_RANGE_PATTERN = `^${INSTANT_BODY}Z?_${INSTANT_BODY}Z?$`;

/** `time_range` of `/aggregates` (`parseMinuteRange`): both ends on whole minutes. Order and length are checked by the server (400). */
export const MINUTE_RANGE_PATTERN = `^${MINUTE_BODY}Z?_${MINUTE_BODY}Z?$`;

/** `limit`: a positive decimal integer of any length (leading zeros allowed; past 200 it is served as 200). */
export const LIMIT_PATTERN = '^0*[1-9][0-9]*$';

/** `action` of `/aggregates`: `VIEW` or `BUY` in any letter case. */
export const ACTION_PATTERN = '^(?:[Vv][Ii][Ee][Ww]|[Bb][Uu][Yy])$';

/** One `aggregates` value: `COUNT` or `SUM_PRICE` in any letter case. */
export const AGGREGATE_PATTERN = '^(?:[Cc][Oo][Uu][Nn][Tt]|[Ss][Uu][Mm]_[Pp][Rr][Ii][Cc][Ee])$';
