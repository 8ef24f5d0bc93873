import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

const SQLITE_BUSY = 5;

/**
 * Puts a SQLite file in WAL mode. Switching a new file needs a moment alone
 * with it, and SQLite answers "database is locked" at once — the busy
 * timeout does not cover this pragma — when another program opens the same
 * new file at that moment (the projector and the query API starting
 * together), so it is retried for up to `timeoutMs`.
 */
export function useWal(db: DatabaseSync, timeoutMs = 10_000): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 20) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { errcode?: number }).errcode !== SQLITE_BUSY || waited >= timeoutMs) throw error;
      Atomics.wait(pause, 0, 0, 20);
    }
  }
}

/**
 * How a SQLite file pays for durability:
 *
 * - `synced` (the event log): `synchronous = FULL` — a committed transaction
 *   survives a crash or a power cut. The log is the source of truth: an
 *   append answered 204 must never be lost.
 * - `derived` (the read models): `synchronous = NORMAL` in WAL mode — a
 *   committed transaction survives a crash of the program; a power cut or an
 *   OS crash may roll back the last transactions, but never leaves the file
 *   inconsistent. A read model commits its log positions in the same
 *   transaction as its data, so after such a rollback its data and positions
 *   are both from before those transactions, and the projector applies them
 *   again from the log. Its commits then wait for no sync, and stop queueing
 *   the log's synced commits behind theirs on the same disk
 *   (docs/embedded.md).
 */
export type SqliteDurability = 'synced' | 'derived';

/**
 * Opens (creating it and its folder when missing) a SQLite file the way every
 * embedded store of the platform uses one: WAL, so other processes read while
 * one writes; the synchronous level of `durability`; writers wait up to 10 s
 * for each other; a 64 MiB page cache.
 */
export function openSqlite(path: string, durability: SqliteDurability): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: 10_000 });
  useWal(db);
  db.exec(durability === 'synced' ? 'PRAGMA synchronous = FULL' : 'PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA cache_size = -65536');
  return db;
}

/** The event log's file: `synced` (see `SqliteDurability`). */
export function openDurableSqlite(path: string): DatabaseSync {
  return openSqlite(path, 'synced');
}

/**
 * Statements that differ only in their LIMIT, one prepared per limit asked
 * for, with the limit written into the SQL. A LIMIT given as a bound
 * parameter costs a compile per run in the SQLite of Node 24 (3.53): the
 * planner reads the bound value, so any binding of it, even the same value
 * again, expires the statement, and its next step prepares it anew — about
 * a third of a small profile read's time (docs/embedded.md, "A LIMIT
 * written into the statement"). `limit` must be a non-negative integer;
 * callers bound it, so the statements kept are few.
 */
export function statementsPerLimit(
  db: DatabaseSync,
  sql: (limit: number) => string,
  setUp: (statement: StatementSync) => void = () => {},
): (limit: number) => StatementSync {
  const prepared = new Map<number, StatementSync>();
  return (limit) => {
    let statement = prepared.get(limit);
    if (statement === undefined) {
      if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`a LIMIT must be a non-negative integer, not ${limit}`);
      statement = db.prepare(sql(limit));
      setUp(statement);
      prepared.set(limit, statement);
    }
    return statement;
  };
}
