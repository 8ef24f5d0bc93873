import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Filter } from '@usertags/contracts';
import { type AggregatesQuestion, ExactSum, expectedAggregates, type Knowledge, type TagTable } from '../src/index.ts';

interface HandTag {
  readonly time: string;
  readonly action: 'VIEW' | 'BUY';
  readonly origin: string;
  readonly brand: string;
  readonly category: string;
  readonly price: number;
  readonly knowledge?: Knowledge;
}

/** A TagTable over a hand-written list (times in order): string values coded by their position in a list of values seen. */
function table(tags: HandTag[]): TagTable {
  const codes = { origin: new Map<string, number>(), brand_id: new Map<string, number>(), category_id: new Map<string, number>() };
  const code = (f: Filter, v: string) => {
    const m = codes[f];
    if (!m.has(v)) m.set(v, m.size);
    return m.get(v) as number;
  };
  const rows = tags.map((t) => ({
    ms: Date.parse(t.time),
    action: t.action === 'VIEW' ? 0 : 1,
    origin: code('origin', t.origin),
    brand: code('brand_id', t.brand),
    category: code('category_id', t.category),
    price: t.price,
    knowledge: t.knowledge ?? 'visible',
  }));
  return {
    columns: (from, to) => {
      const run = rows.filter((r) => r.ms >= from && r.ms < to);
      return [
        {
          length: run.length,
          action: run.map((r) => r.action),
          origin: run.map((r) => r.origin),
          brand: run.map((r) => r.brand),
          category: run.map((r) => r.category),
          price: run.map((r) => r.price),
          timeMs: (k: number) => (run[k] as (typeof run)[number]).ms,
          knowledge: (k: number) => (run[k] as (typeof run)[number]).knowledge,
        },
      ];
    },
    code: (f, v) => codes[f].get(v) ?? -1,
  };
}

const MIN0 = Date.parse('2022-03-01T00:00:00.000Z');
const minute = (m: number) => MIN0 + m * 60_000;

const stream: HandTag[] = [
  { time: '2022-03-01T00:00:00.000Z', action: 'VIEW', origin: 'A', brand: 'x', category: 'k', price: 100 },
  { time: '2022-03-01T00:00:10.000Z', action: 'BUY', origin: 'A', brand: 'x', category: 'k', price: 1000 },
  { time: '2022-03-01T00:00:59.999Z', action: 'VIEW', origin: 'B', brand: 'x', category: 'm', price: 50 },
  { time: '2022-03-01T00:01:00.000Z', action: 'BUY', origin: 'B', brand: 'y', category: 'k', price: 7 },
  { time: '2022-03-01T00:02:30.000Z', action: 'VIEW', origin: 'A', brand: 'y', category: 'k', price: 2_147_483_647 },
  { time: '2022-03-01T00:02:31.000Z', action: 'VIEW', origin: 'A', brand: 'x', category: 'k', price: 2_147_483_647 },
  { time: '2022-03-01T00:03:00.000Z', action: 'VIEW', origin: 'A', brand: 'x', category: 'k', price: 5 },
];

const q = (over: Partial<AggregatesQuestion>): AggregatesQuestion => ({
  fromMs: minute(0),
  toMs: minute(3),
  action: 'VIEW',
  aggregates: ['COUNT', 'SUM_PRICE'],
  filters: {},
  ...over,
});

describe('the aggregates oracle', () => {
  it('gives one row per minute, empty minutes as "0", half-open at the end', () => {
    assert.deepEqual(expectedAggregates(q({}), table(stream)), {
      determined: true,
      answer: {
        columns: ['1m_bucket', 'action', 'count', 'sum_price'],
        rows: [
          ['2022-03-01T00:00:00', 'VIEW', '2', '150'],
          ['2022-03-01T00:01:00', 'VIEW', '0', '0'],
          ['2022-03-01T00:02:00', 'VIEW', '2', '4294967294'],
        ],
      },
    });
  });

  it('puts the aggregates in the order asked', () => {
    assert.deepEqual(expectedAggregates(q({ action: 'BUY', aggregates: ['SUM_PRICE', 'COUNT'], toMs: minute(2) }), table(stream)), {
      determined: true,
      answer: {
        columns: ['1m_bucket', 'action', 'sum_price', 'count'],
        rows: [
          ['2022-03-01T00:00:00', 'BUY', '1000', '1'],
          ['2022-03-01T00:01:00', 'BUY', '7', '1'],
        ],
      },
    });
  });

  it('puts filter columns in the fixed order origin, brand_id, category_id and echoes their values', () => {
    const filters = { category_id: 'k', origin: 'A', brand_id: 'x' };
    assert.deepEqual(expectedAggregates(q({ filters, aggregates: ['COUNT'] }), table(stream)), {
      determined: true,
      answer: {
        columns: ['1m_bucket', 'action', 'origin', 'brand_id', 'category_id', 'count'],
        rows: [
          ['2022-03-01T00:00:00', 'VIEW', 'A', 'x', 'k', '1'],
          ['2022-03-01T00:01:00', 'VIEW', 'A', 'x', 'k', '0'],
          ['2022-03-01T00:02:00', 'VIEW', 'A', 'x', 'k', '1'],
        ],
      },
    });
  });

  it('filters on one dimension', () => {
    assert.deepEqual(expectedAggregates(q({ filters: { brand_id: 'y' }, aggregates: ['SUM_PRICE'] }), table(stream)), {
      determined: true,
      answer: {
        columns: ['1m_bucket', 'action', 'brand_id', 'sum_price'],
        rows: [
          ['2022-03-01T00:00:00', 'VIEW', 'y', '0'],
          ['2022-03-01T00:01:00', 'VIEW', 'y', '0'],
          ['2022-03-01T00:02:00', 'VIEW', 'y', '2147483647'],
        ],
      },
    });
  });

  it('answers zeros for a filter value no tag has', () => {
    const r = expectedAggregates(q({ fromMs: minute(0), toMs: minute(1), filters: { origin: 'nowhere' } }), table(stream));
    assert.deepEqual(r, {
      determined: true,
      answer: {
        columns: ['1m_bucket', 'action', 'origin', 'count', 'sum_price'],
        rows: [['2022-03-01T00:00:00', 'VIEW', 'nowhere', '0', '0']],
      },
    });
  });

  it('leaves out tags that were certainly not stored', () => {
    const s = stream.map((t, i) => (i === 0 ? { ...t, knowledge: 'absent' as const } : t));
    const r = expectedAggregates(q({ toMs: minute(1) }), table(s));
    assert.deepEqual(r, {
      determined: true,
      answer: { columns: ['1m_bucket', 'action', 'count', 'sum_price'], rows: [['2022-03-01T00:00:00', 'VIEW', '1', '50']] },
    });
  });

  it('is undetermined only when a tag of unknown fate matches the question', () => {
    const s = stream.map((t, i) => (i === 1 ? { ...t, knowledge: 'unknown' as const } : t));
    assert.equal(expectedAggregates(q({ action: 'BUY' }), table(s)).determined, false);
    assert.equal(expectedAggregates(q({ action: 'VIEW' }), table(s)).determined, true);
    assert.equal(expectedAggregates(q({ action: 'BUY', filters: { origin: 'B' } }), table(s)).determined, true);
  });

  it('sums negative prices and passes 32 bits', () => {
    const low = Array.from({ length: 3 }, (_, i) => ({
      time: `2022-03-01T00:00:0${i}.000Z`,
      action: 'VIEW' as const,
      origin: 'A',
      brand: 'x',
      category: 'k',
      price: -2_147_483_648,
    }));
    const r = expectedAggregates(q({ toMs: minute(1) }), table(low));
    assert.deepEqual(r, {
      determined: true,
      answer: { columns: ['1m_bucket', 'action', 'count', 'sum_price'], rows: [['2022-03-01T00:00:00', 'VIEW', '3', '-6442450944']] },
    });
  });

  it('sums past 2^53 exactly', () => {
    // 2^22 + 1 tags at the int32 maximum in one minute: (2^22 + 1) * (2^31 - 1) = 2^53 + 2^31 - 2^22 - 1.
    const n = 4_194_305;
    const zeros = new Uint8Array(n);
    const virtual: TagTable = {
      columns: () => [
        {
          length: n,
          action: zeros,
          origin: zeros,
          brand: zeros,
          category: zeros,
          price: new Int32Array(n).fill(2_147_483_647),
          timeMs: () => minute(0),
          knowledge: () => 'visible',
        },
      ],
      code: () => 0,
    };
    const r = expectedAggregates(q({ toMs: minute(1) }), virtual);
    assert.deepEqual(r, {
      determined: true,
      answer: {
        columns: ['1m_bucket', 'action', 'count', 'sum_price'],
        rows: [['2022-03-01T00:00:00', 'VIEW', '4194305', '9007201398030335']],
      },
    });
  });

  it('adds exactly with ExactSum around 2^53', () => {
    const s = new ExactSum();
    for (let i = 0; i < 5; i++) s.add(2 ** 52);
    s.add(1);
    s.add(-3);
    assert.equal(s.toString(), '22517998136852478');
  });
});
