import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { LogRecord } from '@usertags/contracts';
import { createTopic, javaPartition, readTopic, TEST_BROKERS, uniqueName } from '@usertags/testkit';
import { createKafkaEventLog } from '../src/kafka/kafka-event-log.ts';
import { createPlatformaticEventLog } from '../src/platformatic/platformatic-event-log.ts';
import { describeKafkaAppender, kafkaLogsOf } from './kafka-appender.shared.ts';

const { open: platformaticLog, topics } = kafkaLogsOf(createPlatformaticEventLog);
// The kafkajs log beside it, to compare where keys land (its topics are made by this file's tests).
const { open: kafkajsLog } = kafkaLogsOf(createKafkaEventLog);

describeKafkaAppender('Kafka (@platformatic/kafka)', platformaticLog);

describe('the @platformatic/kafka log next to the kafkajs log', () => {
  it('puts every key in the partition the kafkajs log and the Java client put it in', async () => {
    // 12 partitions: with a power of two, the library's default partitioner (murmur2 >>> 0) would agree
    // with Java's (murmur2 & 0x7fffffff) by chance; with 12 it does not.
    const partitions = 12;
    const [viaKafkajs, viaPlatformatic] = [uniqueName('same-partitions-kafkajs'), uniqueName('same-partitions-plt')];
    topics.push(viaKafkajs, viaPlatformatic);
    await Promise.all([createTopic(viaKafkajs, partitions), createTopic(viaPlatformatic, partitions)]);
    const records: LogRecord[] = Array.from({ length: 300 }, (_, i) => ({
      key: i % 3 === 0 ? `cookie-${(i * 7919) % 100_000}` : `c${i}-\u00e9\u4e2d-${'x'.repeat(i % 9)}`,
      value: Buffer.from(`tag ${i}`),
      headers: {},
    }));
    await kafkajsLog(TEST_BROKERS, viaKafkajs).append(records);
    await platformaticLog(TEST_BROKERS, viaPlatformatic).append(records);

    const where = async (topic: string) => new Map((await readTopic(topic)).map((r) => [r.value.toString(), `${r.key} → ${r.partition}`]));
    const [a, b] = await Promise.all([where(viaKafkajs), where(viaPlatformatic)]);
    assert.equal(b.size, records.length);
    assert.deepEqual(b, a, 'each record is in the same partition under both clients');
    for (const r of records) assert.equal(b.get(r.value.toString()), `${r.key} → ${javaPartition(r.key, partitions)}`);
    assert.ok(new Set([...b.values()].map((w) => w.split(' → ')[1])).size === partitions, 'every partition got records');
  });
});

describe('a @platformatic/kafka log started while Kafka cannot be reached', () => {
  it('answers LOG_UNAVAILABLE, then appends once Kafka can be reached, without being made again', async () => {
    // A port that refuses connections at first, and later forwards to the broker. The broker's metadata
    // names its own address, so once the client has bootstrapped through the port it produces directly.
    const topic = uniqueName('starts-unreachable-plt');
    topics.push(topic);
    await createTopic(topic, 4);
    const placeholder = createServer();
    await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
    const port = (placeholder.address() as AddressInfo).port;
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));
    const log = platformaticLog([`127.0.0.1:${port}`], topic, 1000);
    const tag = (n: number) => [{ key: `cookie-${n}`, value: Buffer.from(`tag ${n}`), headers: {} }];
    await assert.rejects(log.append(tag(1)), { code: 'LOG_UNAVAILABLE', retryable: true });
    await assert.rejects(log.checkReady(), { code: 'LOG_UNAVAILABLE' });

    const [host, brokerPort] = (TEST_BROKERS[0] as string).split(':') as [string, string];
    const forwarded: Socket[] = [];
    const forwarder: Server = createServer((client) => {
      const broker = connect(Number(brokerPort), host, () => {
        client.pipe(broker).pipe(client);
      });
      forwarded.push(client, broker);
      broker.on('error', () => client.destroy());
      client.on('error', () => broker.destroy());
    });
    await new Promise<void>((resolve) => forwarder.listen(port, '127.0.0.1', resolve));
    try {
      let appended = false;
      for (let attempt = 0; attempt < 40 && !appended; attempt++) {
        appended = await log.append(tag(2)).then(
          () => true,
          async () => {
            await new Promise((r) => setTimeout(r, 250));
            return false;
          },
        );
      }
      assert.ok(appended, 'an append went through within about 10 s of Kafka becoming reachable');
      await log.checkReady();
      const values = (await readTopic(topic)).map((r) => r.value.toString());
      assert.ok(values.includes('tag 2'));
    } finally {
      for (const s of forwarded) s.destroy();
      forwarder.close();
    }
  });
});
