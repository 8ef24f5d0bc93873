// The OpenAPI documents' patterns admit exactly what the parsers accept: every
// string a pattern matches is accepted (so schemathesis's schema-valid requests
// are never refused), and every string it does not match is refused (so its
// schema-violating ones never succeed). Each property draws strings built
// slot by slot (digits in and out of range, fractions of 0–4 digits, zone
// suffixes, February 29th in leap and common years) plus arbitrary text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ACTION_PATTERN,
  AGGREGATE_PATTERN,
  EVENT_TIME_PATTERN,
  LIMIT_PATTERN,
  MINUTE_RANGE_PATTERN,
  parseAggregatesQuery,
  parseEventTime,
  parseMinuteRange,
  parseProfileQuery,
  parseTimeRange,
  parseUtcInstantBody,
  TIME_RANGE_PATTERN,
} from '../src/index.ts';

// As Ajv compiles a JSON Schema pattern (unicodeRegExp), and as plain ECMA-262 without the flag.
const regexes = (pattern: string) => [new RegExp(pattern, 'u'), new RegExp(pattern)];
const matches = (pattern: string, text: string) => {
  const [unicode, plain] = regexes(pattern) as [RegExp, RegExp];
  const result = unicode.test(text);
  assert.equal(plain.test(text), result, `the pattern reads ${JSON.stringify(text)} the same with and without the u flag`);
  return result;
};

const RUNS = 3000;
const pad = (width: number) => (n: number) => String(n).padStart(width, '0');
const digits = (width: number) => fc.integer({ min: 0, max: 10 ** width - 1 }).map(pad(width));
const year = fc.oneof(digits(4), fc.constantFrom('0000', '1900', '2000', '2022', '2024', '2100', '2400', '9999'));
const month = fc.oneof(fc.integer({ min: 0, max: 13 }).map(pad(2)), digits(2));
const day = fc.oneof(fc.integer({ min: 0, max: 32 }).map(pad(2)), digits(2));
const hour = fc.oneof(fc.integer({ min: 0, max: 24 }).map(pad(2)), digits(2));
const sixty = fc.oneof(fc.integer({ min: 0, max: 60 }).map(pad(2)), digits(2), fc.constant('00'));
const fraction = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 4 }).chain((n) => digits(n).map((d) => `.${d}`)),
  fc.constantFrom('.', '.0', '.00', '.000', '.0000'),
);
/** A `YYYY-MM-DDTHH:mm:ss[.f…]` body, mostly well-formed, its slots in or out of range; month ends and leap days often. */
const instantBody = fc.oneof(
  fc.tuple(year, month, day, hour, sixty, sixty, fraction).map(([y, mo, d, h, mi, s, f]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f}`),
  fc
    .tuple(year, fc.constantFrom('02', '02', '02', '04', '06', '09', '11', '12'), fc.constantFrom('28', '29', '30', '31'), fraction)
    .map(([y, mo, d, f]) => `${y}-${mo}-${d}T12:00:00${f}`),
  fc
    .date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, -1)),
);
const suffix = fc.constantFrom('Z', 'Z', '', 'z', '+00:00', 'Z\n', ' ', 'ZZ');
/** A well-formed string with a character inserted, replaced or removed here and there. */
const mangled = (text: fc.Arbitrary<string>) =>
  fc
    .tuple(
      text,
      fc.nat(),
      fc.nat({ max: 1 }),
      fc.string({ maxLength: 1, unit: fc.constantFrom('0', '9', ':', '-', 'T', '.', '_', 'Z', '٣', ' ') }),
    )
    .map(([t, at, cut, insert]) => {
      const i = at % (t.length + 1);
      return t.slice(0, i) + insert + t.slice(i + cut);
    });

describe('the time pattern of a tag', () => {
  const accepted = (text: string) => parseEventTime(text) !== undefined;

  it('matches the canonical and shorter forms, leap days included', () => {
    for (const text of [
      '2022-03-22T12:15:00.000Z',
      '2022-03-22T12:15:00Z',
      '2022-03-22T12:15:00.5Z',
      '2022-03-22T12:15:00.25Z',
      '2024-02-29T23:59:59.999Z',
      '2000-02-29T00:00:00Z',
      '0000-02-29T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
    ]) {
      assert.ok(matches(EVENT_TIME_PATTERN, text), text);
      assert.ok(accepted(text), text);
    }
  });

  it('does not match other forms or impossible dates', () => {
    for (const text of [
      '2022-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2022-02-30T12:00:00.000Z',
      '2022-04-31T12:00:00Z',
      '2022-03-22T24:00:00Z',
      '2022-03-22T12:60:00Z',
      '2022-03-22T12:15:60Z',
      '2022-03-22T12:15:00.0000Z',
      '2022-03-22T12:15:00.Z',
      '2022-03-22T12:15:00.000',
      '2022-03-22T12:15:00.000+01:00',
      '2022-03-22 12:15:00.000Z',
      '+012022-03-22T12:00:00Z',
      '2022-03-22T12:15:00.000Z\n',
      '２０２２-03-22T12:15:00Z',
      '',
    ]) {
      assert.ok(!matches(EVENT_TIME_PATTERN, text), text);
      assert.ok(!accepted(text), text);
    }
  });

  it('matches exactly the times the server accepts', () => {
    const text = fc.oneof(
      fc.tuple(instantBody, suffix).map(([b, s]) => b + s),
      mangled(fc.tuple(instantBody, suffix).map(([b, s]) => b + s)),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (t) => {
        assert.equal(matches(EVENT_TIME_PATTERN, t), accepted(t));
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * A range pattern against its parser: a matching range is accepted in one
 * order or the other (neither when both ends are the same instant), and a
 * range that does not match is refused in both.
 */
function assertRangePattern(pattern: string, parse: (text: string) => unknown, end: fc.Arbitrary<string>): void {
  const accepts = (text: string) => {
    try {
      parse(text);
      return true;
    } catch {
      return false;
    }
  };
  const instant = (text: string) => parseUtcInstantBody(text.endsWith('Z') ? text.slice(0, -1) : text);
  const range = fc.oneof(
    { arbitrary: fc.tuple(end, end).map(([a, b]) => `${a}_${b}`), weight: 4 },
    mangled(fc.tuple(end, end).map(([a, b]) => `${a}_${b}`)),
    end.map((a) => `${a}_${a}`),
    fc.tuple(end, end, end).map((ends) => ends.join('_')),
    fc.string(),
  );
  fc.assert(
    fc.property(range, (text) => {
      const parts = text.split('_');
      const swapped = parts.length === 2 ? `${parts[1]}_${parts[0]}` : text;
      if (matches(pattern, text)) {
        const same = instant(parts[0] as string) === instant(parts[1] as string);
        assert.equal(accepts(text) || accepts(swapped), !same, `${text} is accepted in one order`);
      } else {
        assert.ok(!accepts(text) && !accepts(swapped), `${text} is refused in both orders`);
      }
    }),
    { numRuns: RUNS },
  );
}

describe('the time_range patterns', () => {
  it('profiles: match the examples of the contract, either precision on either end', () => {
    for (const text of [
      '2022-03-22T12:15:00.000_2022-03-22T12:30:00.000',
      '2022-03-22T12:15:00_2022-03-22T12:15:00.001',
      '2022-03-22T12:15:00Z_2022-03-22T12:15:01.5',
    ]) {
      assert.ok(matches(TIME_RANGE_PATTERN, text), text);
      assert.doesNotThrow(() => parseTimeRange(text), text);
    }
    for (const text of [
      '2022-03-22T12:15:00.000',
      '2022-03-22T12:15:00_2022-02-30T12:15:00',
      '2022-03-22T12:15:00+01:00_2022-03-22T12:30:00',
    ])
      assert.ok(!matches(TIME_RANGE_PATTERN, text), text);
  });

  it('profiles: match exactly the ranges the server accepts, up to the order of the ends', () => {
    assertRangePattern(
      TIME_RANGE_PATTERN,
      parseTimeRange,
      fc.tuple(instantBody, fc.constantFrom('', '', 'Z', '+01:00')).map(([b, s]) => b + s),
    );
  });

  it('aggregates: match whole minutes only', () => {
    for (const text of ['2022-03-22T12:25:00_2022-03-22T12:28:00', '2022-03-22T12:25:00.000_2022-03-22T12:28:00.0Z'])
      assert.ok(matches(MINUTE_RANGE_PATTERN, text), text);
    for (const text of [
      '2022-03-22T12:25:30_2022-03-22T12:28:00',
      '2022-03-22T12:25:00.001_2022-03-22T12:28:00',
      '2022-03-22T12:25_2022-03-22T12:28',
    ])
      assert.ok(!matches(MINUTE_RANGE_PATTERN, text), text);
  });

  it('aggregates: match exactly the ranges the server accepts, up to the order of the ends and the length served', () => {
    const minuteEnd = fc.oneof(
      fc.tuple(instantBody, fc.constantFrom('', 'Z')).map(([b, s]) => b + s),
      fc
        .tuple(instantBody, fc.constantFrom(':00', ':00.0', ':00.000', ':30', ':00.001'), fc.constantFrom('', 'Z'))
        .map(([b, seconds, s]) => b.slice(0, 16) + seconds + s),
    );
    assertRangePattern(MINUTE_RANGE_PATTERN, (text) => parseMinuteRange(text, Number.MAX_SAFE_INTEGER), minuteEnd);
  });
});

describe('the patterns of the other query parameters', () => {
  const range = 'time_range=2022-03-22T12:15:00.000_2022-03-22T12:30:00.000';

  it('limit: matches exactly the limits the server accepts, of any length', () => {
    const limit = fc.oneof(
      fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
      fc.tuple(fc.string({ maxLength: 3, unit: fc.constantFrom('0') }), fc.nat()).map(([zeros, n]) => zeros + String(n)),
      fc.constantFrom('0', '00', '-1', '+1', '1.0', '1e3', ' 1', '1 ', '١', ''),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(limit, (text) => {
        const accepted = parseProfileQuery('c', new URLSearchParams(`${range}&limit=${encodeURIComponent(text)}`)).ok;
        assert.equal(matches(LIMIT_PATTERN, text), accepted);
      }),
      { numRuns: RUNS },
    );
  });

  /** Keywords in every mix of letter case, with look-alikes (dotless ı, long ſ) and stray characters. */
  const keyword = (words: readonly string[]) =>
    fc.oneof(
      fc
        .tuple(fc.constantFrom(...words), fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }))
        .map(([w, upper]) => [...w].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('')),
      mangled(fc.constantFrom(...words)),
      fc.constantFrom(...words).map((w) => w.replace('I', 'ı').replace('S', 'ſ').toLowerCase()),
      fc.string({ maxLength: 10 }),
    );

  it('action: matches exactly the actions the server accepts, in any letter case', () => {
    fc.assert(
      fc.property(keyword(['VIEW', 'BUY', 'VIEWS']), (text) => {
        const query = new URLSearchParams({ time_range: '2022-03-22T12:25:00_2022-03-22T12:28:00', action: text, aggregates: 'COUNT' });
        assert.equal(matches(ACTION_PATTERN, text), parseAggregatesQuery(query, 10).ok);
      }),
      { numRuns: RUNS },
    );
  });

  it('aggregates: matches exactly the aggregates the server accepts, in any letter case', () => {
    fc.assert(
      fc.property(keyword(['COUNT', 'SUM_PRICE', 'SUM']), (text) => {
        const query = new URLSearchParams({ time_range: '2022-03-22T12:25:00_2022-03-22T12:28:00', action: 'BUY', aggregates: text });
        assert.equal(matches(AGGREGATE_PATTERN, text), parseAggregatesQuery(query, 10).ok);
      }),
      { numRuns: RUNS },
    );
  });
});
