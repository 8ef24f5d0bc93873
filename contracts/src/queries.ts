import { z } from 'zod';
import { ContractError, type FieldIssue } from './errors.ts';
import { ACTION_PATTERN, AGGREGATE_PATTERN, LIMIT_PATTERN, MINUTE_RANGE_PATTERN, TIME_RANGE_PATTERN } from './patterns.ts';
import { decodeQuery } from './query-string.ts';
import { MAX_TEXT_CODE_POINTS, textProblem } from './text.ts';
import { parseMinuteRange, parseTimeRange, type TimeRange } from './time-range.ts';
import { ACTIONS, type Action } from './user-tag.ts';
import type { Result } from './validation.ts';

/** Profiles keep and serve at most this many tags per action. */
export const PROFILE_LIMIT_MAX = 200;

export const AGGREGATES = ['COUNT', 'SUM_PRICE'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
export const FILTERS = ['origin', 'brand_id', 'category_id'] as const;
export type Filter = (typeof FILTERS)[number];

/** The query parameters as documented (OpenAPI is generated from these; the parsers below decide). */
export const QueryParams = {
  profileTimeRange: z.string().meta({
    pattern: TIME_RANGE_PATTERN,
    description:
      'Half-open [from, to) UTC range `<from>_<to>` without Z, each end with second or millisecond precision ' +
      '(1–3 fraction digits and a trailing Z are tolerated). The end must be after the start, else 400.',
    examples: ['2022-03-22T12:15:00.000_2022-03-22T12:30:00.000', '2022-03-22T12:15:00_2022-03-22T12:15:01.500'],
  }),
  limit: z.string().meta({
    pattern: LIMIT_PATTERN,
    description: `Positive integer of any length, default ${PROFILE_LIMIT_MAX}; larger values are served as ${PROFILE_LIMIT_MAX}. Applies to each list.`,
    examples: ['10', '200'],
  }),
  aggregatesTimeRange: z.string().meta({
    pattern: MINUTE_RANGE_PATTERN,
    description:
      'Half-open [from, to) UTC range `<from>_<to>` without Z, second (or millisecond) precision, both ends on whole minutes. ' +
      'The end must be after the start, the range at most as long as the deployment serves ' +
      '(AGGREGATES_MAX_MINUTES, 1440 minutes by default; the published limit is 10), and its start not before the ' +
      'retention horizon (24 h before the newest tag by default), else 400.',
    examples: ['2022-03-22T12:25:00_2022-03-22T12:28:00', '2022-03-22T12:25:00.000_2022-03-22T12:35:00.000'],
  }),
  action: z.string().meta({ pattern: ACTION_PATTERN, description: 'VIEW or BUY, in any letter case.', examples: ['VIEW', 'BUY'] }),
  aggregates: z
    .array(z.string().meta({ pattern: AGGREGATE_PATTERN, examples: ['COUNT', 'SUM_PRICE'] }))
    .min(1)
    .meta({
      description: 'Repeated; COUNT and/or SUM_PRICE in any letter case, columns in the order given.',
      examples: [['COUNT', 'SUM_PRICE']],
    }),
  filter: z.string().meta({
    maxLength: MAX_TEXT_CODE_POINTS,
    description: `Optional equality filter, at most ${MAX_TEXT_CODE_POINTS} code points.`,
  }),
};

export interface ProfileQuery {
  readonly cookie: string;
  readonly range: TimeRange;
  readonly limit: number;
}

export interface AggregatesQuery {
  readonly range: TimeRange;
  readonly action: Action;
  readonly aggregates: readonly Aggregate[];
  readonly filters: Readonly<Partial<Record<Filter, string>>>;
}

/** Collects every problem with the parameters, so one 400 names all of them. */
class IssueList {
  readonly issues: FieldIssue[];
  readonly params: URLSearchParams;
  /** Parameters that could not be decoded: already named, and not also "required" or "given twice". */
  private readonly undecodable: ReadonlySet<string>;

  constructor(query: URLSearchParams | string) {
    if (typeof query === 'string') {
      const decoded = decodeQuery(query);
      this.params = decoded.params;
      this.issues = [...decoded.issues];
    } else {
      this.params = query;
      this.issues = [];
    }
    this.undecodable = new Set(this.issues.map((i) => i.field));
  }
  add(field: string, message: string): void {
    if (!this.undecodable.has(field)) this.issues.push({ field, message });
  }
  single(params: URLSearchParams, name: string): string | undefined {
    const all = params.getAll(name);
    if (all.length > 1) this.add(name, 'must be given at most once');
    return all[0];
  }
  range(text: string | undefined, parse: (t: string) => TimeRange): TimeRange | undefined {
    if (text === undefined) {
      this.add('time_range', 'is required');
      return undefined;
    }
    try {
      return parse(text);
    } catch (e) {
      if (e instanceof ContractError) {
        this.issues.push(...e.issues);
        return undefined;
      }
      throw e;
    }
  }
  result<T>(value: () => T): Result<T> {
    if (this.issues.length === 0) return { ok: true, value: value() };
    const fields = [...new Set(this.issues.map((i) => i.field))].join(', ');
    return { ok: false, error: new ContractError('INVALID_REQUEST', `invalid query: ${fields}`, { issues: this.issues }) };
  }
}

/**
 * Parses `/user_profiles/{cookie}` parameters; `cookie` is already
 * percent-decoded. `query` is the raw query string (decoded here, refusing
 * bytes that are not UTF-8) or parameters already decoded.
 */
export function parseProfileQuery(cookie: string, query: URLSearchParams | string): Result<ProfileQuery> {
  const issues = new IssueList(query);
  const { params } = issues;
  const cookieProblem = cookie.length === 0 ? 'must not be empty' : textProblem(cookie);
  if (cookieProblem !== undefined) issues.add('cookie', cookieProblem);
  const range = issues.range(issues.single(params, 'time_range'), parseTimeRange);
  const limitText = issues.single(params, 'limit');
  let limit = PROFILE_LIMIT_MAX;
  if (limitText !== undefined) {
    // Any run of digits is an integer, however long: past 200 it is served as 200 (a fuzz test found 10^20 refused).
    const digits = /^\d+$/.test(limitText) ? limitText.replace(/^0+/, '') : '';
    if (digits.length === 0) issues.add('limit', 'must be a positive integer');
    else limit = digits.length > 3 ? PROFILE_LIMIT_MAX : Math.min(Number(digits), PROFILE_LIMIT_MAX);
  }
  return issues.result(() => ({ cookie, range: range as TimeRange, limit }));
}

/**
 * Upper case for "any letter case" of an ASCII keyword. Not `toUpperCase`,
 * which also turns the dotless ı into I and the long ſ into S.
 */
function asciiUpperCase(text: string | undefined): string | undefined {
  return text?.replace(/[a-z]/g, (c) => c.toUpperCase());
}

/**
 * Parses `/aggregates` parameters: `query` as for `parseProfileQuery`.
 * `maxMinutes` is how long a range the deployment serves.
 */
export function parseAggregatesQuery(query: URLSearchParams | string, maxMinutes: number): Result<AggregatesQuery> {
  const issues = new IssueList(query);
  const { params } = issues;
  const range = issues.range(issues.single(params, 'time_range'), (t) => parseMinuteRange(t, maxMinutes));

  const actionText = issues.single(params, 'action');
  const action = ACTIONS.find((a) => a === asciiUpperCase(actionText));
  if (actionText === undefined) issues.add('action', 'is required');
  else if (action === undefined) issues.add('action', `must be one of ${ACTIONS.join(', ')}`);

  const aggregates: Aggregate[] = [];
  const aggregateTexts = params.getAll('aggregates');
  if (aggregateTexts.length === 0) issues.add('aggregates', 'at least one of COUNT, SUM_PRICE is required');
  for (const text of aggregateTexts) {
    const aggregate = AGGREGATES.find((a) => a === asciiUpperCase(text));
    if (aggregate === undefined) issues.add('aggregates', `${JSON.stringify(text)} is not one of ${AGGREGATES.join(', ')}`);
    else aggregates.push(aggregate);
  }

  const filters: Partial<Record<Filter, string>> = {};
  for (const name of FILTERS) {
    const value = issues.single(params, name);
    if (value === undefined) continue;
    const problem = textProblem(value);
    if (problem === undefined) filters[name] = value;
    else issues.add(name, problem);
  }
  return issues.result(() => ({ range: range as TimeRange, action: action as Action, aggregates, filters }));
}
