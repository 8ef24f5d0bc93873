import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shuffledBrokers } from '../src/kafka/kafka-client.ts';

describe('the broker list a kafkajs client is given', () => {
  const brokers = ['k1:9092', 'k2:9092', 'k3:9092'];

  it('holds every broker once, in a new order on each call', () => {
    const order = shuffledBrokers(brokers);
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const list = order();
      assert.deepEqual([...list].sort(), brokers);
      firsts.add(list[0] as string);
    }
    assert.deepEqual([...firsts].sort(), brokers, 'each broker comes first sometimes');
  });

  it('leaves the configured list as it was', () => {
    const configured = [...brokers];
    shuffledBrokers(configured, () => 0)();
    assert.deepEqual(configured, brokers);
  });
});
