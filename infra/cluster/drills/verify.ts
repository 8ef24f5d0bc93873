// After a drill settles: what is in the log (the source of truth), and
// whether the read models answer exactly what the log holds.
//
// The tester knows which tags it sent and how each was answered; a tag that
// timed out may or may not be stored. The log settles that: the drill reads
// every record the tag topic gained during the drill, and then
// - lost: tags answered 2xx that are not in the log (must be 0);
// - in the log twice: a tag the log holds more than once (a producer retry
//   that idempotence did not catch; must be 0);
// - stored after a refusal: tags answered 503 or 4xx that are in the log (§3.1: must be 0);
// - counted twice: per minute and action, aggregates above what the log holds (must be 0);
// - wrong after settle: aggregates and profiles that differ from the answers
//   computed from the log (must be 0).
import {
  type Action,
  type Aggregate,
  type AggregatesAnswer,
  createEventCodec,
  type Filter,
  firstDifference,
  MS_PER_MINUTE,
  minuteOf,
  type ProfileAnswer,
} from '@usertags/contracts';
import {
  type AggregatesQuestion,
  cookieName,
  expectedAggregates,
  expectedProfile,
  type HistoryEntry,
  type Knowledge,
  type Ledger,
  type TagColumns,
  type TagRecord,
  TagState,
  type TagTable,
  tagRecord,
  userTag,
  type WorkloadShape,
} from '@usertags/tester';
import type kafkajs from 'kafkajs';
import { TAG_TOPIC } from '../replicas.ts';

export type Offsets = Map<number, bigint>;

/** The next offset of every partition of the tag topic. */
export async function endOffsets(admin: kafkajs.Admin): Promise<Offsets> {
  const offsets = await admin.fetchTopicOffsets(TAG_TOPIC);
  return new Map(offsets.map((o) => [o.partition, BigInt(o.offset)]));
}

export interface LogContents {
  /** How many times the log holds each tag of the run (index → count). */
  readonly copies: Uint8Array;
  /** Records that are not tags of this run (probes, a poison record of a drill, other writers). */
  readonly others: number;
  readonly records: number;
}

/** Reads every record between `from` and `to` (per partition) and finds the run's tags among them. */
export async function readLog(kafka: kafkajs.Kafka, from: Offsets, to: Offsets, shape: WorkloadShape, tags: number): Promise<LogContents> {
  const codec = createEventCodec();
  const copies = new Uint8Array(tags);
  let others = 0;
  let records = 0;
  const remaining = new Map<number, bigint>();
  // The next offset to count per partition: the consumer starts at the beginning and is moved to `from`
  // once it runs, so it may hand over records before `from`, and records it had handed over before
  // the move come again after it. Each offset counts once.
  const next = new Map<number, bigint>(from);
  for (const [partition, end] of to) if (end > (from.get(partition) ?? 0n)) remaining.set(partition, end);
  if (remaining.size === 0) return { copies, others, records };

  const consumer = kafka.consumer({ groupId: `drill-reader-${process.pid}-${Date.now()}`, maxBytes: 50 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic: TAG_TOPIC, fromBeginning: true });
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const end = remaining.get(batch.partition);
      if (end === undefined) return;
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (offset >= end) break;
        if (offset < (next.get(batch.partition) ?? 0n)) continue;
        next.set(batch.partition, offset + 1n);
        records++;
        try {
          const tag = codec.decode(message.value ?? Buffer.alloc(0));
          const index = Date.parse(tag.time) - shape.startMs;
          if (index >= 0 && index < tags && tag.cookie === cookieName(tagRecord(shape, index).cookie, shape.cookieSalt))
            copies[index] = (copies[index] as number) + 1;
          else others++;
        } catch {
          others++;
        }
        if (offset + 1n >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      }
    },
  });
  for (const [partition] of remaining) consumer.seek({ topic: TAG_TOPIC, partition, offset: String(from.get(partition) ?? 0n) });
  const timeout = setTimeout(finish, 120_000);
  await finished;
  clearTimeout(timeout);
  await consumer.disconnect();
  if (remaining.size > 0) throw new Error(`the log could not be read to its end in 120 s (partitions ${[...remaining.keys()].join(', ')})`);
  return { copies, others, records };
}

export interface Durability {
  readonly acknowledged: number;
  readonly lost: number;
  readonly twiceInLog: number;
  readonly storedAfterRefusal: number;
  /** Timed out or failed: the log says whether each was stored. */
  readonly uncertain: number;
  readonly uncertainStored: number;
}

export function durability(ledger: Ledger, log: LogContents): Durability {
  let acknowledged = 0;
  let lost = 0;
  let twiceInLog = 0;
  let storedAfterRefusal = 0;
  let uncertain = 0;
  let uncertainStored = 0;
  for (let i = 0; i < ledger.count; i++) {
    const state = ledger.state(i);
    const copies = log.copies[i] as number;
    if (copies > 1) twiceInLog++;
    if (state === TagState.accepted) {
      acknowledged++;
      if (copies === 0) lost++;
    } else if (state === TagState.absent) {
      if (copies > 0) storedAfterRefusal++;
    } else {
      uncertain++;
      if (copies > 0) uncertainStored++;
    }
  }
  return { acknowledged, lost, twiceInLog, storedAfterRefusal, uncertain, uncertainStored };
}

/** The run's tags as the log holds them (each once), for the tester's oracles. */
class LogTable implements TagTable {
  private readonly recs: TagRecord[];
  private readonly shape: WorkloadShape;
  private readonly log: LogContents;
  constructor(shape: WorkloadShape, log: LogContents) {
    this.shape = shape;
    this.log = log;
    this.recs = Array.from({ length: log.copies.length }, (_, i) => tagRecord(shape, i));
  }

  record(i: number): TagRecord {
    return this.recs[i] as TagRecord;
  }

  inLog(i: number): boolean {
    return (this.log.copies[i] as number) > 0;
  }

  *columns(fromMs: number, toMs: number): Iterable<TagColumns> {
    const first = Math.max(0, fromMs - this.shape.startMs);
    const last = Math.min(this.recs.length, toMs - this.shape.startMs);
    if (last <= first) return;
    const slice = this.recs.slice(first, last);
    yield {
      length: slice.length,
      action: slice.map((r) => r.action),
      origin: slice.map((r) => r.origin),
      brand: slice.map((r) => r.brand),
      category: slice.map((r) => r.category),
      price: slice.map((r) => r.price),
      timeMs: (k) => (slice[k] as TagRecord).timeMs,
      knowledge: (k): Knowledge => (this.inLog(first + k) ? 'visible' : 'absent'),
    };
  }

  code(filter: Filter, value: string): number {
    const prefix = filter === 'origin' ? 'origin_' : filter === 'brand_id' ? 'brand_' : 'category_';
    if (!value.startsWith(prefix)) return -1;
    const k = Number(value.slice(prefix.length));
    return Number.isInteger(k) ? k : -1;
  }
}

export interface AnswerCheck {
  readonly aggregatesAsked: number;
  readonly aggregatesWrong: number;
  /** Sum over minutes and actions of counts above what the log holds. */
  readonly countedTwice: number;
  /** Sum over minutes and actions of counts below what the log holds. */
  readonly missing: number;
  readonly profilesAsked: number;
  readonly profilesWrong: number;
  readonly firstWrong: string | undefined;
}

async function fetchJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, body: res.ok ? JSON.parse(text) : text };
}

const instant = (ms: number, millis: boolean) => new Date(ms).toISOString().slice(0, millis ? 23 : 19);

/**
 * Asks the query API about the whole run: every minute, both actions, count
 * and sum (a count above the log's is a tag counted twice); 40 filtered
 * questions; the profiles of the 200 busiest cookies of the run and 200
 * others over the run's range. Compares with the answers computed from the log.
 */
export async function checkAnswers(queryUrl: string, shape: WorkloadShape, log: LogContents, seed: number): Promise<AnswerCheck> {
  const table = new LogTable(shape, log);
  const tags = log.copies.length;
  const fromMs = minuteOf(shape.startMs);
  const toMs = minuteOf(shape.startMs + tags - 1) + MS_PER_MINUTE;
  let aggregatesAsked = 0;
  let aggregatesWrong = 0;
  let countedTwice = 0;
  let missing = 0;
  let profilesAsked = 0;
  let profilesWrong = 0;
  let firstWrong: string | undefined;
  const wrong = (what: string, detail: string | undefined) => {
    firstWrong ??= `${what}: ${detail}`;
  };

  const ask = async (q: AggregatesQuestion) => {
    const params = new URLSearchParams({ time_range: `${instant(q.fromMs, false)}_${instant(q.toMs, false)}`, action: q.action });
    for (const a of q.aggregates) params.append('aggregates', a);
    for (const [f, v] of Object.entries(q.filters)) params.set(f, v as string);
    const expected = expectedAggregates(q, table);
    if (!expected.determined) throw new Error(`aggregates from the log must be determined: ${expected.reason}`);
    const got = await fetchJson(`${queryUrl}/aggregates?${params}`);
    aggregatesAsked++;
    const diff = got.status === 200 ? firstDifference(expected.answer, got.body) : `status ${got.status}: ${got.body}`;
    if (diff !== undefined) {
      aggregatesWrong++;
      wrong(`GET /aggregates?${params}`, diff);
    }
    return { expected: expected.answer, got: got.status === 200 ? (got.body as AggregatesAnswer) : undefined };
  };

  // Every minute of the run, in ranges of at most 10 minutes.
  for (const action of ['VIEW', 'BUY'] as const satisfies readonly Action[]) {
    for (let at = fromMs; at < toMs; at += 10 * MS_PER_MINUTE) {
      const q: AggregatesQuestion = {
        fromMs: at,
        toMs: Math.min(toMs, at + 10 * MS_PER_MINUTE),
        action,
        aggregates: ['COUNT', 'SUM_PRICE'] satisfies Aggregate[],
        filters: {},
      };
      const { expected, got } = await ask(q);
      if (got === undefined) continue;
      expected.rows.forEach((row, r) => {
        const e = Number(row[2]);
        const g = Number(got.rows[r]?.[2] ?? Number.NaN);
        if (g > e) countedTwice += g - e;
        if (g < e) missing += e - g;
      });
    }
  }

  // Filtered questions, on values of tags of the run (deterministic per seed).
  let draw = seed >>> 0;
  const next = () => {
    draw = (Math.imul(draw, 1_664_525) + 1_013_904_223) >>> 0;
    return draw / 2 ** 32;
  };
  for (let k = 0; k < 40; k++) {
    const rec = table.record(Math.floor(next() * tags));
    const tag = userTag(rec);
    const filters: Partial<Record<Filter, string>> = {};
    if (k % 2 === 0) filters.origin = tag.origin;
    if (k % 4 < 2) filters.brand_id = tag.product_info.brand_id;
    if (k % 3 === 0 || Object.keys(filters).length === 0) filters.category_id = tag.product_info.category_id;
    const start = Math.max(fromMs, minuteOf(rec.timeMs) - Math.floor(next() * 3) * MS_PER_MINUTE);
    await ask({
      fromMs: start,
      toMs: Math.min(toMs, start + (1 + Math.floor(next() * 5)) * MS_PER_MINUTE),
      action: tag.action,
      aggregates: k % 2 === 0 ? ['SUM_PRICE', 'COUNT'] : ['COUNT'],
      filters,
    });
  }

  // Profiles: each cookie's tags of the run in the log, newest first, per action.
  const byCookie = new Map<number, [number[], number[]]>();
  for (let i = tags - 1; i >= 0; i--) {
    if (!table.inLog(i)) continue;
    const rec = table.record(i);
    let lists = byCookie.get(rec.cookie);
    if (lists === undefined) {
      lists = [[], []];
      byCookie.set(rec.cookie, lists);
    }
    lists[rec.action].push(i);
  }
  const ranked = [...byCookie.keys()].sort((a, b) => a - b);
  const chosen = new Set(ranked.slice(0, 200));
  while (chosen.size < Math.min(ranked.length, 400)) chosen.add(ranked[Math.floor(next() * ranked.length)] as number);
  const history = (indices: readonly number[]): HistoryEntry[] =>
    indices.map((i) => ({ timeMs: table.record(i).timeMs, knowledge: 'visible', tag: () => userTag(table.record(i)) }));
  for (const rank of chosen) {
    const [views, buys] = byCookie.get(rank) as [number[], number[]];
    const cookie = cookieName(rank, shape.cookieSalt);
    const expected = expectedProfile(
      { cookie, fromMs: shape.startMs, toMs: shape.startMs + tags, limit: 200 },
      history(views),
      history(buys),
    );
    if (!expected.determined) throw new Error(`a profile from the log must be determined: ${expected.reason}`);
    const path = `/user_profiles/${encodeURIComponent(cookie)}?time_range=${instant(shape.startMs, true)}_${instant(shape.startMs + tags, true)}&limit=200`;
    const got = await fetchJson(`${queryUrl}${path}`);
    profilesAsked++;
    const diff = got.status === 200 ? firstDifference(expected.answer as ProfileAnswer, got.body) : `status ${got.status}: ${got.body}`;
    if (diff !== undefined) {
      profilesWrong++;
      wrong(`GET ${path}`, diff);
    }
  }
  return { aggregatesAsked, aggregatesWrong, countedTwice, missing, profilesAsked, profilesWrong, firstWrong };
}
