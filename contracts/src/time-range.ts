import { ContractError } from './errors.ts';
import { MS_PER_MINUTE, parseUtcInstantBody } from './instant.ts';

/** A half-open interval of event time, `[fromMs, toMs)`, in epoch milliseconds. */
export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Parses `<from>_<to>`: both ends UTC, written without a zone designator, with
 * second or millisecond precision (`2022-03-22T12:15:00` or
 * `2022-03-22T12:15:00.000`). A trailing `Z` is tolerated since it is
 * unambiguous. The end must be after the start.
 *
 * @example parseTimeRange('2022-03-22T12:25:00_2022-03-22T12:28:00')
 *   // { fromMs: 1647951900000, toMs: 1647952080000 }
 */
export function parseTimeRange(text: string): TimeRange {
  const parts = text.split('_');
  if (parts.length !== 2) {
    throw rangeError('time_range must be <from>_<to>, e.g. 2022-03-22T12:15:00.000_2022-03-22T12:30:00.000');
  }
  const [fromText, toText] = parts as [string, string];
  const fromMs = parseEnd(fromText);
  const toMs = parseEnd(toText);
  if (fromMs === undefined || toMs === undefined) {
    throw rangeError(`time_range end ${fromMs === undefined ? fromText : toText} is not a UTC time like 2022-03-22T12:15:00.000`);
  }
  if (toMs <= fromMs) throw rangeError('time_range must end after it starts');
  return { fromMs, toMs };
}

/**
 * Parses a range for `/aggregates`: both ends on whole minutes, and at most
 * `maxMinutes` buckets long.
 */
export function parseMinuteRange(text: string, maxMinutes: number): TimeRange {
  const range = parseTimeRange(text);
  if (range.fromMs % MS_PER_MINUTE !== 0 || range.toMs % MS_PER_MINUTE !== 0) {
    throw rangeError('time_range ends must fall on whole minutes');
  }
  const minutes = (range.toMs - range.fromMs) / MS_PER_MINUTE;
  if (minutes > maxMinutes) throw rangeError(`time_range spans ${minutes} minutes; at most ${maxMinutes} are served`);
  return range;
}

function parseEnd(text: string): number | undefined {
  return parseUtcInstantBody(text.endsWith('Z') ? text.slice(0, -1) : text);
}

function rangeError(message: string): ContractError {
  return new ContractError('INVALID_REQUEST', message, { issues: [{ field: 'time_range', message }] });
}
