import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';

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

/** WAL pages at which a writer checkpoints by itself: the backstop when background checkpoints fall behind. */
export const CHECKPOINT_BACKSTOP_PAGES = 20_000;
/** SQLite's own default, restored when the background checkpointer cannot run. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

// The checkpointer thread: its own connection to the file, a PASSIVE checkpoint every interval (it copies
// what it can from the WAL into the database file without waiting for, or holding up, readers and writers).
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA synchronous = FULL');
const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (another checkpoint is running): the next tick tries again.
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  process.exit(0);
});
`;

export interface BackgroundCheckpoints {
  stop(): Promise<void>;
}

/**
 * Moves a WAL database's checkpoints off the connection that writes. By
 * default SQLite checkpoints inside the commit that takes the WAL past 1,000
 * pages: that commit copies the WAL into the database file and syncs it,
 * and the writer waits (bench:profiles: a third of the commit time). Here a
 * worker thread with its own connection checkpoints every `intervalMs` on
 * the other core, and the writer's own checkpoint moves back to
 * CHECKPOINT_BACKSTOP_PAGES, so the WAL stays bounded even if the worker
 * falls behind; if the worker cannot run at all, SQLite's default returns.
 * Call it from the one program that writes the file.
 */
export function checkpointInBackground(db: DatabaseSync, path: string, intervalMs = 200): BackgroundCheckpoints {
  db.exec(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_BACKSTOP_PAGES}`);
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, intervalMs } });
  worker.unref();
  let running = true;
  const exited = new Promise<void>((done) => worker.once('exit', () => done()));
  worker.once('error', () => {
    running = false;
    if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  });
  return {
    async stop() {
      if (!running) return;
      running = false;
      // Held open until the worker has closed its connection (an unref'd worker alone keeps nothing alive).
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
