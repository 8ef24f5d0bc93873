import { ContractError } from '@usertags/contracts';
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';
import type { AggregateStore, BucketQuery, BucketTotals, PartitionProgress } from './aggregate-store.ts';
import { OffsetConflict } from './aggregate-store.ts';
import { type AggregateIncrement, groupingOf } from './projection.ts';

/**
 * The aggregate read model in PostgreSQL. This module owns the layout: the
 * projector writes through it and the query API reads through it.
 *
 * aggregate_minutes: one row per (minute, grouping, action, origin, brand_id,
 * category_id); columns outside the grouping hold ''. The primary key leads
 * with the minute, so a batch's inserts land in the index's newest pages and
 * retention deletes a key range. A query probes the key once per minute of
 * its range (`bucket IN (...)` with the other key columns fixed) and sums the
 * rows found: one for a stored grouping, a bounded few when origin+brand or
 * origin+category are read from the all-three rows (see projection.ts).
 * Minutes are epoch minutes (bigint), counts and sums bigint.
 */
interface Database {
  aggregate_minutes: {
    grouping: number;
    action: number;
    origin: string;
    brand_id: string;
    category_id: string;
    bucket: string;
    count: string;
    sum_price: string;
  };
  projection_offsets: { projection: string; topic: string; partition: number; next_offset: string };
  projection_state: { projection: string; newest_event_ms: string | null; horizon_ms: string | null; updated_at: Generated<Date> };
}

const PROJECTION = 'aggregates';
const ACTION_CODE = { VIEW: 0, BUY: 1 } as const;
const MS_PER_MINUTE = 60_000;

const migrations: Record<string, Migration> = {
  '0001_aggregate_minutes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('aggregate_minutes')
        .addColumn('grouping', 'smallint', (c) => c.notNull())
        .addColumn('action', 'smallint', (c) => c.notNull())
        // Byte-order collation: keys are compared for equality only, and "C" compares with memcmp
        // instead of the locale's strcoll, which was most of the database's CPU per upserted row.
        .addColumn('origin', sql`text COLLATE "C"`, (c) => c.notNull())
        .addColumn('brand_id', sql`text COLLATE "C"`, (c) => c.notNull())
        .addColumn('category_id', sql`text COLLATE "C"`, (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('sum_price', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('aggregate_minutes_pk', ['grouping', 'action', 'origin', 'brand_id', 'category_id', 'bucket'])
        .execute();
      // Retention deletes whole minutes. (Measured: dropping this index did not speed up inserts.)
      await db.schema.createIndex('aggregate_minutes_bucket').on('aggregate_minutes').column('bucket').execute();
      await db.schema
        .createTable('projection_offsets')
        .addColumn('projection', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('next_offset', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('projection_offsets_pk', ['projection', 'topic', 'partition'])
        .execute();
      await db.schema
        .createTable('projection_state')
        .addColumn('projection', 'text', (c) => c.primaryKey())
        .addColumn('newest_event_ms', 'bigint')
        .addColumn('horizon_ms', 'bigint')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  // Minute-first key, six stored groupings instead of eight (docs/aggregates.md). The rows cannot be
  // converted in place, so the read model is rebuilt from the log: the table is recreated empty and the
  // projection's offsets are forgotten, and the projector reads its topic again from the beginning.
  '0002_minute_first_key': {
    async up(db: Kysely<unknown>) {
      await db.schema.dropTable('aggregate_minutes').execute();
      await db.schema
        .createTable('aggregate_minutes')
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('grouping', 'smallint', (c) => c.notNull())
        .addColumn('action', 'smallint', (c) => c.notNull())
        .addColumn('origin', sql`text COLLATE "C"`, (c) => c.notNull())
        .addColumn('brand_id', sql`text COLLATE "C"`, (c) => c.notNull())
        .addColumn('category_id', sql`text COLLATE "C"`, (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('sum_price', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('aggregate_minutes_pk', ['bucket', 'grouping', 'action', 'origin', 'brand_id', 'category_id'])
        .execute();
      await sql`DELETE FROM projection_offsets WHERE projection = ${PROJECTION}`.execute(db);
      await sql`DELETE FROM projection_state WHERE projection = ${PROJECTION}`.execute(db);
    },
  },
};

/**
 * PostgreSQL text cannot hold U+0000, which JSON strings may. Stored text is
 * escaped injectively (`\` → `\\`, NUL → `\0`), for writes and for query
 * filters alike.
 */
export function toStoredText(value: string): string {
  return value.includes('\\') || value.includes('\u0000') ? value.replaceAll('\\', '\\\\').replaceAll('\u0000', '\\0') : value;
}

function sortByKey(increments: readonly AggregateIncrement[]): AggregateIncrement[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...increments].sort(
    (x, y) =>
      x.bucketMs - y.bucketMs ||
      x.grouping - y.grouping ||
      cmp(x.action, y.action) ||
      cmp(x.origin, y.origin) ||
      cmp(x.brandId, y.brandId) ||
      cmp(x.categoryId, y.categoryId),
  );
}

export interface PostgresAggregateStoreConfig {
  readonly connectionString: string;
  /** Connections in the pool. */
  readonly poolSize?: number;
}

function unavailable(error: unknown): ContractError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ContractError('STORE_UNAVAILABLE', `the aggregate store is unavailable (${reason})`, { cause: error });
}

export function createPostgresAggregateStore(config: PostgresAggregateStoreConfig): AggregateStore {
  const pool = new pg.Pool({ connectionString: config.connectionString, max: config.poolSize ?? 4 });
  // An idle client that errors (e.g. the server restarts) must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

  return {
    async migrate() {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      const { error } = await migrator.migrateToLatest();
      if (error !== undefined) throw error;
    },

    async loadOffsets(topic) {
      const rows = await db
        .selectFrom('projection_offsets')
        .select(['partition', 'next_offset'])
        .where('projection', '=', PROJECTION)
        .where('topic', '=', topic)
        .execute();
      return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
    },

    async apply(topic, increments: readonly AggregateIncrement[], progress: readonly PartitionProgress[], newestEventMs) {
      await db.transaction().execute(async (trx) => {
        for (const p of progress) {
          const updated = await sql<{ partition: number }>`
            INSERT INTO projection_offsets AS o (projection, topic, partition, next_offset)
            VALUES (${PROJECTION}, ${topic}, ${p.partition}, ${p.nextOffset.toString()})
            ON CONFLICT (projection, topic, partition)
            DO UPDATE SET next_offset = excluded.next_offset WHERE o.next_offset = ${p.expected.toString()}
            RETURNING partition`.execute(trx);
          if (updated.rows.length !== 1) throw new OffsetConflict(p.partition);
        }
        if (increments.length > 0) {
          // One JSON parameter, parsed once per row by json_to_recordset. Rows arrive sorted by key, so
          // every writer locks rows in the same order and two projector instances cannot deadlock.
          const rows = JSON.stringify(
            sortByKey(increments).map((i) => ({
              g: i.grouping,
              a: ACTION_CODE[i.action],
              o: toStoredText(i.origin),
              b: toStoredText(i.brandId),
              c: toStoredText(i.categoryId),
              k: i.bucketMs / MS_PER_MINUTE,
              n: i.count,
              s: i.sumPrice,
            })),
          );
          await sql`
            INSERT INTO aggregate_minutes AS a (bucket, grouping, action, origin, brand_id, category_id, count, sum_price)
            SELECT k, g, a, o, b, c, n, s FROM json_to_recordset(${rows}::json)
              AS r(g smallint, a smallint, o text, b text, c text, k bigint, n bigint, s bigint)
            ON CONFLICT (bucket, grouping, action, origin, brand_id, category_id)
            DO UPDATE SET count = a.count + excluded.count, sum_price = a.sum_price + excluded.sum_price`.execute(trx);
        }
        await sql`
          INSERT INTO projection_state AS s (projection, newest_event_ms) VALUES (${PROJECTION}, ${String(newestEventMs)})
          ON CONFLICT (projection) DO UPDATE
          SET newest_event_ms = greatest(s.newest_event_ms, excluded.newest_event_ms), updated_at = now()`.execute(trx);
      });
    },

    async readBuckets(q: BucketQuery): Promise<BucketTotals[]> {
      const first = Math.floor(q.fromMs / MS_PER_MINUTE);
      const end = Math.ceil(q.toMs / MS_PER_MINUTE);
      if (end <= first) return [];
      const minutes = Array.from({ length: end - first }, (_, i) => String(first + i));
      const { origin, brand_id: brandId, category_id: categoryId } = q.filters;
      try {
        let query = db
          .selectFrom('aggregate_minutes')
          .select(['bucket', sql<string>`sum(count)`.as('count'), sql<string>`sum(sum_price)`.as('sum_price')])
          // One index probe per minute: the key leads with the minute, then the fixed columns.
          .where(sql<boolean>`bucket = ANY(${minutes}::bigint[])`)
          .where('grouping', '=', groupingOf(q.filters))
          .where('action', '=', ACTION_CODE[q.action]);
        if (origin !== undefined) query = query.where('origin', '=', toStoredText(origin));
        if (brandId !== undefined) query = query.where('brand_id', '=', toStoredText(brandId));
        if (categoryId !== undefined) query = query.where('category_id', '=', toStoredText(categoryId));
        const rows = await query.groupBy('bucket').orderBy('bucket').execute();
        return rows.map((r) => ({ bucketMs: Number(r.bucket) * MS_PER_MINUTE, count: r.count, sumPrice: r.sum_price }));
      } catch (error) {
        throw unavailable(error);
      }
    },

    async readWatermarks() {
      try {
        const row = await db
          .selectFrom('projection_state')
          .select(['newest_event_ms', 'horizon_ms'])
          .where('projection', '=', PROJECTION)
          .executeTakeFirst();
        const num = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Number(v));
        return { newestEventMs: num(row?.newest_event_ms), horizonMs: num(row?.horizon_ms) };
      } catch (error) {
        throw unavailable(error);
      }
    },

    async dropBefore(horizonMs) {
      const bucket = String(Math.floor(horizonMs / MS_PER_MINUTE));
      // The horizon is recorded first, so a query never reads a half-deleted minute as complete.
      await sql`
        INSERT INTO projection_state AS s (projection, horizon_ms) VALUES (${PROJECTION}, ${String(horizonMs)})
        ON CONFLICT (projection) DO UPDATE SET horizon_ms = greatest(s.horizon_ms, excluded.horizon_ms), updated_at = now()`.execute(db);
      const result = await db.deleteFrom('aggregate_minutes').where('bucket', '<', bucket).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async checkReady() {
      try {
        await sql`SELECT 1`.execute(db);
      } catch (error) {
        throw unavailable(error);
      }
    },

    async close() {
      await db.destroy();
    },
  };
}
