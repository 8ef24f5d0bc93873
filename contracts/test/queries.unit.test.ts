import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  aggregatesColumns,
  decodeQuery,
  MAX_TEXT_CODE_POINTS,
  parseAggregatesQuery,
  parseProfileQuery,
  parseTimeRange,
} from '../src/index.ts';

const ms = (iso: string) => Date.parse(`${iso}Z`);
const q = (s: string) => new URLSearchParams(s);

describe('time ranges', () => {
  it('parses millisecond ranges as half-open [from, to)', () => {
    assert.deepEqual(parseTimeRange('2022-03-22T12:15:00.000_2022-03-22T12:30:00.000'), {
      fromMs: ms('2022-03-22T12:15:00.000'),
      toMs: ms('2022-03-22T12:30:00.000'),
    });
  });

  it('accepts second precision on one end and milliseconds on the other', () => {
    assert.deepEqual(parseTimeRange('2022-03-22T12:15:00_2022-03-22T12:15:00.001'), {
      fromMs: ms('2022-03-22T12:15:00.000'),
      toMs: ms('2022-03-22T12:15:00.001'),
    });
  });

  for (const bad of [
    '2022-03-22T12:15:00.000',
    '2022-03-22T12:15:00.000_',
    '2022-03-22T12:15:00.000_2022-03-22T12:15:00.000',
    '2022-03-22T12:30:00_2022-03-22T12:15:00',
    '2022-03-22T12:15:00_2022-03-22T12:30:00_2022-03-22T12:45:00',
    '2022-02-30T12:15:00_2022-03-22T12:30:00',
    '2022-03-22T12:15:00+01:00_2022-03-22T12:30:00',
    'yesterday_today',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseTimeRange(bad), { code: 'INVALID_REQUEST' });
    });
  }
});

describe('profile query parameters', () => {
  const range = 'time_range=2022-03-22T12:15:00.000_2022-03-22T12:30:00.000';

  it('serves a limit of any length past 200 as 200, and reads leading zeros as decimal', () => {
    const huge = parseProfileQuery('c', q(`${range}&limit=99999999999999999999`));
    const padded = parseProfileQuery('c', q(`${range}&limit=0005`));
    assert.ok(huge.ok && padded.ok);
    assert.equal(huge.value.limit, 200);
    assert.equal(padded.value.limit, 5);
  });

  it('defaults limit to 200 and caps larger values at 200', () => {
    const a = parseProfileQuery('c', q(range));
    const b = parseProfileQuery('c', q(`${range}&limit=5000`));
    assert.ok(a.ok && b.ok);
    assert.equal(a.value.limit, 200);
    assert.equal(b.value.limit, 200);
  });

  for (const limit of ['0', '-1', '1.5', 'ten', '', '1e3']) {
    it(`rejects limit=${limit}`, () => {
      const r = parseProfileQuery('c', q(`${range}&limit=${limit}`));
      assert.ok(!r.ok);
      assert.deepEqual(
        r.error.issues.map((i) => i.field),
        ['limit'],
      );
    });
  }

  it('requires time_range and names it', () => {
    const r = parseProfileQuery('c', q('limit=3'));
    assert.ok(!r.ok);
    assert.equal(r.error.issues[0]?.field, 'time_range');
  });
});

describe('aggregates query parameters', () => {
  const base = 'time_range=2022-03-22T12:25:00_2022-03-22T12:28:00&action=BUY';

  it('accepts the action in any letter case', () => {
    const r = parseAggregatesQuery(q('time_range=2022-03-22T12:25:00_2022-03-22T12:28:00&action=vIeW&aggregates=count'), 10);
    assert.ok(r.ok);
    assert.equal(r.value.action, 'VIEW');
  });

  it('accepts aggregates in any letter case, keeps their order, and echoes filters', () => {
    const r = parseAggregatesQuery(q(`${base}&aggregates=sum_price&aggregates=Count&brand_id=a_b&origin=x`), 10);
    assert.ok(r.ok);
    assert.deepEqual(r.value.aggregates, ['SUM_PRICE', 'COUNT']);
    assert.deepEqual(r.value.filters, { origin: 'x', brand_id: 'a_b' });
    assert.deepEqual(aggregatesColumns(r.value), ['1m_bucket', 'action', 'origin', 'brand_id', 'sum_price', 'count']);
  });

  const invalid: Array<[string, string, string[]]> = [
    ['no aggregates', base, ['aggregates']],
    ['an unknown aggregate', `${base}&aggregates=AVG`, ['aggregates']],
    ['no action', 'time_range=2022-03-22T12:25:00_2022-03-22T12:28:00&aggregates=COUNT', ['action']],
    ['an unknown action', 'time_range=2022-03-22T12:25:00_2022-03-22T12:28:00&action=CLICK&aggregates=COUNT', ['action']],
    ['a range not on whole minutes', 'time_range=2022-03-22T12:25:30_2022-03-22T12:28:00&action=BUY&aggregates=COUNT', ['time_range']],
    ['a range longer than served', 'time_range=2022-03-22T12:00:00_2022-03-22T12:11:00&action=BUY&aggregates=COUNT', ['time_range']],
    ['a repeated filter', `${base}&aggregates=COUNT&origin=a&origin=b`, ['origin']],
    // Letter case is ASCII's: JavaScript's toUpperCase would read the dotless ı as I and the long ſ as S.
    ['an aggregate with a dotless i', `${base}&aggregates=sum_pr\u0131ce`, ['aggregates']],
    ['an aggregate with a long s', `${base}&aggregates=\u017Fum_price`, ['aggregates']],
    ['an action with a dotless i', 'time_range=2022-03-22T12:25:00_2022-03-22T12:28:00&action=v\u0131ew&aggregates=COUNT', ['action']],
  ];
  for (const [what, query, fields] of invalid) {
    it(`rejects ${what}, naming ${fields.join(', ')}`, () => {
      const r = parseAggregatesQuery(q(query), 10);
      assert.ok(!r.ok);
      assert.deepEqual([...new Set(r.error.issues.map((i) => i.field))], fields);
    });
  }
});

/** The bytes a raw query string stands for: each %XX escape as its byte, everything else as its UTF-8. */
function bytesOf(query: string): Buffer {
  const raw = Buffer.from(query, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === 0x25 && i + 2 < raw.length ? raw.toString('latin1', i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else out.push(raw[i] as number);
  }
  return Buffer.from(out);
}

describe('raw query strings', () => {
  it('decode as URLSearchParams does whenever the bytes are UTF-8', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 6 }).map((text) => encodeURIComponent(text)),
      fc.constantFrom('%', '%4', '%zz', '+', '=', '&', '%2B', '%26', '%3D', 'a', '%EF%BB%BF', '%c3%a9'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const query = pieces.join('');
        // Pieces can join into an escape of their own ('%' then 'A0'): bytes that are not UTF-8 are another property's.
        fc.pre(isUtf8(bytesOf(query)));
        const decoded = decodeQuery(query);
        assert.deepEqual(decoded.issues, []);
        assert.deepEqual([...decoded.params], [...new URLSearchParams(query)]);
      }),
    );
  });

  const range = 'time_range=2022-03-22T12:25:00_2022-03-22T12:28:00';
  const invalid: Array<[string, string, string[]]> = [
    ['a byte FF in origin', `${range}&action=BUY&aggregates=COUNT&origin=%FF`, ['origin']],
    ['an encoded lone surrogate in brand_id', `${range}&action=BUY&aggregates=COUNT&brand_id=%ED%A0%80`, ['brand_id']],
    ['an overlong "/" in time_range, named once', `time_range=%C0%AF&action=BUY&aggregates=COUNT`, ['time_range']],
    ['a truncated sequence in one of the aggregates', `${range}&action=BUY&aggregates=COUNT&aggregates=%E2%82`, ['aggregates']],
    ['a name that is not UTF-8', `${range}&action=BUY&aggregates=COUNT&%FF=1`, ['%FF']],
    [
      `an origin of ${MAX_TEXT_CODE_POINTS + 1} characters`,
      `${range}&action=BUY&aggregates=COUNT&origin=${'%F0%9F%98%80'.repeat(257)}`,
      ['origin'],
    ],
    [
      `a category_id of ${MAX_TEXT_CODE_POINTS + 1} characters`,
      `${range}&action=BUY&aggregates=COUNT&category_id=${'c'.repeat(257)}`,
      ['category_id'],
    ],
  ];
  for (const [what, query, fields] of invalid) {
    it(`refuse ${what}, naming ${fields.join(', ')}`, () => {
      const r = parseAggregatesQuery(query, 10);
      assert.ok(!r.ok);
      assert.deepEqual(
        r.error.issues.map((i) => i.field),
        fields,
      );
    });
  }

  it(`accept filters of ${MAX_TEXT_CODE_POINTS} characters and a cookie of as many, and refuse one more in the cookie`, () => {
    const emoji = '😀'.repeat(MAX_TEXT_CODE_POINTS);
    const r = parseAggregatesQuery(
      `${range}&action=BUY&aggregates=COUNT&origin=${encodeURIComponent(emoji)}&brand_id=${'b'.repeat(256)}`,
      10,
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.filters, { origin: emoji, brand_id: 'b'.repeat(256) });
    assert.ok(parseProfileQuery(emoji, `time_range=2022-03-22T12:25:00_2022-03-22T12:28:00`).ok);
    const over = parseProfileQuery(`${emoji}x`, `time_range=2022-03-22T12:25:00_2022-03-22T12:28:00`);
    assert.ok(!over.ok);
    assert.deepEqual(
      over.error.issues.map((i) => i.field),
      ['cookie'],
    );
  });
});
