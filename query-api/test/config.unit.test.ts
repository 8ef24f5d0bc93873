import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';

const SERVERS = { AGGREGATES: 'postgres://u:p@db:5432/usertags', PROFILES: 'aerospike://as1:3000/usertags' };

describe('query API configuration', () => {
  it('runs one worker per core when both read models are servers', () => {
    assert.equal(loadConfig(SERVERS).WORKERS, Math.min(availableParallelism(), 64));
    assert.equal(loadConfig({ ...SERVERS, WORKERS: '4' }).WORKERS, 4);
    assert.ok(Object.isFrozen(loadConfig(SERVERS)));
  });

  it('runs one worker when a read model is an embedded file, as by default for the profiles', () => {
    assert.equal(loadConfig({}).WORKERS, 1);
    assert.equal(loadConfig({ ...SERVERS, AGGREGATES: 'sqlite:a.sqlite' }).WORKERS, 1);
    assert.equal(loadConfig({ ...SERVERS, PROFILES: 'sqlite:p.sqlite' }).WORKERS, 1);
    assert.equal(
      loadConfig({ DATABASE_URL: SERVERS.AGGREGATES, AEROSPIKE_HOSTS: 'as1:3000' }).WORKERS,
      Math.min(availableParallelism(), 64),
    );
  });

  it('refuses more than one worker beside an embedded read model, naming it', () => {
    assert.throws(
      () => loadConfig({ ...SERVERS, PROFILES: 'sqlite:p.sqlite', WORKERS: '2' }),
      (e: Error) => e.message.includes('WORKERS') && e.message.includes('the profile store (PROFILES)'),
    );
    assert.throws(
      () => loadConfig({ ...SERVERS, DATABASE_URL: 'sqlite:a.sqlite', AGGREGATES: undefined, WORKERS: '2' }),
      (e: Error) => e.message.includes('WORKERS') && e.message.includes('the aggregate store (DATABASE_URL)'),
    );
    assert.throws(
      () => loadConfig({ ...SERVERS, WORKERS: '65' }),
      (e: Error) => e.message.includes('WORKERS'),
    );
  });
});
