import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteAggregateStore } from '@usertags/read-models';
import { describeAggregateProjector } from './aggregate-projector.contract.ts';

// The same tests as on PostgreSQL (aggregate-projector.int.test.ts), on the embedded store: no server needed.
describeAggregateProjector('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aggregate-projector-'));
  return {
    store: createSqliteAggregateStore(join(dir, 'aggregates.sqlite')),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
