import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { AppendInDoubt, ContractError, PartlyAppended } from '@usertags/contracts';
import { createLogger } from '@usertags/runtime';
import { createTopic, deleteTopic, PrivateBroker, readTopic, TEST_BROKERS, testPort, uniqueName } from '@usertags/testkit';
import { createKafkaEventLog, type KafkaEventLog } from '../src/kafka/kafka-event-log.ts';
import { describeEventLogContract } from './event-log.contract.ts';

const logger = createLogger('test', 'error');
const topics: string[] = [];
const logs: KafkaEventLog[] = [];

function kafkaLog(brokers: readonly string[], topic: string): KafkaEventLog {
  const log = createKafkaEventLog(
    { brokers, clientId: 'event-log-test', topic, partitions: 4, replicationFactor: 1, requestTimeoutMs: 2000 },
    logger,
  );
  logs.push(log);
  return log;
}

describeEventLogContract('Kafka', {
  async open() {
    const topic = uniqueName('event-log-contract');
    topics.push(topic);
    await createTopic(topic, 4);
    const log = kafkaLog(TEST_BROKERS, topic);
    return {
      log,
      partitions: 4,
      readAll: async () => (await readTopic(topic)).map((r) => ({ ...r })),
    };
  },
  async openUnreachable() {
    // Nothing listens on port 1.
    return kafkaLog(['127.0.0.1:1'], 'unreachable');
  },
  async cleanup() {
    await Promise.all(logs.map((l) => l.close()));
    await Promise.all(topics.map((t) => deleteTopic(t)));
  },
});

describe('a Kafka log with a hung broker in its list', () => {
  it('appends through the brokers that answer: a hung seed broker does not hold every new producer', async () => {
    // A "broker" that completes the TCP handshake and then never answers, like a SIGSTOPped one.
    const held: Socket[] = [];
    const hung = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const hungAddress = `127.0.0.1:${(hung.address() as AddressInfo).port}`;
    const topic = uniqueName('hung-broker');
    await createTopic(topic, 4);
    let log: KafkaEventLog | undefined;
    try {
      // The hung broker first, as in the broker-pause drill's list. A failed append makes a new
      // producer, which picks its seed broker again; with a fixed order it would always pick the hung one.
      log = createKafkaEventLog(
        {
          brokers: [hungAddress, ...TEST_BROKERS],
          clientId: 'hung-test',
          topic,
          partitions: 4,
          replicationFactor: 1,
          requestTimeoutMs: 500,
        },
        logger,
      );
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
      await log?.close();
      for (const socket of held) socket.destroy();
      hung.close();
      await deleteTopic(topic);
    }
  });
});

describe('a Kafka log whose broker hangs with a request outstanding', () => {
  it('settles the request in doubt as stored once the broker answers again, each record once, and refuses new records for its partitions meanwhile', async () => {
    const broker = new PrivateBroker(testPort(5));
    const topic = 'in-doubt';
    let log: KafkaEventLog | undefined;
    try {
      await broker.start();
      await createTopic(topic, 4, broker.brokers);
      log = createKafkaEventLog(
        { brokers: broker.brokers, clientId: 'in-doubt-test', topic, partitions: 4, replicationFactor: 1, requestTimeoutMs: 1000 },
        logger,
      );
      const record = (n: number) => ({ key: `cookie-${n % 7}`, value: Buffer.from(`tag ${n}`), headers: {} });
      await log.append([record(0)]);
      // The broker stops answering (SIGSTOP: its connections stay open, the kernel still takes the bytes),
      // and a batch is sent on the open connection: it waits unread in the socket, and the request
      // times out. Once the broker runs again it reads and writes that batch, so the resend is a duplicate.
      broker.signal('SIGSTOP');
      const batch = Array.from({ length: 20 }, (_, i) => record(1 + i));
      const outstanding = log.append(batch).then(
        () => 'appended',
        (error: unknown) => error,
      );
      const failed = await outstanding;
      assert.ok(failed instanceof AppendInDoubt, `the batch is in doubt, not refused: ${String(failed)}`);
      // Meanwhile a record for a partition in doubt is refused at once, not sent: it would only wait
      // for the same broker, and its failure would cost another producer.
      const meanwhile = await log.append([record(100)]).then(
        () => 'appended',
        (error: unknown) => error,
      );
      assert.ok(meanwhile instanceof ContractError && !(meanwhile instanceof AppendInDoubt), `refused: ${String(meanwhile)}`);
      assert.equal(meanwhile.code, 'LOG_UNAVAILABLE');
      assert.match(meanwhile.message, /finding out whether earlier tags were stored/);
      broker.signal('SIGCONT');
      const verdict = await failed.settled;
      assert.deepEqual(
        verdict,
        batch.map(() => true),
        'every record of the batch in doubt is found stored',
      );
      await log.append([record(200)]);
      const values = (await readTopic(topic, broker.brokers)).map((r) => r.value.toString());
      for (const r of batch) assert.equal(values.filter((v) => v === r.value.toString()).length, 1, `${r.value} once`);
      assert.ok(values.includes('tag 0') && values.includes('tag 200'));
      assert.equal(values.includes('tag 100'), false, 'the record refused while its partition was in doubt is not stored');
      assert.equal(new Set(values).size, values.length, 'nothing twice');
    } finally {
      await log?.close();
      await broker.destroy();
    }
  });
});

describe('a Kafka log whose batch a broker writes for some partitions and refuses for another', () => {
  it('answers the written records as stored, and stores every record appended after it', async () => {
    const topic = uniqueName('partly-written');
    topics.push(topic);
    // One partition's batch is refused (too large for the topic), the others' are written, all in one
    // produce request to the one broker: the request fails, yet most of it is stored.
    await createTopic(topic, 4, TEST_BROKERS, { 'max.message.bytes': '4096' });
    const log = kafkaLog(TEST_BROKERS, topic);
    after(() => log.close());
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
    // The same keys again: every record the log acknowledges is in it (a producer that had handed back
    // the written partitions' sequence numbers would have its next batch taken for a duplicate).
    await log.append(small(2));
    values = (await readTopic(topic)).map((r) => r.value.toString());
    for (const r of small(2)) assert.ok(values.includes(r.value.toString()), `${r.value} is stored`);
  });
});
