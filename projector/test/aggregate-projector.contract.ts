import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createEventCodec,
  type DeadLetterSink,
  parseUserTag,
  type SourceBatch,
  type SourceRecord,
  type UserTagInput,
} from '@usertags/contracts';
import type { AggregateStore } from '@usertags/read-models';
import { createLogger } from '@usertags/runtime';
import { sampleTag } from '@usertags/testkit';
import { type AggregateProjector, createAggregateProjector } from '../src/core/aggregate-projector.ts';

const codec = createEventCodec();
const HOUR = 3_600_000;
const T0 = Date.UTC(2022, 2, 22, 12, 0);

function record(offset: number, tag: UserTagInput): SourceRecord {
  const parsed = parseUserTag(tag);
  assert.ok(parsed.ok);
  return { offset: BigInt(offset), key: tag.cookie, value: codec.encode(parsed.value), headers: {} };
}

function batch(partition: number, records: SourceRecord[]): SourceBatch {
  return { topic: 'tags', partition, records, heartbeat: async () => {} };
}

const at = (ms: number, n: number, price = 10): UserTagInput =>
  sampleTag(n, {
    time: new Date(ms).toISOString(),
    action: 'BUY',
    product_info: { product_id: 'p', brand_id: 'b', category_id: 'c', price },
  });

/** A fresh, empty aggregate store, and how to remove it afterwards. */
export interface FreshStore {
  readonly store: AggregateStore;
  drop(): Promise<void>;
}

/**
 * The aggregate projector's behaviour against a real store: run on PostgreSQL
 * (int tier, with the stack) and on the embedded SQLite store (unit tier, no
 * server needed).
 */
export function describeAggregateProjector(storeName: string, freshStore: () => Promise<FreshStore>): void {
  describe(`the aggregate projector on ${storeName}`, () => {
    let fresh: FreshStore;
    let store: AggregateStore;
    const parked: Array<{ offset: bigint; reason: string }> = [];
    const deadLetters: DeadLetterSink = {
      park: async (r, _source, reason) => {
        parked.push({ offset: r.offset, reason });
      },
      close: async () => {},
    };
    const counters = { late: 0, deadLetters: 0 };
    let projector: AggregateProjector;

    const newProjector = async (onReload: (offsets: ReadonlyMap<number, bigint>) => void = () => {}) => {
      const p = createAggregateProjector(
        store,
        codec,
        deadLetters,
        // One event is enough to move a partition's watermark here; the watermark's own tests need more.
        { topic: 'tags', maxEvents: 1000, maxDelayMs: 50, retentionMs: HOUR, confirmations: 1 },
        {
          onFlush: () => {},
          onDeadLetter: () => counters.deadLetters++,
          onLateEvent: () => counters.late++,
          onStoreRetry: () => {},
          onApplied: () => {},
          onReload,
        },
        createLogger('test', 'error'),
      );
      await p.init();
      return p;
    };

    const total = async (fromMs: number, toMs: number) =>
      (await store.readBuckets({ action: 'BUY', filters: {}, fromMs, toMs })).reduce((s, b) => s + Number(b.count), 0);

    before(async () => {
      fresh = await freshStore();
      store = fresh.store;
      await store.migrate();
      projector = await newProjector();
    });

    after(async () => {
      await store.close();
      await fresh.drop();
    });

    it('counts a batch delivered twice only once, across a restart too', async () => {
      const records = Array.from({ length: 20 }, (_, i) => record(i, at(T0 + i, i)));
      await projector.handle(batch(0, records));
      await projector.handle(batch(0, records)); // re-delivered before the flush
      await projector.flush();
      assert.equal(await total(T0, T0 + 60_000), 20);

      const restarted = await newProjector(); // as after a crash: the log re-delivers from its last commit
      await restarted.handle(batch(0, records));
      await restarted.flush();
      assert.equal(await total(T0, T0 + 60_000), 20);
      projector = restarted;
    });

    it('parks an undecodable record with its reason and goes on past it', async () => {
      const good = record(21, at(T0 + 100, 21));
      const poison: SourceRecord = { offset: 20n, key: 'x', value: Buffer.from('not avro'), headers: {} };
      await projector.handle(batch(0, [poison, good]));
      await projector.flush();
      assert.deepEqual(
        parked.map((p) => p.offset),
        [20n],
      );
      assert.match(parked[0]?.reason ?? '', /single-object/);
      assert.equal(await total(T0, T0 + 60_000), 21);
      assert.equal((await store.loadOffsets('tags')).get(0), 22n);
    });

    it('drops minutes more than the retention behind the low watermark, and does not count events that old', async () => {
      await projector.handle(batch(1, [record(0, at(T0 + 3 * HOUR, 1000))]));
      await projector.flush();
      assert.equal(await total(T0, T0 + 60_000), 21, 'partition 0 is still at T0: it holds retention back');
      await projector.handle(batch(0, [record(22, at(T0 + 3 * HOUR, 999))]));
      await projector.flush(); // every partition's watermark is now T0 + 3h; the horizon T0 + 2h
      assert.equal(await total(T0, T0 + 60_000), 0, 'the minutes at T0 are gone');
      const { horizonMs } = await store.readWatermarks();
      assert.equal(horizonMs, T0 + 2 * HOUR);

      const lateBefore = counters.late;
      await projector.handle(batch(1, [record(1, at(T0 + HOUR, 1001))]));
      await projector.flush();
      assert.equal(counters.late, lateBefore + 1);
      assert.equal(await total(T0 + HOUR, T0 + HOUR + 60_000), 0);
      assert.equal((await store.loadOffsets('tags')).get(1), 2n, 'the late event is skipped, not stuck');
    });

    it('flushes on its own once the oldest buffered event has waited long enough', async () => {
      await projector.handle(batch(2, [record(0, at(T0 + 3 * HOUR + 5, 2000))]));
      await projector.flushIfDue();
      await new Promise((r) => setTimeout(r, 60));
      await projector.flushIfDue();
      assert.equal(await total(T0 + 3 * HOUR, T0 + 3 * HOUR + 60_000), 3);
    });

    it('undoes a write another replica got in first on its next timed flush, with no more batches coming', async () => {
      // After a rebalance two replicas read the same partition; the one whose write comes second is refused.
      const records = Array.from({ length: 10 }, (_, i) => record(i, at(T0 + 4 * HOUR + i, 3000 + i)));
      const reloads: Array<ReadonlyMap<number, bigint>> = [];
      const first = await newProjector();
      const second = await newProjector((offsets) => reloads.push(offsets));
      await first.handle(batch(3, records.slice(0, 5)));
      await second.handle(batch(3, records));
      await first.flush();
      await second.flushIfDue(); // nothing due yet
      await new Promise((r) => setTimeout(r, 60));
      await second.flushIfDue(); // due: the write is refused (the first replica stored offsets 0-4)
      await second.flushIfDue(); // the traffic has stopped: only the timer comes
      assert.equal(reloads.length, 1, 'the reader is moved back without waiting for a batch');
      assert.equal(reloads[0]?.get(3), 5n, 'to the offset the store has');
      assert.equal(second.applied().get(3), 5n, "and what it reports applied (the lag) is the store's again");
      assert.equal(await total(T0 + 4 * HOUR, T0 + 4 * HOUR + 60_000), 5, 'the refused write counted nothing');
      await second.handle(batch(3, records.slice(5)));
      await second.flush();
      assert.equal(await total(T0 + 4 * HOUR, T0 + 4 * HOUR + 60_000), 10, 'the rest, read again, counted once');
    });

    it('does not count past records it never saw: a batch read before the reader was moved back is dropped', async () => {
      // A timed flush undoes a refused write and moves the reader back, while a batch fetched from the
      // old position is already on its way; it must not store progress over the records in between.
      const records = Array.from({ length: 30 }, (_, i) => record(i, at(T0 + 5 * HOUR + i, 4000 + i)));
      const reloads: Array<ReadonlyMap<number, bigint>> = [];
      const p = await newProjector((offsets) => reloads.push(offsets));
      await p.handle(batch(4, records.slice(0, 10)));
      await p.flush();
      await p.handle(batch(4, records.slice(20))); // starts at 20; 10-19 never came
      await p.flush();
      assert.equal(await total(T0 + 5 * HOUR, T0 + 5 * HOUR + 60_000), 10, 'nothing after the gap is counted');
      assert.equal(p.applied().get(4), 10n, 'and no progress over it is stored');
      assert.deepEqual(
        reloads.map((r) => [...r]),
        [[[4, 10n]]],
        'the reader is moved back to the first offset not applied',
      );
      await p.handle(batch(4, records.slice(10)));
      await p.flush();
      assert.equal(await total(T0 + 5 * HOUR, T0 + 5 * HOUR + 60_000), 30, 'read again from there, everything counted once');
    });

    it('reads on past offsets that hold no records once it has read again from the next offset and found the same gap', async () => {
      const records = [0, 1, 2, 5, 6].map((offset) => record(offset, at(T0 + 6 * HOUR + offset, 5000 + offset)));
      const reloads: Array<ReadonlyMap<number, bigint>> = [];
      const p = await newProjector((offsets) => reloads.push(offsets));
      await p.handle(batch(5, records.slice(0, 3)));
      await p.handle(batch(5, records.slice(3))); // 3 and 4 are markers, not records
      await p.handle(batch(6, [record(0, at(T0 + 6 * HOUR, 5100))])); // another partition's batch in between
      await p.handle(batch(5, records.slice(3))); // read again from 3: the same gap
      await p.flush();
      assert.equal(reloads.length, 1);
      assert.equal(await total(T0 + 6 * HOUR, T0 + 6 * HOUR + 60_000), 6);
      assert.equal(p.applied().get(5), 7n);
    });
  });
}
