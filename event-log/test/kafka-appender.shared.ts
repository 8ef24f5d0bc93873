import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { AppendInDoubt, PartlyAppended } from '@usertags/contracts';
import { createLogger } from '@usertags/runtime';
import { createTopic, deleteTopic, readTopic, TEST_BROKERS, uniqueName } from '@usertags/testkit';
import type { KafkaEventLog, KafkaEventLogConfig } from '../src/kafka/kafka-event-log.ts';
import { describeEventLogContract } from './event-log.contract.ts';

/** Opens a log of the adapter under test (its test file keeps and closes what it opens); 2 s requests unless told. */
export type OpenKafkaLog = (brokers: readonly string[], topic: string, requestTimeoutMs?: number) => KafkaEventLog;

/**
 * A test file's opener of logs made by `create` (4 partitions, 2 s requests unless told), and the
 * topics it makes: every log is closed and every topic deleted after the file's tests.
 */
export function kafkaLogsOf(create: (config: KafkaEventLogConfig, logger: ReturnType<typeof createLogger>) => KafkaEventLog): {
  open: OpenKafkaLog;
  topics: string[];
} {
  const logger = createLogger('test', 'error');
  const logs: KafkaEventLog[] = [];
  const topics: string[] = [];
  after(async () => {
    await Promise.all(logs.map((l) => l.close()));
    await Promise.all(topics.map((t) => deleteTopic(t)));
  });
  const open: OpenKafkaLog = (brokers, topic, requestTimeoutMs = 2000) => {
    const log = create({ brokers, clientId: 'event-log-test', topic, partitions: 4, replicationFactor: 1, requestTimeoutMs }, logger);
    logs.push(log);
    return log;
  };
  return { open, topics };
}

/**
 * What every Kafka appender must do against a real broker: the shared
 * EventAppender contract, a batch that a broker writes for some partitions
 * and refuses for another, and a hung broker in the list. Each Kafka adapter's test file calls
 * this; topics made here are deleted after.
 */
export function describeKafkaAppender(name: string, open: OpenKafkaLog): void {
  const topics: string[] = [];
  after(() => Promise.all(topics.map((t) => deleteTopic(t))));

  describeEventLogContract(name, {
    async open() {
      const topic = uniqueName('event-log-contract');
      topics.push(topic);
      await createTopic(topic, 4);
      return { log: open(TEST_BROKERS, topic), partitions: 4, readAll: async () => (await readTopic(topic)).map((r) => ({ ...r })) };
    },
    // Nothing listens on port 1.
    openUnreachable: async () => open(['127.0.0.1:1'], 'unreachable'),
    async cleanup() {},
  });

  describe(`${name}: a batch a broker writes for some partitions and refuses for another`, () => {
    it('answers the written records as stored, and stores every record appended after it, once', async () => {
      const topic = uniqueName('partly-written');
      topics.push(topic);
      // One partition's batch is refused (too large for the topic), the others' are written, all in one
      // produce request to the one broker: the request fails, yet most of it is stored.
      await createTopic(topic, 4, TEST_BROKERS, { 'max.message.bytes': '4096' });
      const log = open(TEST_BROKERS, topic);
      const small = (round: number) =>
        Array.from({ length: 8 }, (_, i) => ({ key: `cookie-${i}`, value: Buffer.from(`round ${round} tag ${i}`), headers: {} }));
      const large = { key: 'cookie-large', value: Buffer.alloc(6000, 120), headers: {} };
      const first = [...small(1), large];
      const failed = await log.append(first).then(
        () => 'appended',
        (error: unknown) => error,
      );
      assert.ok(failed instanceof PartlyAppended, `the batch was partly written: ${String(failed)}`);
      assert.ok(!(failed instanceof AppendInDoubt), 'a refusal leaves nothing in doubt');
      let values = (await readTopic(topic)).map((r) => r.value.toString());
      assert.ok(values.length > 0 && values.length < first.length, `${values.length} of ${first.length} stored`);
      assert.deepEqual(
        failed.stored,
        first.map((r) => values.includes(r.value.toString())),
        'a record is answered stored exactly when it is in the log',
      );
      // The same keys again: every record the log acknowledges is in it, once (a producer that had handed
      // back the written partitions' sequence numbers would have its next batch taken for a duplicate).
      await log.append(small(2));
      values = (await readTopic(topic)).map((r) => r.value.toString());
      for (const r of small(2)) assert.equal(values.filter((v) => v === r.value.toString()).length, 1, `${r.value} is stored once`);
    });
  });

  describe(`${name}: a hung broker in its list`, () => {
    it('appends through the brokers that answer: a hung seed broker does not hold every new producer', async () => {
      // A "broker" that completes the TCP handshake and then never answers, like a SIGSTOPped one.
      const held: Socket[] = [];
      const hung = createServer((socket) => held.push(socket));
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      const hungAddress = `127.0.0.1:${(hung.address() as AddressInfo).port}`;
      const topic = uniqueName('hung-broker');
      topics.push(topic);
      await createTopic(topic, 4);
      try {
        // The hung broker first, as in the broker-pause drill's list. A failed append makes a new
        // producer, which picks its seed broker again; with a fixed order it would always pick the hung one.
        const log = open([hungAddress, ...TEST_BROKERS], topic, 500);
        let appended = 0;
        for (let attempt = 0; attempt < 20 && appended < 3; attempt++) {
          try {
            await log.append([{ key: `cookie-${attempt}`, value: Buffer.from(`tag ${attempt}`), headers: {} }]);
            appended++;
          } catch (error) {
            assert.equal((error as { code?: string }).code, 'LOG_UNAVAILABLE');
          }
        }
        assert.equal(appended, 3, 'three appends went through within 20 attempts');
        assert.equal((await readTopic(topic)).length, 3);
      } finally {
        for (const socket of held) socket.destroy();
        hung.close();
      }
    });
  });
}
