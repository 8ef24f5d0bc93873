import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createEventCodec } from '@usertags/contracts';
import Aerospike from 'aerospike';
import { createAerospikeProfileStore, mapKeyOf } from '../src/profiles/aerospike-profile-store.ts';
import { describeProfileStoreContract, digestOf, entryOfTag, oldTag, readAction } from './profile-store.contract.ts';

// The Aerospike adapter runs the same suite as the embedded store whenever a server is configured:
//   AEROSPIKE_HOSTS=127.0.0.1:3000 [AEROSPIKE_NAMESPACE=test] ./run.sh test:int
// Without one it is reported as skipped, never as passed.
const hosts = process.env.AEROSPIKE_HOSTS;
if (hosts === undefined || hosts === '') {
  describe('ProfileStore contract: Aerospike', () => {
    it('runs when AEROSPIKE_HOSTS names a server', { skip: 'AEROSPIKE_HOSTS is not set' }, () => {});
  });
} else {
  describeProfileStoreContract('Aerospike', async () => {
    const config = { hosts, namespace: process.env.AEROSPIKE_NAMESPACE ?? 'test', set: `profiles_${randomUUID().slice(0, 8)}` };
    let current = createAerospikeProfileStore(config);
    return {
      store: current,
      async reopen() {
        current = createAerospikeProfileStore(config);
        await current.migrate();
        return current;
      },
      async cleanup() {
        await current.close();
      },
    };
  });

  it('Aerospike: answers a record written before the JSON text, whose values are Avro bytes, beside new values', async () => {
    const config = { hosts, namespace: process.env.AEROSPIKE_NAMESPACE ?? 'test', set: `profiles_${randomUUID().slice(0, 8)}` };
    const codec = createEventCodec();
    // What the store wrote before: the event's bytes as the map value.
    const client = await Aerospike.connect({ hosts });
    const store = createAerospikeProfileStore(config);
    try {
      await client.operate(
        { ns: config.namespace, set: config.set, key: Buffer.from('old', 'utf8') },
        [0, 1].map((i) =>
          Aerospike.maps.put('buys', mapKeyOf(Date.parse(oldTag(i, 'BUY').time), digestOf(i)), codec.encode(oldTag(i, 'BUY')), {
            order: Aerospike.maps.order.KEY_ORDERED,
          }),
        ),
      );
      await store.apply([entryOfTag(oldTag(2, 'BUY'), 2, codec)]);
      const expected = [2, 1, 0].map((i) => entryOfTag(oldTag(i, 'BUY'), i, codec).json);
      assert.deepEqual(await readAction(store, 'old', 'BUY', 0, Date.UTC(2023, 0, 1), 200), expected);
      assert.deepEqual(await readAction(store, 'old', 'BUY', 0, Date.UTC(2023, 0, 1), 2), expected.slice(0, 2));
    } finally {
      await store.close();
      await client.truncate(config.namespace, config.set, 0);
      await client.close();
    }
  });
}
