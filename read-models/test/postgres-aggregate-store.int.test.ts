import { createTestDatabase } from '@usertags/testkit';
import { createPostgresAggregateStore, createPostgresAggregateVersions } from '../src/aggregates/postgres-aggregate-store.ts';
import { type AggregateStore, describeAggregateStoreContract } from './aggregate-store.contract.ts';

describeAggregateStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase('aggregates');
  const config = { connectionString: database.url };
  const store = createPostgresAggregateStore(config);
  const versions = createPostgresAggregateVersions(config);
  const fixed: AggregateStore[] = [];
  return {
    store,
    versions,
    at(version) {
      const s = createPostgresAggregateStore(config, version);
      fixed.push(s);
      return s;
    },
    async cleanup() {
      await Promise.all([store, versions, ...fixed].map((s) => s.close()));
      await database.drop();
    },
  };
});
