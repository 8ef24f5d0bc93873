import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createAerospikeProfileStore } from '../src/profiles/aerospike-profile-store.ts';
import { describeProfileStoreContract } from './profile-store.contract.ts';

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
}
