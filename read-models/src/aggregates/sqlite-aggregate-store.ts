import type { DatabaseSync } from 'node:sqlite';
import { openSqlite } from '@usertags/runtime';
import { Kysely, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
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
 * The embedded aggregate store: the same layout and queries as PostgreSQL
 * (sql-aggregate-store.ts), in a SQLite file through Node's built-in
 * `node:sqlite`, no server. WAL mode lets the query API read from another
 * process while the projector writes. `synchronous = NORMAL` (a derived
 * store, runtime/src/sqlite.ts): a committed batch — increments and offsets
 * together — survives a crash of the projector; a power cut may roll back the
 * last batches, increments and offsets together, and they are applied again.
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

async function createMinuteTable(db: Kysely<unknown>, table: string): Promise<void> {
  await sql`CREATE TABLE ${sql.table(table)} (
    bucket INTEGER NOT NULL, grouping INTEGER NOT NULL, action INTEGER NOT NULL,
    origin TEXT NOT NULL, brand_id TEXT NOT NULL, category_id TEXT NOT NULL,
    count INTEGER NOT NULL, sum_price INTEGER NOT NULL,
    PRIMARY KEY (bucket, grouping, action, origin, brand_id, category_id)) WITHOUT ROWID`.execute(db);
}

const migrations: Record<string, Migration> = {
  '0001_aggregate_minutes': {
    async up(db: Kysely<unknown>) {
      await createMinuteTable(db, 'aggregate_minutes');
      await sql`CREATE TABLE projection_offsets (
        projection TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
        PRIMARY KEY (projection, topic, partition)) WITHOUT ROWID`.execute(db);
      await sql`CREATE TABLE projection_state (
        projection TEXT PRIMARY KEY, newest_event_ms INTEGER, horizon_ms INTEGER,
        updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP) WITHOUT ROWID`.execute(db);
      await sql`CREATE TABLE read_model_versions (projection TEXT PRIMARY KEY, live INTEGER NOT NULL) WITHOUT ROWID`.execute(db);
      await sql`INSERT INTO read_model_versions (projection, live) VALUES (${PROJECTION}, 1)`.execute(db);
    },
  },
  // A read model knows its log (core/log-binding.ts), and each partition's corroborated event time is
  // kept with its offset, for retention (core/watermark.ts).
  '0004_log_identity_and_watermarks': {
    async up(db: Kysely<unknown>) {
      await sql`ALTER TABLE projection_offsets ADD COLUMN watermark_ms INTEGER`.execute(db);
      await sql`CREATE TABLE projection_logs (projection TEXT NOT NULL, topic TEXT NOT NULL, log_id TEXT NOT NULL,
        PRIMARY KEY (projection, topic)) WITHOUT ROWID`.execute(db);
    },
  },
};

function sqliteParts(path: string): SqlDialectParts {
  const dialect = new SqliteDialect({ database: async () => asKyselyDatabase(openSqlite(path, 'derived')) });
  const db = new Kysely<AggregateTables>({ dialect });
  return {
    db,
    migrations,
    createMinuteTable: (d, table) => createMinuteTable(d as Kysely<unknown>, table),
    // A SQLite write transaction already excludes every other writer.
    lockSuffix: '',
    rowsOf: (rowsJson) => sql`
      SELECT value ->> 'k', value ->> 'g', value ->> 'a', value ->> 'o', value ->> 'b', value ->> 'c', value ->> 'n', value ->> 's'
      FROM json_each(${rowsJson})`,
  };
}

/** The embedded store of the live version, or of a fixed one (`projector replay`). */
export function createSqliteAggregateStore(path: string, version: VersionChoice = 'live'): AggregateStore {
  return createSqlAggregateStore(sqliteParts(path), version);
}

export function createSqliteAggregateVersions(path: string): AggregateVersions {
  return createSqlAggregateVersions(sqliteParts(path));
}
