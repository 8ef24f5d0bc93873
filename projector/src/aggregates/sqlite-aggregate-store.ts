import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { useWal } from '@usertags/runtime';
import { Kysely, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { AggregateStore } from './aggregate-store.ts';
import { type AggregateTables, createSqlAggregateStore } from './sql-aggregate-store.ts';

/**
 * The embedded aggregate store: the same layout and queries as PostgreSQL
 * (sql-aggregate-store.ts), in a SQLite file through Node's built-in
 * `node:sqlite`, no server. WAL mode lets the query API read from another
 * process while the projector writes; `synchronous = FULL` makes a committed
 * batch — increments and offsets together — survive a crash.
 *
 * SQLite's default BINARY collation already compares text byte by byte, as
 * the "C" collation does in PostgreSQL.
 */

/** Kysely's SQLite driver expects better-sqlite3's statement shape; node:sqlite spreads its parameters. */
function asKyselyDatabase(db: DatabaseSync): SqliteDatabase {
  return {
    close: () => db.close(),
    prepare(text) {
      const statement = db.prepare(text);
      const args = (parameters: ReadonlyArray<unknown>) => parameters as Array<null | number | bigint | string | Uint8Array>;
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...args(parameters)),
        run: (parameters) => statement.run(...args(parameters)),
        iterate: (parameters) => statement.iterate(...args(parameters)),
      };
    },
  };
}

const migrations: Record<string, Migration> = {
  '0001_aggregate_minutes': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE aggregate_minutes (
        bucket INTEGER NOT NULL, grouping INTEGER NOT NULL, action INTEGER NOT NULL,
        origin TEXT NOT NULL, brand_id TEXT NOT NULL, category_id TEXT NOT NULL,
        count INTEGER NOT NULL, sum_price INTEGER NOT NULL,
        PRIMARY KEY (bucket, grouping, action, origin, brand_id, category_id)) WITHOUT ROWID`.execute(db);
      await sql`CREATE TABLE projection_offsets (
        projection TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
        PRIMARY KEY (projection, topic, partition)) WITHOUT ROWID`.execute(db);
      await sql`CREATE TABLE projection_state (
        projection TEXT PRIMARY KEY, newest_event_ms INTEGER, horizon_ms INTEGER,
        updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP) WITHOUT ROWID`.execute(db);
    },
  },
};

export function createSqliteAggregateStore(path: string): AggregateStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const dialect = new SqliteDialect({
    async database() {
      const db = new DatabaseSync(path, { timeout: 10_000 });
      useWal(db);
      db.exec('PRAGMA synchronous = FULL');
      db.exec('PRAGMA cache_size = -65536');
      return asKyselyDatabase(db);
    },
  });
  const db = new Kysely<AggregateTables>({ dialect });
  return createSqlAggregateStore({
    db,
    migrations,
    async upsert(trx, rowsJson) {
      // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.
      await sql`
        INSERT INTO aggregate_minutes AS a (bucket, grouping, action, origin, brand_id, category_id, count, sum_price)
        SELECT value ->> 'k', value ->> 'g', value ->> 'a', value ->> 'o', value ->> 'b', value ->> 'c', value ->> 'n', value ->> 's'
        FROM json_each(${rowsJson}) WHERE true
        ON CONFLICT (bucket, grouping, action, origin, brand_id, category_id)
        DO UPDATE SET count = a.count + excluded.count, sum_price = a.sum_price + excluded.sum_price`.execute(trx);
    },
  });
}
