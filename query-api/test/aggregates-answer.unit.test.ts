import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstDifference, parseAggregatesQuery } from '@usertags/contracts';
import { type AggregateReader, answerAggregates } from '../src/core/aggregates.ts';

const T0 = Date.UTC(2022, 3, 1, 0, 0);
function reader(horizonMs: number | undefined): AggregateReader {
  return {
    readBuckets: async () => [{ bucketMs: T0 + 60_000, count: '3', sumPrice: '9000000000' }],
    readWatermarks: async () => ({ horizonMs }),
  };
}
const query = (qs: string) => {
  const r = parseAggregatesQuery(new URLSearchParams(qs), 1440);
  assert.ok(r.ok);
  return r.value;
};

describe('the aggregates answer', () => {
  it('has a row for every minute, "0" where nothing is stored, and strings everywhere', async () => {
    const answer = await answerAggregates(
      query('time_range=2022-04-01T00:00:00_2022-04-01T00:03:00&action=buy&aggregates=SUM_PRICE&aggregates=count&category_id=c_1'),
      reader(undefined),
    );
    assert.deepEqual(answer, {
      columns: ['1m_bucket', 'action', 'category_id', 'sum_price', 'count'],
      rows: [
        ['2022-04-01T00:00:00', 'BUY', 'c_1', '0', '0'],
        ['2022-04-01T00:01:00', 'BUY', 'c_1', '9000000000', '3'],
        ['2022-04-01T00:02:00', 'BUY', 'c_1', '0', '0'],
      ],
    });
  });

  it('refuses a range that starts before the retention horizon instead of answering zeros', async () => {
    await assert.rejects(
      answerAggregates(query('time_range=2022-04-01T00:00:00_2022-04-01T00:03:00&action=BUY&aggregates=COUNT'), reader(T0 + 60_000)),
      {
        code: 'INVALID_REQUEST',
      },
    );
    await answerAggregates(query('time_range=2022-04-01T00:01:00_2022-04-01T00:03:00&action=BUY&aggregates=COUNT'), reader(T0 + 60_000));
  });
});

describe('the debug-mode comparison', () => {
  it('finds nothing between equal answers', () => {
    assert.equal(firstDifference({ columns: ['a'], rows: [['1']] }, { columns: ['a'], rows: [['1']] }), undefined);
  });
  it('names the first differing cell', () => {
    assert.equal(
      firstDifference(
        {
          rows: [
            ['a', '1'],
            ['b', '2'],
          ],
        },
        {
          rows: [
            ['a', '1'],
            ['b', '3'],
          ],
        },
      ),
      'rows[1][1]: expected "2", got "3"',
    );
  });
  it('names missing and extra items and fields', () => {
    assert.equal(firstDifference({ rows: [['a'], ['b']] }, { rows: [['a']] }), 'rows: expected 2 items, got 1');
    assert.equal(firstDifference({ cookie: 'c', views: [] }, { cookie: 'c' }), 'views: missing in the answer');
    assert.equal(firstDifference({ cookie: 'c' }, { cookie: 'c', buys: [] }), 'buys: not in the expected answer');
  });
  it('describes an expected answer nested too deeply to write out instead of failing', () => {
    const deep = JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`) as unknown;
    assert.equal(
      firstDifference(deep, { cookie: 'c', views: [], buys: [] }),
      '(answer): expected [...], got {"cookie":"c","views":[],"buys":[]}',
    );
  });

  it('tells a number from a string', () => {
    assert.equal(firstDifference({ n: '1' }, { n: 1 }), 'n: expected "1", got 1');
  });
});
