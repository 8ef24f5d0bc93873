import { createTestDatabase } from '@usertags/testkit';
import { createPostgresAggregateStore } from '../src/aggregates/postgres-aggregate-store.ts';
import { describeAggregateStoreContract } from './aggregate-store.contract.ts';

describeAggregateStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase('aggregates');
  const store = createPostgresAggregateStore({ connectionString: database.url });
  return {
    store,
    async cleanup() {
      await store.close();
      await database.drop();
    },
  };
});
