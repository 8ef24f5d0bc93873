import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteProfileStore } from '../src/profiles/sqlite-profile-store.ts';
import { describeProfileStoreContract } from './profile-store.contract.ts';

describeProfileStoreContract('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  let current = createSqliteProfileStore(path);
  return {
    store: current,
    async reopen() {
      current = createSqliteProfileStore(path);
      await current.migrate();
      return current;
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
