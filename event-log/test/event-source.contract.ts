import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventSource, SourceBatch } from '@usertags/contracts';
import { waitFor } from '@usertags/testkit';

/** What an adapter's test provides to run the shared EventSource suite. */
export interface EventSourceFixture {
  /** A fresh topic with `partitions` partitions; `write` appends records with these keys (values = key#n). */
  createTopic(partitions: number): Promise<{ topic: string; write(keys: string[]): Promise<void> }>;
  /** A reader of `topic` in the consumer group this test calls `group`. */
  source(topic: string, group: string): EventSource;
  /** The real group id behind a test's group name. */
  groupId(group: string): string;
  cleanup(): Promise<void>;
}

interface Seen {
  readonly partition: number;
  readonly offset: bigint;
  readonly value: string;
}

/** Starts `source`, collecting what it delivers; `handler` may throw to refuse a batch. */
async function collect(
  source: EventSource,
  options: Parameters<EventSource['start']>[1],
  handler: (batch: SourceBatch) => void = () => {},
): Promise<Seen[]> {
  const seen: Seen[] = [];
  await source.start(async (batch) => {
    handler(batch);
    for (const r of batch.records) seen.push({ partition: batch.partition, offset: r.offset, value: r.value?.toString() ?? '' });
  }, options);
  return seen;
}

/** The behaviour every EventSource adapter must have (Kafka and the embedded log). */
export function describeEventSourceContract(name: string, fixture: EventSourceFixture): void {
  describe(`EventSource contract: ${name}`, () => {
    let topic: string;
    const keys = Array.from({ length: 40 }, (_, i) => `cookie-${i % 7}`);
    const sources: EventSource[] = [];
    const source = (group: string) => {
      const s = fixture.source(topic, group);
      sources.push(s);
      return s;
    };

    before(async () => {
      const created = await fixture.createTopic(3);
      topic = created.topic;
      await created.write(keys);
    });
    after(async () => {
      await Promise.all(sources.map((s) => s.stop().catch(() => {})));
      await fixture.cleanup();
    });

    it('delivers every record once, each partition in offset order, from where startFrom says', async () => {
      const s = source('all');
      const seen = await collect(s, { startFrom: () => 0n });
      await waitFor(
        async () => seen.length >= keys.length,
        30_000,
        () => `${seen.length} of ${keys.length} delivered`,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(seen.length, keys.length, 'nothing twice');
      for (const p of new Set(seen.map((x) => x.partition))) {
        const offsets = seen.filter((x) => x.partition === p).map((x) => x.offset);
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => BigInt(i)),
          `partition ${p} from 0 without gaps`,
        );
      }
      // A key's records are in one partition, in the order they were written.
      const ofKey = seen.filter((x) => x.value.startsWith('cookie-3#'));
      assert.equal(new Set(ofKey.map((x) => x.partition)).size, 1);
      assert.deepEqual(
        ofKey.map((x) => x.value),
        keys.flatMap((k, i) => (k === 'cookie-3' ? [`${k}#${i}`] : [])),
      );
      const lag = await s.lag(topic, new Map([...new Set(seen.map((x) => x.partition))].map((p) => [p, 1n])));
      const total = [...lag.values()].reduce((a, b) => a + b, 0);
      assert.equal(total, keys.length - lag.size, 'lag counts the records after the applied offsets');
      await s.stop();
    });

    it('starts each partition at the offset startFrom gives', async () => {
      const seen = await collect(source('from-2'), { startFrom: () => 2n });
      const partitions = 3;
      await waitFor(
        async () => seen.length >= keys.length - 2 * partitions,
        30_000,
        () => `${seen.length} delivered`,
      );
      assert.ok(seen.every((x) => x.offset >= 2n));
    });

    it('goes back to a sought offset when the handler refuses the batch', async () => {
      let refused = false;
      const s = source('seek');
      const seen = await collect(s, { startFrom: () => 0n }, (batch) => {
        const last = batch.records.at(-1);
        if (!refused && last !== undefined && last.offset >= 3n) {
          refused = true;
          s.seek(batch.topic, batch.partition, 1n);
          throw new Error('refused: read again from offset 1');
        }
      });
      await waitFor(
        async () => refused && seen.length >= keys.length - 1,
        60_000,
        () => `${seen.length} delivered after a seek`,
      );
      const again = seen.filter((x) => x.offset === 1n);
      assert.ok(again.length >= 1, 'offset 1 of the refused partition is delivered after the seek');
    });

    it('describes the log: an identity of its own for each topic, and where each partition starts and ends', async () => {
      const s = source('describe');
      const log = await s.describe(topic);
      assert.ok(log !== undefined);
      assert.deepEqual(await s.describe(topic), log, 'the same topic, the same description');
      assert.deepEqual([...log.partitions.keys()].sort(), [0, 1, 2]);
      const held = [...log.partitions.values()].reduce((sum, p) => sum + Number(p.end - p.start), 0);
      assert.equal(held, keys.length);
      const other = await fixture.createTopic(3);
      const otherLog = await s.describe(other.topic);
      assert.ok(otherLog !== undefined);
      assert.notEqual(otherLog.identity, log.identity, 'another topic is another log');
      assert.equal(await s.describe(`${topic}-never-created`), undefined);
    });

    it('hands over nothing while paused, and goes on where it was once resumed', async () => {
      const s = source('pause');
      s.pause();
      const seen = await collect(s, { startFrom: () => 0n });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(seen.length, 0, 'nothing while paused');
      s.resume();
      await waitFor(
        async () => seen.length >= keys.length,
        30_000,
        () => `${seen.length} delivered after resume`,
      );
    });

    it('resumes a group from its committed position when startFrom has nothing to say', async () => {
      const first = source('committed');
      const seen = await collect(first, { startFrom: () => 0n });
      await waitFor(
        async () => seen.length >= keys.length,
        30_000,
        () => `${seen.length} delivered`,
      );
      const partitions = [...new Set(seen.map((x) => x.partition))];
      await first.commit(
        topic,
        partitions.map((partition) => ({ partition, nextOffset: 2n })),
      );
      await first.stop();
      const other = source('observer');
      assert.deepEqual(
        await other.committed(topic, fixture.groupId('committed')),
        new Map(partitions.map((p) => [p, 2n])),
        'another reader sees what the group committed',
      );
      const second = source('committed');
      const resumed = await collect(second, {});
      await waitFor(
        async () => resumed.length >= keys.length - 2 * partitions.length,
        30_000,
        () => `${resumed.length} delivered`,
      );
      assert.ok(
        resumed.every((x) => x.offset >= 2n),
        'nothing before the committed offsets',
      );
    });
  });
}
