import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { type Action, ContractError } from '@usertags/contracts';
import { openSqlite, statementsPerLimit } from '@usertags/runtime';
import { jsonOfPayload, PROFILE_KEEP, type ProfileStore } from './profile-store.ts';

/**
 * How many tags over PROFILE_KEEP a (cookie, action) may hold before a batch
 * trims it back to PROFILE_KEEP. Once a pair is full its newest and oldest
 * tags sit on different pages, so trimming at every batch had each new tag
 * dirty two leaf pages, its own and the one it pushed a tag out of; with the
 * slack the second page is written once per TRIM_SLACK tags
 * (bench:profile-bytes, docs/embedded.md "Fewer bytes per tag in the profile store"). It costs at
 * most 5 % more rows.
 */
export const TRIM_SLACK = 10;

/**
 * How many (cookie, action) pairs the store remembers the room of (see
 * `apply`); past that it forgets them all and counts again as pairs come.
 * About 100 bytes each.
 */
const ROOM_PAIRS = 200_000;

/**
 * The embedded profile store: SQLite on local disk through Node's built-in
 * `node:sqlite`, no server. One row per kept tag, keyed so that a cookie's
 * tags of one action are contiguous and ordered by time, holding the tag's
 * JSON text — a read is a range of rows, and an answer their texts joined:
 *
 *   profile_tags(cookie, action, time_ms, digest, json) PRIMARY KEY (cookie, action, time_ms, digest) WITHOUT ROWID
 *   profile_positions(topic, partition, next_offset) PRIMARY KEY (topic, partition)
 *
 * Files made before the JSON text was kept held each tag's Avro payload
 * instead (`payload BLOB NOT NULL`, no `json`). Opening one adds the `json`
 * column; its old rows are read by decoding the payload, and new rows get both,
 * so a build from before can still read the file. Newer tags replace the old
 * rows as profiles fill up; `projector replay profiles` rebuilds it at once.
 *
 * A batch's entries and its partition's position are committed in one
 * transaction, so the store always knows where in the log its data ends —
 * after a crash, and as a copy restored from an older backup.
 *
 * Reads see the newest PROFILE_KEEP tags of a (cookie, action), never older
 * ones, but a batch trims a pair only once it holds TRIM_SLACK more than that.
 *
 * WAL mode lets the query API read from another process while the projector
 * writes. `synchronous = NORMAL` (a derived store, runtime/src/sqlite.ts): a
 * committed batch survives a crash of the projector; a power cut may roll back
 * the last batches with their positions, and they are applied again.
 * This module owns the layout: the projector writes through it and the query
 * API reads through it.
 *
 * Files written before the slack are read and written as they are: the tables
 * did not change. An older build reading a file written since may show a
 * pair's untrimmed extra tags in a range below its newest PROFILE_KEEP;
 * `projector replay profiles` rebuilds a version from the log for it.
 */
export function createSqliteProfileStore(path: string): ProfileStore {
  let db: DatabaseSync | undefined;
  let holdsPayloads = false;
  let statements:
    | {
        insert: StatementSync;
        rowsUpToFull: StatementSync;
        oldestKept: StatementSync;
        trim: StatementSync;
        /** The newest tags of a cookie and action in a time range, up to a limit of at most PROFILE_KEEP. */
        read: (limit: number) => StatementSync;
        begin: StatementSync;
        commit: StatementSync;
        rollback: StatementSync;
        position: StatementSync;
        positions: StatementSync;
      }
    | undefined;

  function open() {
    if (db !== undefined && statements !== undefined) return { db, statements };
    // Both the projector and the query API open it this way; whichever comes first creates the table.
    const opened = openSqlite(path, 'derived');
    // Not mapped until this connection writes (see `mapForWrites`).
    opened.exec('PRAGMA mmap_size = 0');
    opened.exec(`CREATE TABLE IF NOT EXISTS profile_tags (
      cookie TEXT NOT NULL, action INTEGER NOT NULL, time_ms INTEGER NOT NULL, digest BLOB NOT NULL, json TEXT NOT NULL,
      PRIMARY KEY (cookie, action, time_ms, digest)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS profile_positions (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
      PRIMARY KEY (topic, partition)) WITHOUT ROWID`);
    try {
      holdsPayloads = addJsonColumn(opened);
    } catch (error) {
      // E.g. busy past the timeout behind an older build's long write: nothing is kept open, the next call tries again.
      opened.close();
      throw error;
    }
    /** The n-th newest tag of a cookie and action, if it has that many. */
    const nth = (n: number) => `ORDER BY time_ms DESC, digest DESC LIMIT 1 OFFSET ${n - 1}`;
    // A file from before the JSON text: its old rows have only their payload (read below), new rows get both.
    const value = holdsPayloads ? 'json, CASE WHEN json IS NULL THEN payload END' : 'json';
    const prepared = {
      insert: opened.prepare(
        holdsPayloads
          ? 'INSERT OR IGNORE INTO profile_tags (cookie, action, time_ms, digest, json, payload) VALUES (?, ?, ?, ?, ?, ?)'
          : 'INSERT OR IGNORE INTO profile_tags (cookie, action, time_ms, digest, json) VALUES (?, ?, ?, ?, ?)',
      ),
      // How many tags this cookie and action hold, counted up to PROFILE_KEEP + TRIM_SLACK: a walk of that many index entries at most.
      rowsUpToFull: opened.prepare(
        `SELECT count(*) AS n FROM (SELECT 1 FROM profile_tags WHERE cookie = ? AND action = ? LIMIT ${PROFILE_KEEP + TRIM_SLACK})`,
      ),
      // The PROFILE_KEEP-th newest, the oldest a read sees: a trim deletes what is older.
      oldestKept: opened.prepare(`SELECT time_ms, digest FROM profile_tags WHERE cookie = ? AND action = ? ${nth(PROFILE_KEEP)}`),
      trim: opened.prepare('DELETE FROM profile_tags WHERE cookie = ? AND action = ? AND (time_ms, digest) < (?, ?)'),
      // Only the newest PROFILE_KEEP count, whatever waits untrimmed below them. The outer ORDER BY costs
      // no sort: SQLite keeps the inner query's order.
      // The limit written into the statement (at most PROFILE_KEEP + 1 of them): a bound one has SQLite compile it at every read.
      read: statementsPerLimit(
        opened,
        (limit) => `SELECT ${value} FROM (SELECT time_ms, digest, ${holdsPayloads ? 'json, payload' : 'json'} FROM profile_tags
           WHERE cookie = ?1 AND action = ?2 ORDER BY time_ms DESC, digest DESC LIMIT ${PROFILE_KEEP})
         WHERE time_ms >= ?3 AND time_ms < ?4 ORDER BY time_ms DESC, digest DESC LIMIT ${limit}`,
        // Rows as arrays, not objects: half the cost of a read of a full profile (node:sqlite builds each row's object key by key).
        (st) => st.setReturnArrays(true),
      ),
      begin: opened.prepare('BEGIN IMMEDIATE'),
      commit: opened.prepare('COMMIT'),
      rollback: opened.prepare('ROLLBACK'),
      position: opened.prepare(`INSERT INTO profile_positions (topic, partition, next_offset) VALUES (?, ?, ?)
        ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`),
      positions: opened.prepare('SELECT partition, next_offset FROM profile_positions WHERE topic = ?'),
    };
    prepared.positions.setReadBigInts(true);
    db = opened;
    statements = prepared;
    return { db: opened, statements: prepared };
  }

  const actionCode = (action: Action) => (action === 'VIEW' ? 0 : 1);
  /**
   * Per (cookie, action) this program wrote, how many more tags it can take
   * before it holds PROFILE_KEEP + TRIM_SLACK and must be trimmed, as of the
   * last committed batch. Counting a pair walks up to 210 index entries, so a
   * full pair is counted once per TRIM_SLACK tags it receives instead of at
   * every batch; a pair not remembered is counted when a batch touches it.
   */
  let room = new Map<string, number>();
  /**
   * A connection that writes maps the file (1 GiB at most) once it first
   * applies a batch: its B-tree descents then read pages not in its own
   * cache without a system call. A connection that only reads does not: when
   * another process has committed, SQLite drops a reader's page cache and
   * unmaps the whole file at its next read, so with the projector committing
   * every few milliseconds the query API spent its time unmapping and
   * faulting pages back in (docs/embedded.md, "The reader does not map the
   * file"); a `pread` of each page it needs costs less.
   */
  let mapped = false;
  const mapForWrites = (connection: DatabaseSync) => {
    if (mapped) return;
    connection.exec('PRAGMA mmap_size = 1073741824');
    mapped = true;
  };

  return {
    async migrate() {
      open();
    },

    async apply(entries, position) {
      if (entries.length === 0 && position === undefined) return;
      const { db: writing, statements: s } = open();
      mapForWrites(writing);
      // Per pair this batch touched: its cookie and action, and the tags it added.
      const touched = new Map<string, { cookie: string; action: number; added: number }>();
      const roomAfter = new Map<string, number>();
      s.begin.run();
      try {
        for (const e of entries) {
          const action = actionCode(e.action);
          const { changes } = holdsPayloads
            ? s.insert.run(e.cookie, action, e.timeMs, e.digest, e.json, e.payload)
            : s.insert.run(e.cookie, action, e.timeMs, e.digest, e.json);
          const key = `${action}${e.cookie}`;
          const pair = touched.get(key);
          if (pair === undefined) touched.set(key, { cookie: e.cookie, action, added: Number(changes) });
          else pair.added += Number(changes);
        }
        for (const [key, { cookie, action, added }] of touched) {
          const left = (room.get(key) ?? 0) - added;
          if (left > 0) {
            roomAfter.set(key, left);
            continue;
          }
          // Not remembered, or perhaps full: counted, and trimmed back to PROFILE_KEEP once it holds PROFILE_KEEP + TRIM_SLACK.
          let held = (s.rowsUpToFull.get(cookie, action) as { n: number }).n;
          if (held >= PROFILE_KEEP + TRIM_SLACK) {
            const oldest = s.oldestKept.get(cookie, action) as { time_ms: number; digest: Uint8Array } | undefined;
            if (oldest !== undefined) s.trim.run(cookie, action, oldest.time_ms, oldest.digest);
            held = PROFILE_KEEP;
          }
          roomAfter.set(key, PROFILE_KEEP + TRIM_SLACK - held);
        }
        if (position !== undefined) s.position.run(position.topic, position.partition, position.nextOffset);
        s.commit.run();
        if (room.size + roomAfter.size > ROOM_PAIRS) room = new Map();
        for (const [key, left] of roomAfter) room.set(key, left);
      } catch (error) {
        // What was counted in the batch rolled back may be wrong now: everything is counted again.
        room = new Map();
        s.rollback.run();
        throw new ContractError('STORE_UNAVAILABLE', `the profile store could not apply a batch (${(error as Error).message})`, {
          cause: error,
        });
      }
    },

    async positions(topic) {
      const rows = open().statements.positions.all(topic) as Array<{ partition: bigint; next_offset: bigint }>;
      return new Map(rows.map((r) => [Number(r.partition), r.next_offset]));
    },

    async read(cookie, fromMs, toMs, limit) {
      const { statements: s } = open();
      // Never more than the store keeps: the limits asked for, and so the statements kept, stay few.
      const read = s.read(Math.max(0, Math.min(PROFILE_KEEP, Math.floor(limit))));
      const texts = (action: Action) => {
        // [json, payload]: the payload only where the text is NULL (an old row), and only in a file from before.
        const rows = read.all(cookie, actionCode(action), fromMs, toMs) as unknown as Array<[string | null, (Uint8Array | null)?]>;
        const out = new Array<string>(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const [json, payload] = rows[i] as [string | null, (Uint8Array | null)?];
          out[i] = json ?? jsonOfPayload(payload as Uint8Array);
        }
        return out;
      };
      return { views: texts('VIEW'), buys: texts('BUY') };
    },

    async checkReady() {
      open().db.prepare('SELECT 1').get();
    },

    async close() {
      db?.close();
      db = undefined;
      statements = undefined;
      mapped = false;
    },
  };
}

/**
 * Adds the `json` column to a file made before it, once, whichever program
 * opens the file first (under the write lock, so two cannot both add it).
 * Says whether the file has the old `payload` column.
 */
function addJsonColumn(db: DatabaseSync): boolean {
  const columns = () => new Set((db.prepare('PRAGMA table_info(profile_tags)').all() as Array<{ name: string }>).map((c) => c.name));
  const seen = columns();
  if (!seen.has('payload')) return false;
  if (seen.has('json')) return true;
  db.exec('BEGIN IMMEDIATE');
  try {
    if (!columns().has('json')) db.exec('ALTER TABLE profile_tags ADD COLUMN json TEXT');
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  return true;
}
