import { createPostgresAggregateStore } from '@usertags/read-models';
import { createTestDatabase } from '@usertags/testkit';
import { describeAggregateProjector } from './aggregate-projector.contract.ts';

describeAggregateProjector('PostgreSQL', async () => {
  const database = await createTestDatabase('projector');
  return { store: createPostgresAggregateStore({ connectionString: database.url }), drop: () => database.drop() };
});
