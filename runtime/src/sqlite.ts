import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

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
 * Opens (creating it and its folder when missing) a SQLite file the way every
 * embedded store of the platform uses one: WAL, so other processes read while
 * one writes; `synchronous = FULL`, so a committed transaction survives a
 * crash or a power cut; writers wait up to 10 s for each other; a 64 MiB page
 * cache.
 */
export function openDurableSqlite(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: 10_000 });
  useWal(db);
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA cache_size = -65536');
  return db;
}
