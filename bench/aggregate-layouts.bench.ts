// bench:aggregate-layouts — what one PostgreSQL backend costs per event for candidate layouts of the
// aggregate read model, without Kafka or the projector: the same reference events are projected into
// 50,000-event batches (AggregateBatch) and upserted with one JSON parameter per batch into a scratch
// table of each layout, in one invocation. The first row is the baseline (the original layout).
// docs/aggregates.md ("Where the write time goes") reads the numbers.
//
//   ./run.sh bench:aggregate-layouts     (BENCH_EVENTS=600000)
import { aggregateFieldsOf, UserTag } from '@usertags/contracts';
import { AggregateBatch } from '@usertags/projector';
import { createTestDatabase, referenceTags } from '@usertags/testkit';
import pg from 'pg';
import { ensureStack, machineLine } from './support.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 600_000);
const BATCH = 50_000;
const TEXT = 'text COLLATE "C" NOT NULL';

interface Layout {
  readonly name: string;
  readonly groupings: readonly number[];
  readonly key: string;
  readonly bucketIndex?: boolean;
  readonly asyncCommit?: boolean;
}

const ALL = [0, 1, 2, 3, 4, 5, 6, 7];
const layouts: Layout[] = [
  {
    name: 'eight groupings, minute last in the key (original)',
    groupings: ALL,
    key: 'grouping, action, origin, brand_id, category_id, bucket',
    bucketIndex: true,
  },
  { name: 'eight groupings, minute first', groupings: ALL, key: 'bucket, grouping, action, origin, brand_id, category_id' },
  {
    name: '… plus synchronous_commit = off',
    groupings: ALL,
    key: 'bucket, grouping, action, origin, brand_id, category_id',
    asyncCommit: true,
  },
  {
    name: 'seven groupings (origin × category kept), minute first',
    groupings: [0, 1, 2, 4, 5, 6, 7],
    key: 'bucket, grouping, action, origin, brand_id, category_id',
  },
  {
    name: 'six groupings, minute first (adopted)',
    groupings: [0, 1, 2, 4, 6, 7],
    key: 'bucket, grouping, action, origin, brand_id, category_id',
  },
];

ensureStack();
console.log(`bench:aggregate-layouts on ${machineLine()}: ${EVENTS.toLocaleString('en')} reference events`);
const tags = [...referenceTags(1, Date.UTC(2022, 2, 1), EVENTS)].map((t) => UserTag.parse(t));
const batches: AggregateBatch[] = [];
for (let i = 0; i < tags.length; i += BATCH) {
  const batch = new AggregateBatch();
  for (const tag of tags.slice(i, i + BATCH)) batch.add(aggregateFieldsOf(tag));
  batches.push(batch);
}

type Increment = ReturnType<AggregateBatch['increments']>[number];
/**
 * The batch's rows for `groupings`. The projection stores six groupings; origin × brand (3) and
 * origin × category (5), which the original layout also stored, are summed here from the batch's
 * all-three rows (every event is in exactly one of those).
 */
function rowsFor(batch: AggregateBatch, groupings: readonly number[]): Increment[] {
  const stored = batch.increments();
  const rows = stored.filter((r) => groupings.includes(r.grouping));
  for (const derived of [3, 5].filter((g) => groupings.includes(g))) {
    const sums = new Map<string, Increment>();
    for (const r of stored) {
      if (r.grouping !== 7) continue;
      const row = { ...r, grouping: derived, brandId: derived === 3 ? r.brandId : '', categoryId: derived === 5 ? r.categoryId : '' };
      const key = JSON.stringify([row.bucketMs, row.action, row.origin, row.brandId, row.categoryId]);
      const seen = sums.get(key);
      if (seen === undefined) sums.set(key, row);
      else {
        seen.count += row.count;
        seen.sumPrice += row.sumPrice;
      }
    }
    rows.push(...sums.values());
  }
  return rows;
}

const results: Array<{ layout: string; rowsPerEvent: number; eventsPerSecond: number; rowsPerSecond: number }> = [];
for (const layout of layouts) {
  const database = await createTestDatabase('layouts');
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    if (layout.asyncCommit) await client.query('SET synchronous_commit = off');
    await client.query(`CREATE TABLE a (grouping smallint NOT NULL, action smallint NOT NULL, origin ${TEXT}, brand_id ${TEXT},
      category_id ${TEXT}, bucket bigint NOT NULL, count bigint NOT NULL, sum_price bigint NOT NULL, PRIMARY KEY (${layout.key}))`);
    if (layout.bucketIndex) await client.query('CREATE INDEX ON a (bucket)');
    let rows = 0;
    let writing = 0;
    for (const batch of batches) {
      const increments = rowsFor(batch, layout.groupings);
      rows += increments.length;
      const json = JSON.stringify(
        increments.map((r) => ({
          g: r.grouping,
          a: r.action === 'VIEW' ? 0 : 1,
          o: r.origin,
          b: r.brandId,
          c: r.categoryId,
          k: r.bucketMs / 60_000,
          n: r.count,
          s: r.sumPrice,
        })),
      );
      const started = performance.now();
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO a AS x (grouping, action, origin, brand_id, category_id, bucket, count, sum_price)
         SELECT g, a, o, b, c, k, n, s FROM json_to_recordset($1::json)
           AS r(g smallint, a smallint, o text, b text, c text, k bigint, n bigint, s bigint)
         ON CONFLICT (${layout.key}) DO UPDATE SET count = x.count + excluded.count, sum_price = x.sum_price + excluded.sum_price`,
        [json],
      );
      await client.query('COMMIT');
      writing += performance.now() - started;
    }
    const seconds = writing / 1000;
    const result = { layout: layout.name, rowsPerEvent: rows / EVENTS, eventsPerSecond: EVENTS / seconds, rowsPerSecond: rows / seconds };
    results.push(result);
    console.log(
      `${layout.name}: ${result.rowsPerEvent.toFixed(2)} rows/event, ${Math.round(result.eventsPerSecond).toLocaleString('en')} events/s, ${Math.round(result.rowsPerSecond).toLocaleString('en')} rows/s`,
    );
  } finally {
    await client.end();
    await database.drop().catch(() => {});
  }
}

const base = results[0]?.eventsPerSecond ?? 1;
console.log('\n| layout | rows/event | events/s (database time only) | vs the original |\n|---|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.layout} | ${r.rowsPerEvent.toFixed(2)} | ${Math.round(r.eventsPerSecond).toLocaleString('en')} | ${(r.eventsPerSecond / base).toFixed(2)}× |`,
  );
}
process.exit(0);
