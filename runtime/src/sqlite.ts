import type { DatabaseSync } from 'node:sqlite';

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
