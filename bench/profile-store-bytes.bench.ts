// bench:profile-bytes — the bytes the embedded profile store writes per tag: the store as it is and
// candidate layouts, in one invocation, each against the store as it was before issue 19 (trimmed at
// every batch). docs/embedded.md ("Fewer synced bytes per tag") reads the numbers.
//
// Reference tags (testkit's `referenceTags`) are encoded and appended once to an in-memory embedded log
// with 4 partitions, as `start` creates the topic. For each layout they are read back BENCH_BATCH records
// per partition in turn — the batches the projector's reader hands over once a partition has gathered
// ~400 tags — and applied through the profile projector itself (decode, `toProfileEntry`, `apply` with the
// batch's position) to a new store file. Two workloads:
//
//  - new cookies: the reference 1,000,000 cookies. A cookie has one or two tags after the warm-up, so a
//    batch inserts into as many places of the table as it has tags, and never trims;
//  - full profiles: BENCH_FULL_COOKIES cookies, past PROFILE_KEEP tags per action after the warm-up, so
//    each tag also pushes its cookie's oldest out: the steady state of a store after a few days of
//    reference traffic (with far more cookies there, so the same pages are hit less often than here).
//    The measured stretch gives each (cookie, action) ~50 tags, several trims at small slacks.
//
// Measured over the BENCH_*_MEASURE tags after BENCH_*_WARMUP (the warm-up in batches of
// BENCH_WARMUP_BATCH, to be quicker):
//
//  - write_bytes (/proc/self/io): the page-cache bytes the process dirtied, which is what the disk gets
//    (the kernel's 4 KB pages, whatever SQLite's page size);
//  - wchar: the bytes SQLite handed to write(): WAL frames and the checkpoints' copies;
//  - the store's files (database and WAL) at the end, per tag a read can return;
//  - reads of BENCH_READS cookies on the same data, both actions at once, over the whole time range (limit 200), a
//    recent stretch (limit 5) and the oldest 60 % of the time (limit 1,000): the answers, hashed and
//    compared with the base row's, and the time each read() takes in this process, the tags' JSON texts
//    included (made from the payloads in the layouts that hold those) (p50, and p99 of the whole-profile
//    reads; a quick in-process measure, two passes after one that warms the caches).
//
//   ./run.sh bench:profile-bytes       (BENCH_NEW_WARMUP=1000000 BENCH_NEW_MEASURE=200000
//     BENCH_FULL_COOKIES=4000 BENCH_FULL_WARMUP=2400000 BENCH_FULL_MEASURE=400000 BENCH_BATCH=400
//     BENCH_WARMUP_BATCH=4000 BENCH_READS=2000 BENCH_WORKLOADS=new,full BENCH_LAYOUTS=<keys> BENCH_DIR=<tmpdir>)
//
// The store files must be on a disk (not tmpfs), or write_bytes stays 0. With BENCH_LAYOUTS set it only
// prints; the whole run also writes its section of docs/benchmarks.md.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type Action, createEventCodec, parseUserTag, type SourceBatch } from '@usertags/contracts';
import { openEmbeddedLog } from '@usertags/event-log';
import { createProfileProjector } from '@usertags/projector';
import { createSqliteProfileStore, TRIM_SLACK } from '@usertags/read-models';
import { PROFILE_KEEP, type ProfileEntry, type ProfileStore, type StorePosition } from '@usertags/read-models/ports';
import { createLogger, openSqlite, useWal } from '@usertags/runtime';
import { referenceTags } from '@usertags/testkit';
import { machineLine, writeReport } from './support.ts';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BATCH = num('BENCH_BATCH', 400);
const WARMUP_BATCH = num('BENCH_WARMUP_BATCH', 4000);
const READS = num('BENCH_READS', 2000);
const DIR = process.env.BENCH_DIR ?? tmpdir();
const START = Date.UTC(2022, 2, 1, 0, 0);
const TOPIC = 'user-tags';
const PARTITIONS = 4;

interface Workload {
  readonly key: string;
  readonly name: string;
  readonly cookies: number;
  readonly warmup: number;
  readonly measure: number;
}
const WORKLOADS: Workload[] = [
  {
    key: 'new',
    name: 'new cookies (1,000,000 cookies)',
    cookies: 1_000_000,
    warmup: num('BENCH_NEW_WARMUP', 1_000_000),
    measure: num('BENCH_NEW_MEASURE', 200_000),
  },
  {
    key: 'full',
    name: `full profiles (${num('BENCH_FULL_COOKIES', 4000).toLocaleString('en')} cookies)`,
    cookies: num('BENCH_FULL_COOKIES', 4000),
    warmup: num('BENCH_FULL_WARMUP', 2_400_000),
    measure: num('BENCH_FULL_MEASURE', 400_000),
  },
].filter((w) => (process.env.BENCH_WORKLOADS ?? 'new,full').split(',').includes(w.key));

// --- candidate layouts -------------------------------------------------------

interface RowOptions {
  /** SQLite's page size for a new file (4,096 by default). */
  readonly pageSize?: number;
  /** `wal_autocheckpoint`: WAL pages after which a commit checkpoints (1,000 by default). */
  readonly checkpointPages?: number;
  /** Insert a batch's entries in key order instead of arrival order. */
  readonly sortBatch?: boolean;
  /**
   * Trim a (cookie, action) only once it has PROFILE_KEEP + slack tags, and then down to PROFILE_KEEP;
   * reads see only the newest PROFILE_KEEP. 0: trim at every batch (the store as it was).
   */
  readonly slack?: number;
  /** A rowid table (rows in arrival order) with a unique index on the key, instead of the table clustered by key. */
  readonly arrival?: boolean;
  /** Each row holds the tag's JSON text, as the store does, instead of its Avro payload (as the store did before). */
  readonly json?: boolean;
}

/** Opens a store file as openSqlite(…, 'derived') does, with another page size when asked. */
function openFile(path: string, pageSize: number | undefined): DatabaseSync {
  if (pageSize === undefined) return openSqlite(path, 'derived');
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: 10_000 });
  // Only a file with nothing in it yet takes a page size; WAL mode writes the first page.
  db.exec(`PRAGMA page_size = ${pageSize}`);
  useWal(db);
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA cache_size = -65536');
  const actual = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  if (actual !== pageSize) throw new Error(`${path} has ${actual}-byte pages, not ${pageSize}`);
  return db;
}

const actionCode = (action: Action) => (action === 'VIEW' ? 0 : 1);
const compareKeys = (a: ProfileEntry, b: ProfileEntry) =>
  a.cookie < b.cookie ? -1 : a.cookie > b.cookie ? 1 : a.action.localeCompare(b.action) || a.timeMs - b.timeMs;

/** The positions table's two statements, as the store has them (each candidate layout keeps its positions the same way). */
function positionStatements(db: DatabaseSync): { position: StatementSync; positions: StatementSync } {
  const positions = db.prepare('SELECT partition, next_offset FROM profile_positions WHERE topic = ?');
  positions.setReadBigInts(true);
  return {
    position: db.prepare(`INSERT INTO profile_positions (topic, partition, next_offset) VALUES (?, ?, ?)
        ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`),
    positions,
  };
}

/** Runs a batch's writes and records its position in one transaction, as the store does. */
function inBatchTransaction(db: DatabaseSync, record: StatementSync, position: StorePosition | undefined, writes: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    writes();
    if (position !== undefined) record.run(position.topic, position.partition, position.nextOffset);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** The positions recorded for `topic`. */
function recordedPositions(statement: StatementSync, topic: string): Map<number, bigint> {
  const rows = statement.all(topic) as Array<{ partition: bigint; next_offset: bigint }>;
  return new Map(rows.map((r) => [Number(r.partition), r.next_offset]));
}

/**
 * One row per kept tag, as read-models/src/profiles/sqlite-profile-store.ts, with the knobs above. With
 * the store's TRIM_SLACK and `json` and nothing else it writes the same bytes as the store.
 */
function rowStore(path: string, o: RowOptions): ProfileStore {
  const slack = o.slack ?? 0;
  const value = o.json ? 'json' : 'payload';
  const column = o.json ? 'json TEXT NOT NULL' : 'payload BLOB NOT NULL';
  let db: DatabaseSync | undefined;
  let s: Record<'insert' | 'overFull' | 'oldestKept' | 'trim' | 'read' | 'position' | 'positions', StatementSync> | undefined;
  function open() {
    if (db !== undefined && s !== undefined) return s;
    db = openFile(path, o.pageSize);
    db.exec('PRAGMA mmap_size = 1073741824');
    if (o.checkpointPages !== undefined) db.exec(`PRAGMA wal_autocheckpoint = ${o.checkpointPages}`);
    db.exec(
      o.arrival
        ? `CREATE TABLE IF NOT EXISTS profile_tags (cookie TEXT NOT NULL, action INTEGER NOT NULL, time_ms INTEGER NOT NULL,
             digest BLOB NOT NULL, ${column});
           CREATE UNIQUE INDEX IF NOT EXISTS profile_tags_key ON profile_tags (cookie, action, time_ms, digest)`
        : `CREATE TABLE IF NOT EXISTS profile_tags (cookie TEXT NOT NULL, action INTEGER NOT NULL, time_ms INTEGER NOT NULL,
             digest BLOB NOT NULL, ${column}, PRIMARY KEY (cookie, action, time_ms, digest)) WITHOUT ROWID`,
    );
    db.exec(`CREATE TABLE IF NOT EXISTS profile_positions (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
      PRIMARY KEY (topic, partition)) WITHOUT ROWID`);
    const nth = (n: number) =>
      `SELECT time_ms, digest FROM profile_tags WHERE cookie = ? AND action = ? ORDER BY time_ms DESC, digest DESC LIMIT 1 OFFSET ${n - 1}`;
    s = {
      insert: db.prepare(`INSERT OR IGNORE INTO profile_tags (cookie, action, time_ms, digest, ${value}) VALUES (?, ?, ?, ?, ?)`),
      overFull: db.prepare(nth(PROFILE_KEEP + slack)),
      oldestKept: db.prepare(nth(PROFILE_KEEP)),
      trim: db.prepare('DELETE FROM profile_tags WHERE cookie = ? AND action = ? AND (time_ms, digest) < (?, ?)'),
      read: db.prepare(
        slack === 0
          ? `SELECT ${value} FROM profile_tags WHERE cookie = ? AND action = ? AND time_ms >= ? AND time_ms < ? ORDER BY time_ms DESC, digest DESC LIMIT ?`
          : `SELECT ${value} FROM (SELECT time_ms, digest, ${value} FROM profile_tags WHERE cookie = ?1 AND action = ?2
               ORDER BY time_ms DESC, digest DESC LIMIT ${PROFILE_KEEP})
             WHERE time_ms >= ?3 AND time_ms < ?4 ORDER BY time_ms DESC, digest DESC LIMIT ?5`,
      ),
      ...positionStatements(db),
    };
    return s;
  }
  return {
    async migrate() {
      open();
    },
    async apply(entries, position) {
      const st = open();
      const touched = new Map<string, [string, number]>();
      inBatchTransaction(db as DatabaseSync, st.position, position, () => {
        for (const e of o.sortBatch ? [...entries].sort(compareKeys) : entries) {
          const action = actionCode(e.action);
          st.insert.run(e.cookie, action, e.timeMs, e.digest, o.json ? e.json : e.payload);
          touched.set(`${action}${e.cookie}`, [e.cookie, action]);
        }
        for (const [cookie, action] of touched.values()) {
          if (slack > 0 && st.overFull.get(cookie, action) === undefined) continue;
          const oldest = st.oldestKept.get(cookie, action) as { time_ms: number; digest: Uint8Array } | undefined;
          if (oldest !== undefined) st.trim.run(cookie, action, oldest.time_ms, oldest.digest);
        }
      });
    },
    async positions(topic) {
      return recordedPositions(open().positions, topic);
    },
    async read(cookie, fromMs, toMs, limit) {
      const texts = (action: Action) => {
        const rows = open().read.all(cookie, actionCode(action), fromMs, toMs, limit) as Array<{ json: string; payload: Uint8Array }>;
        return rows.map((r) => (o.json ? r.json : JSON.stringify(codec.decode(r.payload))));
      };
      return { views: texts('VIEW'), buys: texts('BUY') };
    },
    async checkReady() {},
    async close() {
      db?.close();
      db = undefined;
      s = undefined;
    },
  };
}

/**
 * One row per (cookie, action) holding its kept tags newest first, each as time (8 bytes), digest
 * length (1) and digest, payload length (4) and payload; a batch rewrites the row of each key it touches.
 */
function blobStore(path: string): ProfileStore {
  let db: DatabaseSync | undefined;
  let s: Record<'get' | 'put' | 'position' | 'positions', StatementSync> | undefined;
  interface Tag {
    timeMs: number;
    digest: Buffer;
    payload: Buffer;
  }
  const decode = (blob: Uint8Array): Tag[] => {
    const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    const tags: Tag[] = [];
    for (let at = 0; at < b.length; ) {
      const timeMs = Number(b.readBigInt64BE(at));
      const digestLength = b.readUInt8(at + 8);
      const digest = b.subarray(at + 9, at + 9 + digestLength);
      const payloadLength = b.readUInt32BE(at + 9 + digestLength);
      const payload = b.subarray(at + 13 + digestLength, at + 13 + digestLength + payloadLength);
      tags.push({ timeMs, digest, payload });
      at += 13 + digestLength + payloadLength;
    }
    return tags;
  };
  const encode = (tags: readonly Tag[]): Buffer => {
    const parts: Buffer[] = [];
    for (const t of tags) {
      const head = Buffer.alloc(9);
      head.writeBigInt64BE(BigInt(t.timeMs));
      head.writeUInt8(t.digest.length, 8);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(t.payload.length);
      parts.push(head, t.digest, length, t.payload);
    }
    return Buffer.concat(parts);
  };
  const newestFirst = (a: Tag, b: Tag) => b.timeMs - a.timeMs || Buffer.compare(b.digest, a.digest);
  function open() {
    if (db !== undefined && s !== undefined) return s;
    db = openSqlite(path, 'derived');
    db.exec('PRAGMA mmap_size = 1073741824');
    db.exec(`CREATE TABLE IF NOT EXISTS profile_blobs (cookie TEXT NOT NULL, action INTEGER NOT NULL, tags BLOB NOT NULL,
        PRIMARY KEY (cookie, action)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS profile_positions (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
        PRIMARY KEY (topic, partition)) WITHOUT ROWID`);
    s = {
      get: db.prepare('SELECT tags FROM profile_blobs WHERE cookie = ? AND action = ?'),
      put: db.prepare(`INSERT INTO profile_blobs (cookie, action, tags) VALUES (?, ?, ?)
        ON CONFLICT (cookie, action) DO UPDATE SET tags = excluded.tags`),
      ...positionStatements(db),
    };
    return s;
  }
  return {
    async migrate() {
      open();
    },
    async apply(entries, position) {
      const st = open();
      const byKey = new Map<string, { cookie: string; action: number; added: ProfileEntry[] }>();
      for (const e of entries) {
        const action = actionCode(e.action);
        const key = `${action}${e.cookie}`;
        const seen = byKey.get(key);
        if (seen === undefined) byKey.set(key, { cookie: e.cookie, action, added: [e] });
        else seen.added.push(e);
      }
      inBatchTransaction(db as DatabaseSync, st.position, position, () => {
        for (const { cookie, action, added } of byKey.values()) {
          const row = st.get.get(cookie, action) as { tags: Uint8Array } | undefined;
          const tags = row === undefined ? [] : decode(row.tags);
          const ids = new Set(tags.map((t) => `${t.timeMs}/${t.digest.toString('hex')}`));
          for (const e of added) {
            const id = `${e.timeMs}/${e.digest.toString('hex')}`;
            if (!ids.has(id)) tags.push({ timeMs: e.timeMs, digest: e.digest, payload: e.payload });
            ids.add(id);
          }
          tags.sort(newestFirst);
          st.put.run(cookie, action, encode(tags.slice(0, PROFILE_KEEP)));
        }
      });
    },
    async positions(topic) {
      return recordedPositions(open().positions, topic);
    },
    async read(cookie, fromMs, toMs, limit) {
      const texts = (action: Action) => {
        const row = open().get.get(cookie, actionCode(action)) as { tags: Uint8Array } | undefined;
        if (row === undefined) return [];
        const out: string[] = [];
        for (const t of decode(row.tags)) {
          if (out.length >= limit) break;
          if (t.timeMs >= fromMs && t.timeMs < toMs) out.push(JSON.stringify(codec.decode(t.payload)));
        }
        return out;
      };
      return { views: texts('VIEW'), buys: texts('BUY') };
    },
    async checkReady() {},
    async close() {
      db?.close();
      db = undefined;
      s = undefined;
    },
  };
}

interface Layout {
  readonly key: string;
  readonly name: string;
  open(path: string): ProfileStore;
}
const LAYOUTS: Layout[] = [
  { key: 'store', name: `the store (read-models): trimmed at ${PROFILE_KEEP} + ${TRIM_SLACK}, JSON text`, open: createSqliteProfileStore },
  {
    key: 'payloads',
    name: `trimmed at ${PROFILE_KEEP} + ${TRIM_SLACK}, Avro payload (the store before the JSON text)`,
    open: (p) => rowStore(p, { slack: TRIM_SLACK }),
  },
  { key: 'rows', name: 'trimmed at every batch (the store before)', open: (p) => rowStore(p, {}) },
  { key: 'sorted', name: '… a batch inserted in key order', open: (p) => rowStore(p, { sortBatch: true }) },
  { key: 'page1k', name: '… 1 KB pages', open: (p) => rowStore(p, { pageSize: 1024 }) },
  { key: 'page2k', name: '… 2 KB pages', open: (p) => rowStore(p, { pageSize: 2048 }) },
  { key: 'page8k', name: '… 8 KB pages', open: (p) => rowStore(p, { pageSize: 8192 }) },
  { key: 'ckpt4k', name: '… checkpoint every 4,000 WAL pages', open: (p) => rowStore(p, { checkpointPages: 4000 }) },
  { key: 'ckpt16k', name: '… checkpoint every 16,000 WAL pages', open: (p) => rowStore(p, { checkpointPages: 16_000 }) },
  { key: 'arrival', name: 'rows in arrival order (rowid) + a unique index on the key', open: (p) => rowStore(p, { arrival: true }) },
  { key: 'arrival1k', name: '… 1 KB pages', open: (p) => rowStore(p, { arrival: true, pageSize: 1024 }) },
  { key: 'blob', name: 'one blob row per (cookie, action)', open: blobStore },
  ...[2, 5, 20, 50, 100].map((slack) => ({
    key: `slack${slack}`,
    name: `trimmed at ${PROFILE_KEEP} + ${slack}`,
    open: (p: string) => rowStore(p, { slack }),
  })),
  {
    key: 'storeprobed',
    name: `trimmed at ${PROFILE_KEEP} + ${TRIM_SLACK}, JSON text, every touched pair counted at every batch (the store before 2026-12-04 night)`,
    open: (p) => rowStore(p, { slack: TRIM_SLACK, json: true }),
  },
  {
    key: 'storeckpt16k',
    name: `trimmed at ${PROFILE_KEEP} + ${TRIM_SLACK}, JSON text, checkpoint every 16,000 WAL pages`,
    open: (p) => rowStore(p, { slack: TRIM_SLACK, json: true, checkpointPages: 16_000 }),
  },
];
/** Ratios are to this row when it ran: the store as it was before TRIM_SLACK. */
const BASE_NAME = (LAYOUTS.find((l) => l.key === 'rows') as Layout).name;
const chosen = process.env.BENCH_LAYOUTS?.split(',');
const layouts = chosen === undefined ? LAYOUTS : LAYOUTS.filter((l) => chosen.includes(l.key));

// --- the stream --------------------------------------------------------------

const codec = createEventCodec();

/** Fills an in-memory embedded log with the workload's tags, encoded as the command API encodes them. */
function fillLog(w: Workload) {
  const log = openEmbeddedLog(':memory:');
  log.ensureTopic(TOPIC, PARTITIONS);
  /** Per (cookie, action), how many tags it got: what a read can return is min(that, PROFILE_KEEP). */
  const counts = new Map<string, number>();
  const sample: string[] = [];
  const total = w.warmup + w.measure;
  const every = Math.max(1, Math.floor(total / READS));
  let chunk: Array<{ key: string; value: Buffer; headers: Record<string, string> }> = [];
  let i = 0;
  for (const tag of referenceTags(7, START, total, w.cookies)) {
    const parsed = parseUserTag(tag);
    if (!parsed.ok) throw parsed.error;
    chunk.push({ key: tag.cookie, value: codec.encode(parsed.value), headers: {} });
    const key = `${tag.action}/${tag.cookie}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (i++ % every === 0 && sample.length < READS) sample.push(tag.cookie);
    if (chunk.length === 10_000) {
      log.append(TOPIC, chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) log.append(TOPIC, chunk);
  let kept = 0;
  for (const n of counts.values()) kept += Math.min(n, PROFILE_KEEP);
  return { log, kept, sample };
}

type Log = ReturnType<typeof openEmbeddedLog>;

/** The batches a reader hands the projector: up to `size(applied)` records of each partition in turn. */
function* batches(log: Log, size: (applied: number) => number): Generator<SourceBatch> {
  const next = new Map<number, bigint>();
  for (let p = 0; p < PARTITIONS; p++) next.set(p, 0n);
  let applied = 0;
  while (next.size > 0) {
    for (const [partition, from] of [...next]) {
      const records = log.read(TOPIC, partition, from, size(applied));
      const last = records.at(-1);
      if (last === undefined) {
        next.delete(partition);
        continue;
      }
      next.set(partition, last.offset + 1n);
      applied += records.length;
      yield { topic: TOPIC, partition, records, heartbeat: async () => {} };
    }
  }
}

// --- measuring ---------------------------------------------------------------

function io(): { writeBytes: number; wchar: number } {
  const text = readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { writeBytes: field('write_bytes'), wchar: field('wchar') };
}

const fileBytes = (path: string) => {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(path + suffix).size;
    } catch {}
  }
  return total;
};

interface Result {
  workload: string;
  layout: string;
  tags: number;
  writeBytesPerTag: number;
  wcharPerTag: number;
  fileBytes: number;
  fileBytesPerKeptTag: number;
  answers: string;
  readP50Us: number;
  readP99Us: number;
  recentP50Us: number;
  oldP50Us: number;
  applySeconds: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const logger = createLogger('bench', 'warn');
const observer = { onApplied() {}, onDeadLetter() {}, onStoreRetry() {} };
const deadLetters = {
  async park() {
    throw new Error('a reference tag did not decode');
  },
  async close() {},
};

async function run(w: Workload, layout: Layout, log: Log, kept: number, sample: readonly string[]): Promise<Result> {
  const dir = mkdtempSync(join(DIR, 'profile-bytes-'));
  const path = join(dir, 'profiles.sqlite');
  const store = layout.open(path);
  try {
    await store.migrate();
    const projector = createProfileProjector(store, codec, deadLetters, observer, logger);
    let applied = 0;
    let measured = 0;
    let before: ReturnType<typeof io> | undefined;
    let started = 0;
    for (const batch of batches(log, (done) => (done < w.warmup ? Math.min(WARMUP_BATCH, w.warmup - done) : BATCH))) {
      if (before === undefined && applied >= w.warmup) {
        before = io();
        started = performance.now();
      }
      await projector.handle(batch);
      applied += batch.records.length;
      if (before !== undefined) measured += batch.records.length;
    }
    const after = io();
    const applySeconds = (performance.now() - started) / 1000;
    if (before === undefined || measured === 0) throw new Error('nothing was measured');
    const size = fileBytes(path);

    // The same reads of every layout: the answers' hash, and their times. Three passes; the first warms the
    // caches, the other two are timed.
    const end = START + w.warmup + w.measure + 1;
    const at = (share: number) => START + Math.floor((w.warmup + w.measure) * share);
    const reads = {
      whole: [START, end, PROFILE_KEEP],
      // A recent stretch, and an old one where a full profile's tags were pushed out.
      recent: [at(0.97), at(0.99), 5],
      old: [START, at(0.6), 1000],
    } as const;
    const times = { whole: [] as number[], recent: [] as number[], old: [] as number[] };
    let answers = '';
    for (let pass = 0; pass < 3; pass++) {
      const hash = createHash('sha256');
      for (const cookie of sample) {
        for (const [kind, [from, to, limit]] of Object.entries(reads) as Array<[keyof typeof reads, readonly [number, number, number]]>) {
          const t0 = performance.now();
          const answer = await store.read(cookie, from, to, limit);
          if (pass > 0) times[kind].push((performance.now() - t0) * 1000);
          for (const [action, texts] of [
            ['VIEW', answer.views],
            ['BUY', answer.buys],
          ] as const) {
            hash.update(`${cookie}/${action}/${kind}/${texts.length};`);
            for (const text of texts) hash.update(text);
          }
        }
      }
      answers = hash.digest('hex').slice(0, 12);
    }
    for (const list of Object.values(times)) list.sort((a, b) => a - b);
    return {
      workload: w.name,
      layout: layout.name,
      tags: measured,
      writeBytesPerTag: (after.writeBytes - before.writeBytes) / measured,
      wcharPerTag: (after.wchar - before.wchar) / measured,
      fileBytes: size,
      fileBytesPerKeptTag: size / kept,
      answers,
      readP50Us: quantile(times.whole, 0.5),
      readP99Us: quantile(times.whole, 0.99),
      recentP50Us: quantile(times.recent, 0.5),
      oldP50Us: quantile(times.old, 0.5),
      applySeconds,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- the run -----------------------------------------------------------------

console.log(`bench:profile-bytes on ${machineLine()}: store files in ${DIR}, batches of ${BATCH}`);
const results: Result[] = [];
for (const w of WORKLOADS) {
  const filling = performance.now();
  const { log, kept, sample } = fillLog(w);
  console.log(
    `\n${w.name}: ${(w.warmup + w.measure).toLocaleString('en')} tags in the log (${((performance.now() - filling) / 1000).toFixed(0)} s), ` +
      `${kept.toLocaleString('en')} of them readable at the end; measuring the last ${w.measure.toLocaleString('en')}`,
  );
  for (const layout of layouts) {
    const r = await run(w, layout, log, kept, sample);
    results.push(r);
    console.log(
      `  ${layout.name.padEnd(60)} ${Math.round(r.writeBytesPerTag).toLocaleString('en').padStart(7)} B/tag written ` +
        `(wchar ${Math.round(r.wcharPerTag).toLocaleString('en')}), file ${(r.fileBytes / 2 ** 20).toFixed(0)} MiB, ` +
        `answers ${r.answers}, reads p50/p99 ${r.readP50Us.toFixed(0)}/${r.readP99Us.toFixed(0)} µs ` +
        `(recent ${r.recentP50Us.toFixed(0)}, old ${r.oldP50Us.toFixed(0)}), ${r.applySeconds.toFixed(1)} s`,
    );
    if (r.writeBytesPerTag === 0) console.warn(`  nothing reached the disk: is ${DIR} a tmpfs? (BENCH_DIR)`);
  }
  log.close();
}

const lines: string[] = [];
for (const w of WORKLOADS) {
  const rows = results.filter((r) => r.workload === w.name);
  const base = rows.find((r) => r.layout === BASE_NAME) ?? rows[0];
  if (base === undefined) continue;
  lines.push(
    `\n**${w.name}**: ${w.measure.toLocaleString('en')} tags measured after ${w.warmup.toLocaleString('en')}.\n`,
    '| layout | bytes written per tag (write_bytes) | vs the base row | bytes handed to write() per tag (wchar) | file per readable tag | same answers | read µs: whole profile p50 / p99; recent, old p50 |',
    '|---|---:|---:|---:|---:|---|---:|',
    ...rows.map(
      (r) =>
        `| ${r.layout} | ${Math.round(r.writeBytesPerTag).toLocaleString('en')} | ${(r.writeBytesPerTag / base.writeBytesPerTag).toFixed(2)} | ` +
        `${Math.round(r.wcharPerTag).toLocaleString('en')} | ${Math.round(r.fileBytesPerKeptTag)} B | ${r.answers === base.answers ? 'yes' : `**no** (${r.answers})`} | ` +
        `${r.readP50Us.toFixed(0)} / ${r.readP99Us.toFixed(0)}; ${r.recentP50Us.toFixed(0)}, ${r.oldP50Us.toFixed(0)} |`,
    ),
  );
}
const markdown = `
## Profile store bytes per tag (\`bench:profile-bytes\`)

Reproduce: \`./run.sh bench:profile-bytes\` (batches of ${BATCH}, warm-up batches of ${WARMUP_BATCH}, ${READS.toLocaleString('en')} cookies read).
Machine: ${machineLine()}; store files on ${DIR}. Run at ${new Date().toISOString()}.
Reference tags through the profile projector into a new store file per layout; bytes are the process's
\`write_bytes\` (page-cache bytes dirtied, what the disk gets) and \`wchar\` (what SQLite handed to \`write()\`)
over the measured tags, divided by them. docs/embedded.md ("Fewer synced bytes per tag") reads the numbers.
${lines.join('\n')}
`;
if (chosen === undefined) writeReport('profile-bytes', markdown, { machine: machineLine(), BATCH, WARMUP_BATCH, READS, results });
console.log(markdown);
process.exit(0);
