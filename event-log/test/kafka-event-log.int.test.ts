import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppendInDoubt, ContractError } from '@usertags/contracts';
import { createTopic, PrivateBroker, readTopic, testPort } from '@usertags/testkit';
import { createKafkaEventLog, type KafkaEventLog } from '../src/kafka/kafka-event-log.ts';
import { describeKafkaAppender, kafkaLogsOf } from './kafka-appender.shared.ts';

const { open: kafkaLog } = kafkaLogsOf(createKafkaEventLog);

describeKafkaAppender('Kafka (kafkajs)', kafkaLog);

describe('a Kafka log whose broker hangs with a request outstanding', () => {
  it('settles the request in doubt as stored once the broker answers again, each record once, and refuses new records for its partitions meanwhile', async () => {
    const broker = new PrivateBroker(testPort(5));
    const topic = 'in-doubt';
    let log: KafkaEventLog | undefined;
    try {
      await broker.start();
      await createTopic(topic, 4, broker.brokers);
      log = kafkaLog(broker.brokers, topic, 1000);
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
