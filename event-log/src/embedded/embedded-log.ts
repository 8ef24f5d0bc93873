import { randomUUID } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import type { AppendedRecord, LogRecord } from '@usertags/contracts';
import { openDurableSqlite, statementsPerLimit } from '@usertags/runtime';

/**
 * The embedded event log: a partitioned, append-only log in one SQLite file on
 * local disk, for running the platform with no servers. It keeps what the
 * programs rely on in Kafka:
 *
 * - topics with a fixed number of partitions; a record's partition follows
 *   from its key, so one cookie's tags stay in order;
 * - offsets per partition, from 0, gap-free, never reused;
 * - an append is durable when it returns (WAL, `synchronous = FULL`);
 * - readers read any partition from any offset (replay from 0), and keep
 *   their committed positions per consumer group.
 *
 * Writers in several processes are serialised by SQLite's write lock; readers
 * in other processes see each committed append. Nothing is ever deleted (the
 * log is the source of truth).
 *
 * Checkpoints (copying the WAL into the database file) are taken by each
 * connection for its own writes, not by SQLite's automatic checkpoint, which
 * runs inside whichever commit takes the WAL past 1,000 pages — often a
 * projector committing its positions. A connection here checkpoints
 * (PASSIVE: it never waits for readers or writers) once its own commits have
 * written about CHECKPOINT_PAGES pages since its last one, so the program
 * that appends, nearly all of the writes, takes nearly all of the
 * checkpoints, and can take them after it has answered (`deferCheckpoints`).
 * docs/embedded.md has the measurements.
 *
 *   topics(topic, partitions)
 *   records(topic, partition, offset, key, value, headers) PRIMARY KEY (topic, partition, offset)
 *   positions(grp, topic, partition, next_offset) PRIMARY KEY (grp, topic, partition)
 *   topic_ids(topic, id) PRIMARY KEY (topic)
 *
 * A topic's id is a random UUID given when the topic is created in this file
 * (or first asked for, in a file made before ids were kept): a read model
 * built from this log stores it, and another log file — a new `data/`, a
 * file restored from elsewhere — has other ids.
 */
export interface StoredLogRecord {
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface EmbeddedLog {
  /** Creates `topic` with `partitions` partitions unless it exists; returns its partition count. */
  ensureTopic(topic: string, partitions: number): number;
  /** The topic's partition count, or `undefined` while nobody has created it. */
  partitions(topic: string): number | undefined;
  /** Appends in one durable transaction; records of one key keep their order. */
  append(topic: string, records: readonly LogRecord[]): AppendedRecord[];
  /** Up to `max` records of a partition from `from` on, in offset order. */
  read(topic: string, partition: number, from: bigint, max: number): StoredLogRecord[];
  /** The id that names `topic` in this log file for good, or `undefined` while nobody has created the topic. */
  identity(topic: string): string | undefined;
  /** The next offset each partition will give (its end). */
  ends(topic: string): Map<number, bigint>;
  /** A consumer group's committed positions. */
  positions(group: string, topic: string): Map<number, bigint>;
  commit(group: string, topic: string, progress: ReadonlyArray<{ partition: number; nextOffset: bigint }>): void;
  /** Checkpoints if this connection's writes since its last checkpoint are due one (see `deferCheckpoints`); never throws. */
  checkpointIfDue(): void;
  close(): void;
}

export interface EmbeddedLogOptions {
  /**
   * Leave checkpoints to the caller's `checkpointIfDue()` (e.g. after it has
   * answered the append) instead of taking them at the end of `append` and
   * `commit`.
   */
  readonly deferCheckpoints?: boolean;
}

/** WAL pages a connection writes between its checkpoints (SQLite's automatic default is 1,000 too). */
const CHECKPOINT_PAGES = 1000;
const PAGE_BYTES = 4096;

/** FNV-1a over the key's UTF-8 bytes: stable across processes and versions. */
function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

interface Statements {
  topic: StatementSync;
  topicId: StatementSync;
  giveTopicId: StatementSync;
  createTopic: StatementSync;
  end: StatementSync;
  insert: StatementSync;
  /** The read of up to `max` records. */
  read: (max: number) => StatementSync;
  positions: StatementSync;
  commit: StatementSync;
}

export function openEmbeddedLog(path: string, options: EmbeddedLogOptions = {}): EmbeddedLog {
  const db = openDurableSqlite(path);
  db.exec('PRAGMA wal_autocheckpoint = 0');
  // An estimate of the WAL pages this connection's commits wrote since its last checkpoint: a commit
  // writes every page it changed, at least one per partition it appended to, plus the records' bytes.
  let unCheckpointed = 0;
  const checkpointIfDue = () => {
    if (unCheckpointed < CHECKPOINT_PAGES || !db.isOpen) return;
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      unCheckpointed = 0;
    } catch {
      // Busy (another connection is checkpointing) or the disk refused: the writes are safe in the
      // WAL, and the next write tries again. An append that committed must not look failed.
    }
  };
  const wrote = (pages: number) => {
    unCheckpointed += pages;
    if (!options.deferCheckpoints) checkpointIfDue();
  };
  db.exec(`CREATE TABLE IF NOT EXISTS topics (topic TEXT PRIMARY KEY, partitions INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS records (
      topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
      key TEXT, value BLOB, headers TEXT NOT NULL,
      PRIMARY KEY (topic, partition, offset)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS positions (
      grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
      PRIMARY KEY (grp, topic, partition)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS topic_ids (topic TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;`);
  const s: Statements = {
    topic: db.prepare('SELECT partitions FROM topics WHERE topic = ?'),
    topicId: db.prepare('SELECT id FROM topic_ids WHERE topic = ?'),
    giveTopicId: db.prepare('INSERT INTO topic_ids (topic, id) VALUES (?, ?) ON CONFLICT (topic) DO NOTHING'),
    createTopic: db.prepare('INSERT INTO topics (topic, partitions) VALUES (?, ?) ON CONFLICT (topic) DO NOTHING'),
    end: db.prepare('SELECT max(offset) AS last FROM records WHERE topic = ? AND partition = ?'),
    insert: db.prepare('INSERT INTO records (topic, partition, offset, key, value, headers) VALUES (?, ?, ?, ?, ?, ?)'),
    // The limit written into each statement: a bound one would have SQLite compile the read at every poll.
    read: statementsPerLimit(
      db,
      (max) =>
        `SELECT offset, key, value, headers FROM records WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ${max}`,
      (st) => st.setReadBigInts(true),
    ),
    positions: db.prepare('SELECT partition, next_offset FROM positions WHERE grp = ? AND topic = ?'),
    commit: db.prepare(`INSERT INTO positions (grp, topic, partition, next_offset) VALUES (?, ?, ?, ?)
      ON CONFLICT (grp, topic, partition) DO UPDATE SET next_offset = excluded.next_offset`),
  };
  for (const st of [s.end, s.positions]) st.setReadBigInts(true);

  function transaction<T>(work: () => T): T {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  const partitionsOf = (topic: string): number | undefined => {
    const row = s.topic.get(topic) as { partitions: number } | undefined;
    return row?.partitions;
  };

  return {
    ensureTopic(topic, partitions) {
      transaction(() => {
        s.createTopic.run(topic, partitions);
        s.giveTopicId.run(topic, randomUUID());
      });
      return partitionsOf(topic) as number;
    },

    identity(topic) {
      if (partitionsOf(topic) === undefined) return undefined;
      let row = s.topicId.get(topic) as { id: string } | undefined;
      if (row === undefined) {
        s.giveTopicId.run(topic, randomUUID());
        row = s.topicId.get(topic) as { id: string };
      }
      return row.id;
    },

    partitions: partitionsOf,

    append(topic, records) {
      let bytes = 0;
      const next = new Map<number, bigint>();
      const appended = transaction(() => {
        const partitions = partitionsOf(topic);
        if (partitions === undefined) throw new Error(`topic ${topic} does not exist`);
        return records.map((r) => {
          const partition = partitionOf(r.key, partitions);
          let offset = next.get(partition);
          if (offset === undefined) {
            const last = (s.end.get(topic, partition) as { last: bigint | null }).last;
            offset = last === null ? 0n : last + 1n;
          }
          const headers = JSON.stringify(r.headers);
          s.insert.run(topic, partition, offset, r.key, r.value, headers);
          bytes += r.key.length + (r.value?.byteLength ?? 0) + headers.length;
          next.set(partition, offset + 1n);
          return { partition, offset: offset.toString() };
        });
      });
      wrote(next.size + Math.floor(bytes / PAGE_BYTES));
      return appended;
    },

    read(topic, partition, from, max) {
      const rows = s.read(max).all(topic, partition, from) as Array<{
        offset: bigint;
        key: string | null;
        value: Uint8Array | null;
        headers: string;
      }>;
      return rows.map((r) => ({
        offset: r.offset,
        key: r.key,
        value: r.value === null ? null : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
        headers: JSON.parse(r.headers) as Record<string, string>,
      }));
    },

    ends(topic) {
      const ends = new Map<number, bigint>();
      const partitions = partitionsOf(topic) ?? 0;
      for (let p = 0; p < partitions; p++) {
        // One index probe per partition (SQLite answers a lone max() from the key's end).
        const last = (s.end.get(topic, p) as { last: bigint | null }).last;
        ends.set(p, last === null ? 0n : last + 1n);
      }
      return ends;
    },

    positions(group, topic) {
      const rows = s.positions.all(group, topic) as Array<{ partition: bigint; next_offset: bigint }>;
      return new Map(rows.map((r) => [Number(r.partition), r.next_offset]));
    },

    commit(group, topic, progress) {
      if (progress.length === 0) return;
      transaction(() => {
        for (const p of progress) s.commit.run(group, topic, p.partition, p.nextOffset);
      });
      wrote(1);
    },

    checkpointIfDue,

    close() {
      if (db.isOpen) db.close();
    },
  };
}
