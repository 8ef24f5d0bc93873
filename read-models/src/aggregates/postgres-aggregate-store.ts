import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import pg from 'pg';
import type { AggregateStore } from './aggregate-store.ts';
import {
  type AggregateTables,
  type AggregateVersions,
  createSqlAggregateStore,
  createSqlAggregateVersions,
  PROJECTION,
  type SqlDialectParts,
  type VersionChoice,
} from './sql-aggregate-store.ts';

/**
 * The aggregate read model in PostgreSQL: the production adapter. The layout
 * and every query but one live in sql-aggregate-store.ts; this module holds
 * the migrations (the history of the layout) and the batch upsert, which
 * PostgreSQL parses from one JSON parameter with json_to_recordset.
 *
 * The key's text columns use the byte-order collation "C": they are compared
 * for equality only, and "C" compares with memcmp instead of the locale's
 * strcoll, which was most of the database's CPU per upserted row.
 */

/** The minute table of the current layout (migration 0002 and every replayed version). */
async function createMinuteTable(db: Kysely<unknown>, table: string): Promise<void> {
  await db.schema
    .createTable(table)
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('grouping', 'smallint', (c) => c.notNull())
    .addColumn('action', 'smallint', (c) => c.notNull())
    .addColumn('origin', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('brand_id', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('category_id', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('sum_price', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${table}_pk`, ['bucket', 'grouping', 'action', 'origin', 'brand_id', 'category_id'])
    .execute();
}

const migrations: Record<string, Migration> = {
  '0001_aggregate_minutes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('aggregate_minutes')
        .addColumn('grouping', 'smallint', (c) => c.notNull())
        .addColumn('action', 'smallint', (c) => c.notNull())
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
      await createMinuteTable(db, 'aggregate_minutes');
      await sql`DELETE FROM projection_offsets WHERE projection = ${PROJECTION}`.execute(db);
      await sql`DELETE FROM projection_state WHERE projection = ${PROJECTION}`.execute(db);
    },
  },
  // Which version of the read model is live (version 1 is aggregate_minutes); see `projector replay`.
  '0003_read_model_versions': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE read_model_versions (projection text PRIMARY KEY, live integer NOT NULL)`.execute(db);
      await sql`INSERT INTO read_model_versions (projection, live) VALUES (${PROJECTION}, 1)`.execute(db);
    },
  },
  // A read model knows its log (core/log-binding.ts), and each partition's corroborated event time is
  // kept with its offset, for retention (core/watermark.ts).
  '0004_log_identity_and_watermarks': {
    async up(db: Kysely<unknown>) {
      await sql`ALTER TABLE projection_offsets ADD COLUMN watermark_ms bigint`.execute(db);
      await sql`CREATE TABLE projection_logs (projection text NOT NULL, topic text NOT NULL, log_id text NOT NULL,
        PRIMARY KEY (projection, topic))`.execute(db);
    },
  },
};

export interface PostgresAggregateStoreConfig {
  readonly connectionString: string;
  /** Connections in the pool. */
  readonly poolSize?: number;
}

function postgresParts(config: PostgresAggregateStoreConfig): SqlDialectParts {
  const pool = new pg.Pool({ connectionString: config.connectionString, max: config.poolSize ?? 4 });
  // A client that errors (e.g. the server restarts) must not crash the process: the pool handles idle ones,
  // and a client checked out between two statements of a transaction has no listener of the pool's. The
  // error reaches the caller through the statement that runs next, and the pool drops the broken client.
  // (Found by projector/test/store-restart.e2e.test.ts: the projector died when PostgreSQL crashed mid-transaction.)
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<AggregateTables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    migrations,
    createMinuteTable: (d, table) => createMinuteTable(d as Kysely<unknown>, table),
    lockSuffix: ' FOR SHARE',
    rowsOf: (rowsJson) => sql`
      SELECT k, g, a, o, b, c, n, s FROM json_to_recordset(${rowsJson}::json)
        AS j(k bigint, g smallint, a smallint, o text, b text, c text, n bigint, s bigint)`,
  };
}

/** The PostgreSQL store of the live version, or of a fixed one (`projector replay`). */
export function createPostgresAggregateStore(config: PostgresAggregateStoreConfig, version: VersionChoice = 'live'): AggregateStore {
  return createSqlAggregateStore(postgresParts(config), version);
}

export function createPostgresAggregateVersions(config: PostgresAggregateStoreConfig): AggregateVersions {
  return createSqlAggregateVersions(postgresParts(config));
}
