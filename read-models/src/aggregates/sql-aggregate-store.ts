import { ContractError, errorMessage } from '@usertags/contracts';
import { type Generated, type Kysely, type RawBuilder, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import { type AggregateIncrement, groupingOf } from './aggregate-rows.ts';
import type { AggregateStore, BucketQuery, BucketTotals, PartitionProgress, PreparedIncrements } from './aggregate-store.ts';
import { OffsetConflict } from './aggregate-store.ts';

/**
 * The aggregate read model in SQL, through Kysely: everything the PostgreSQL
 * and the embedded SQLite adapters share. This module owns the layout: the
 * projector writes through it and the query API reads through it. Each
 * adapter supplies only what its dialect spells differently — the migrations
 * (column types) and the one statement that upserts a batch's rows.
 *
 * aggregate_minutes: one row per (minute, grouping, action, origin, brand_id,
 * category_id); columns outside the grouping hold ''. The primary key leads
 * with the minute, so a batch's inserts land in the index's newest pages and
 * retention deletes a key range. A query probes the key once per minute of
 * its range (`bucket IN (...)` with the other key columns fixed) and sums the
 * rows found: one for a stored grouping, a bounded few when origin+brand or
 * origin+category are read from the all-three rows (see projection.ts).
 * Minutes are epoch minutes, counts and sums 64-bit integers, read back as
 * decimal strings so nothing rounds through a JavaScript number.
 */
export interface AggregateTables {
  read_model_versions: { projection: string; live: number };
  aggregate_minutes: {
    bucket: number;
    grouping: number;
    action: number;
    origin: string;
    brand_id: string;
    category_id: string;
    count: string;
    sum_price: string;
  };
  projection_offsets: {
    projection: string;
    topic: string;
    partition: number;
    next_offset: string | number;
    watermark_ms: string | number | null;
  };
  projection_logs: { projection: string; topic: string; log_id: string };
  projection_state: {
    projection: string;
    newest_event_ms: string | number | null;
    horizon_ms: string | number | null;
    updated_at: Generated<unknown>;
  };
}

/** One row of a batch as the upsert statement receives it, in a single JSON parameter. */
export interface UpsertRow {
  k: number;
  g: number;
  a: number;
  o: string;
  b: string;
  c: string;
  n: number;
  s: number;
}

export interface SqlDialectParts {
  readonly db: Kysely<AggregateTables>;
  readonly migrations: Record<string, Migration>;
  /** Creates an empty minute table named `table` with the current layout. */
  createMinuteTable(db: Kysely<AggregateTables>, table: string): Promise<void>;
  /** `SELECT k, g, a, o, b, c, n, s FROM …`: the rows of a JSON array of `UpsertRow`, in this dialect. */
  rowsOf(rowsJson: string): RawBuilder<unknown>;
  /** Reads the live version inside a writing transaction so that a switch waits for it (PostgreSQL: FOR SHARE). */
  readonly lockSuffix: string;
}

/**
 * Versions of the read model. Version 1 is the table the migrations create
 * (`aggregate_minutes`, offsets under the projection name `aggregates`); a
 * replay builds version n ≥ 2 in `aggregate_minutes_v<n>` with offsets under
 * `aggregates_v<n>`, and `read_model_versions` says which one is live.
 */
export function versionNames(version: number): { table: string; projection: string } {
  return version === 1
    ? { table: 'aggregate_minutes', projection: PROJECTION }
    : { table: `aggregate_minutes_v${version}`, projection: `${PROJECTION}_v${version}` };
}

/** Which version a store reads and writes: the live one (followed as it changes), or a fixed one (a replay). */
export type VersionChoice = 'live' | number;

/** How long a reader keeps using the live version it last looked up. */
export const LIVE_VERSION_CACHE_MS = 1000;

export const PROJECTION = 'aggregates';
const ACTION_CODE = { VIEW: 0, BUY: 1 } as const;
const MS_PER_MINUTE = 60_000;

/**
 * Some SQL text types cannot hold U+0000, which JSON strings may. Stored text
 * is escaped injectively (`\` → `\\`, NUL → `\0`), for writes and for query
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

/**
 * The rows of a write: sorted by key, so every writer locks rows in the same order and two cannot
 * deadlock, and encoded as the one JSON parameter the upsert reads.
 */
function prepareRows(increments: readonly AggregateIncrement[]): PreparedIncrements {
  const rows: UpsertRow[] = sortByKey(increments).map((i) => ({
    k: i.bucketMs / MS_PER_MINUTE,
    g: i.grouping,
    a: ACTION_CODE[i.action],
    o: toStoredText(i.origin),
    b: toStoredText(i.brandId),
    c: toStoredText(i.categoryId),
    n: i.count,
    s: i.sumPrice,
  }));
  return { prepared: true, rows: rows.length, payload: JSON.stringify(rows) };
}

function unavailable(error: unknown): ContractError {
  const reason = errorMessage(error);
  return new ContractError('STORE_UNAVAILABLE', `the aggregate store is unavailable (${reason})`, { cause: error });
}

/** `greatest(a, b)` that treats NULL as absent, in SQL both dialects read the same way. */
const later = (column: 'newest_event_ms' | 'horizon_ms') =>
  sql.raw(`CASE WHEN s.${column} IS NULL OR excluded.${column} > s.${column} THEN excluded.${column} ELSE s.${column} END`);

async function readOffsets(db: Kysely<AggregateTables>, version: number, topic: string): Promise<Map<number, bigint>> {
  const rows = await db
    .selectFrom('projection_offsets')
    .select(['partition', 'next_offset'])
    .where('projection', '=', versionNames(version).projection)
    .where('topic', '=', topic)
    .execute();
  return new Map(rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]));
}

async function liveVersion(db: Kysely<AggregateTables>, lockSuffix = ''): Promise<number> {
  const result = await sql<{ live: number }>`
    SELECT live FROM read_model_versions WHERE projection = ${PROJECTION}${sql.raw(lockSuffix)}`.execute(db);
  return Number(result.rows[0]?.live ?? 1);
}

export function createSqlAggregateStore(parts: SqlDialectParts, choice: VersionChoice = 'live'): AggregateStore {
  const { db } = parts;
  let cached: { version: number; at: number } | undefined;
  /** The version writes go to: fixed, or the live one as it is now (locked in `on`'s transaction with `lockSuffix`). */
  const writeVersion = async (on: Kysely<AggregateTables> = db, lockSuffix = ''): Promise<number> =>
    choice === 'live' ? liveVersion(on, lockSuffix) : choice;
  /** The version reads go to: fixed, or the live one looked up at most once a second. */
  async function readVersion(): Promise<number> {
    if (choice !== 'live') return choice;
    if (cached === undefined || performance.now() - cached.at > LIVE_VERSION_CACHE_MS) {
      cached = { version: await liveVersion(db), at: performance.now() };
    }
    return cached.version;
  }
  return {
    async migrate() {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => parts.migrations } });
      const { error } = await migrator.migrateToLatest();
      if (error !== undefined) throw error;
    },

    async loadOffsets(topic) {
      return readOffsets(db, await writeVersion(), topic);
    },

    async loadWatermarks(topic) {
      const { projection } = versionNames(await writeVersion());
      const rows = await db
        .selectFrom('projection_offsets')
        .select(['partition', 'watermark_ms'])
        .where('projection', '=', projection)
        .where('topic', '=', topic)
        .where('watermark_ms', 'is not', null)
        .execute();
      return new Map(rows.map((r) => [Number(r.partition), Number(r.watermark_ms)]));
    },

    async logBinding(topic) {
      const { projection } = versionNames(await writeVersion());
      const row = await db
        .selectFrom('projection_logs')
        .select('log_id')
        .where('projection', '=', projection)
        .where('topic', '=', topic)
        .executeTakeFirst();
      return row?.log_id;
    },

    async bindLog(topic, identity) {
      return db.transaction().execute(async (trx) => {
        const { projection } = versionNames(await writeVersion(trx, parts.lockSuffix));
        await sql`INSERT INTO projection_logs (projection, topic, log_id) VALUES (${projection}, ${topic}, ${identity})
          ON CONFLICT (projection, topic) DO NOTHING`.execute(trx);
        const row = await trx
          .selectFrom('projection_logs')
          .select('log_id')
          .where('projection', '=', projection)
          .where('topic', '=', topic)
          .executeTakeFirstOrThrow();
        return row.log_id;
      });
    },

    prepare: prepareRows,

    async apply(topic, increments, progress: readonly PartitionProgress[], newestEventMs) {
      const prepared = 'prepared' in increments ? increments : prepareRows(increments);
      await db.transaction().execute(async (trx) => {
        // The live version is read in the transaction: a replay's switch either waits for this write or
        // comes first, and then these offsets do not match the new version's and the write is refused.
        const { table, projection } = versionNames(await writeVersion(trx, parts.lockSuffix));
        for (const p of progress) {
          const watermark = p.watermarkMs === undefined ? null : String(p.watermarkMs);
          const updated = await sql<{ partition: number }>`
            INSERT INTO projection_offsets AS o (projection, topic, partition, next_offset, watermark_ms)
            VALUES (${projection}, ${topic}, ${p.partition}, ${p.nextOffset.toString()}, ${watermark})
            ON CONFLICT (projection, topic, partition)
            DO UPDATE SET next_offset = excluded.next_offset,
              watermark_ms = CASE WHEN o.watermark_ms IS NULL OR excluded.watermark_ms > o.watermark_ms
                THEN excluded.watermark_ms ELSE o.watermark_ms END
            WHERE o.next_offset = ${p.expected.toString()}
            RETURNING partition`.execute(trx);
          if (updated.rows.length !== 1) throw new OffsetConflict(p.partition);
        }
        if (prepared.rows > 0) {
          // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.
          await sql`
            INSERT INTO ${sql.table(table)} AS a (bucket, grouping, action, origin, brand_id, category_id, count, sum_price)
            SELECT * FROM (${parts.rowsOf(prepared.payload)}) AS r WHERE true
            ON CONFLICT (bucket, grouping, action, origin, brand_id, category_id)
            DO UPDATE SET count = a.count + excluded.count, sum_price = a.sum_price + excluded.sum_price`.execute(trx);
        }
        await sql`
          INSERT INTO projection_state AS s (projection, newest_event_ms) VALUES (${projection}, ${String(newestEventMs)})
          ON CONFLICT (projection) DO UPDATE
          SET newest_event_ms = ${later('newest_event_ms')}, updated_at = CURRENT_TIMESTAMP`.execute(trx);
      });
    },

    async readBuckets(q: BucketQuery): Promise<BucketTotals[]> {
      const first = Math.floor(q.fromMs / MS_PER_MINUTE);
      const end = Math.ceil(q.toMs / MS_PER_MINUTE);
      if (end <= first) return [];
      const minutes = Array.from({ length: end - first }, (_, i) => first + i);
      const { origin, brand_id: brandId, category_id: categoryId } = q.filters;
      try {
        const { table } = versionNames(await readVersion());
        let query = db
          .selectFrom(table as 'aggregate_minutes')
          .select(['bucket', sql<string>`CAST(sum(count) AS TEXT)`.as('count'), sql<string>`CAST(sum(sum_price) AS TEXT)`.as('sum_price')])
          // One index probe per minute: the key leads with the minute, then the fixed columns.
          .where('bucket', 'in', minutes)
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
        const { projection } = versionNames(await readVersion());
        const row = await db
          .selectFrom('projection_state')
          .select(['newest_event_ms', 'horizon_ms'])
          .where('projection', '=', projection)
          .executeTakeFirst();
        const num = (v: string | number | null | undefined) => (v === null || v === undefined ? undefined : Number(v));
        return { newestEventMs: num(row?.newest_event_ms), horizonMs: num(row?.horizon_ms) };
      } catch (error) {
        throw unavailable(error);
      }
    },

    async dropBefore(horizonMs) {
      const bucket = Math.floor(horizonMs / MS_PER_MINUTE);
      const { table, projection } = versionNames(await writeVersion());
      // The horizon is recorded first, so a query never reads a half-deleted minute as complete.
      await sql`
        INSERT INTO projection_state AS s (projection, horizon_ms) VALUES (${projection}, ${String(horizonMs)})
        ON CONFLICT (projection) DO UPDATE SET horizon_ms = ${later('horizon_ms')}, updated_at = CURRENT_TIMESTAMP`.execute(db);
      const result = await db
        .deleteFrom(table as 'aggregate_minutes')
        .where('bucket', '<', bucket)
        .executeTakeFirst();
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

/** What `projector replay aggregates` needs of the store: build a version beside the live one, switch, drop. */
export interface AggregateVersions {
  live(): Promise<number>;
  /** Creates an empty version (dropping any remains of an abandoned one with that number). */
  prepare(version: number): Promise<void>;
  /**
   * Makes `version` live if its offsets have reached the live version's on every partition of
   * `topic`; returns false (and changes nothing) otherwise. With `replacingForeign`, the live version
   * was built from another log (its offsets mean nothing here) and the switch is unconditional.
   */
  switchTo(version: number, topic: string, options?: { replacingForeign?: boolean }): Promise<boolean>;
  /** Deletes a version that is not live: its table, offsets and state. */
  drop(version: number): Promise<void>;
  close(): Promise<void>;
}

export function createSqlAggregateVersions(parts: SqlDialectParts): AggregateVersions {
  const { db } = parts;
  async function dropVersion(trx: Kysely<AggregateTables>, version: number): Promise<void> {
    const { table, projection } = versionNames(version);
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(trx);
    await sql`DELETE FROM projection_offsets WHERE projection = ${projection}`.execute(trx);
    await sql`DELETE FROM projection_state WHERE projection = ${projection}`.execute(trx);
    await sql`DELETE FROM projection_logs WHERE projection = ${projection}`.execute(trx);
  }
  return {
    live: () => liveVersion(db),
    async prepare(version) {
      if (version === (await liveVersion(db))) throw new Error(`version ${version} is live`);
      await dropVersion(db, version);
      await parts.createMinuteTable(db, versionNames(version).table);
    },
    async switchTo(version, topic, options = {}) {
      return db.transaction().execute(async (trx) => {
        await sql`INSERT INTO read_model_versions (projection, live) VALUES (${PROJECTION}, 1) ON CONFLICT (projection) DO NOTHING`.execute(
          trx,
        );
        const live = await liveVersion(trx, parts.lockSuffix.replace('SHARE', 'UPDATE'));
        const [current, built] = [await readOffsets(trx, live, topic), await readOffsets(trx, version, topic)];
        if (!options.replacingForeign) for (const [partition, next] of current) if ((built.get(partition) ?? 0n) < next) return false;
        await sql`UPDATE read_model_versions SET live = ${version} WHERE projection = ${PROJECTION}`.execute(trx);
        return true;
      });
    },
    async drop(version) {
      if (version === (await liveVersion(db))) throw new Error(`version ${version} is live`);
      await db.transaction().execute((trx) => dropVersion(trx, version));
    },
    close: () => db.destroy(),
  };
}
