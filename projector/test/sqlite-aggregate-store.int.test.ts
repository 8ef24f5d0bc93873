import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteAggregateStore } from '../src/aggregates/sqlite-aggregate-store.ts';
import { describeAggregateStoreContract } from './aggregate-store.contract.ts';

describeAggregateStoreContract('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aggregates-'));
  const store = createSqliteAggregateStore(join(dir, 'aggregates.sqlite'));
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
