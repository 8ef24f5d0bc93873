import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventAppender, LogRecord } from '@usertags/contracts';

/** What an adapter's test provides to run the shared EventAppender suite. */
export interface EventLogFixture {
  /** A log over a fresh, empty stream (topic) with `partitions` partitions. */
  open(): Promise<{ log: EventAppender; partitions: number; readAll(): Promise<Array<LogRecord & { partition: number }>> }>;
  /** A log whose backing store cannot be reached. */
  openUnreachable(): Promise<EventAppender>;
  cleanup(): Promise<void>;
}

const rec = (key: string, n: number): LogRecord => ({
  key,
  value: Buffer.from(`${key}#${n}`),
  headers: { traceparent: `00-${'a'.repeat(32)}-${n.toString(16).padStart(16, '0')}-01` },
});

/**
 * The behaviour every EventAppender adapter must have. Each adapter's test
 * file calls this with its own fixture.
 */
export function describeEventLogContract(name: string, fixture: EventLogFixture): void {
  describe(`EventAppender contract: ${name}`, () => {
    after(() => fixture.cleanup());

    let opened: Awaited<ReturnType<EventLogFixture['open']>>;
    before(async () => {
      opened = await fixture.open();
    });

    it('keeps every appended record, with its key, value and headers', async () => {
      const records = Array.from({ length: 50 }, (_, i) => rec(`k${i % 5}`, i));
      await opened.log.append(records);
      const back = await opened.readAll();
      assert.equal(back.length, records.length);
      const byValue = new Map(back.map((r) => [r.value.toString(), r]));
      for (const r of records) {
        const got = byValue.get(r.value.toString());
        assert.ok(got, `record ${r.value.toString()} is in the log`);
        assert.equal(got.key, r.key);
        assert.deepEqual(got.headers, r.headers);
      }
    });

    it('puts all records of a key in one partition, in append order', async () => {
      await opened.log.append(Array.from({ length: 30 }, (_, i) => rec('ordered', 100 + i)));
      await opened.log.append(Array.from({ length: 30 }, (_, i) => rec('ordered', 130 + i)));
      const ordered = (await opened.readAll()).filter((r) => r.key === 'ordered');
      assert.equal(new Set(ordered.map((r) => r.partition)).size, 1);
      assert.deepEqual(
        ordered.map((r) => r.value.toString()),
        Array.from({ length: 60 }, (_, i) => `ordered#${100 + i}`),
      );
    });

    it('is ready when its store is reachable', async () => {
      await opened.log.checkReady();
    });

    it('rejects appends with a retryable LOG_UNAVAILABLE when its store is unreachable, in bounded time', async () => {
      const log = await fixture.openUnreachable();
      try {
        const started = Date.now();
        await assert.rejects(log.append([rec('x', 1)]), { code: 'LOG_UNAVAILABLE', retryable: true });
        assert.ok(Date.now() - started < 15_000, 'the failure is reported within 15 s');
        await assert.rejects(log.checkReady(), { code: 'LOG_UNAVAILABLE' });
      } finally {
        await log.close();
      }
    });
  });
}
