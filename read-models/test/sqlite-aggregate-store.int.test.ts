import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteAggregateStore, createSqliteAggregateVersions } from '../src/aggregates/sqlite-aggregate-store.ts';
import { type AggregateStore, describeAggregateStoreContract } from './aggregate-store.contract.ts';

describeAggregateStoreContract('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aggregates-'));
  const path = join(dir, 'aggregates.sqlite');
  const store = createSqliteAggregateStore(path);
  const versions = createSqliteAggregateVersions(path);
  const fixed: AggregateStore[] = [];
  return {
    store,
    versions,
    at(version) {
      const s = createSqliteAggregateStore(path, version);
      fixed.push(s);
      return s;
    },
    async cleanup() {
      await Promise.all([store, versions, ...fixed].map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
