import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseAggregates, chooseEventLog, chooseProfiles, parseEventLogUrl, parseProfilesUrl } from '../src/adapters.ts';

const PROFILE_DEFAULTS = { AEROSPIKE_NAMESPACE: 'test', AEROSPIKE_SET: 'profiles', PROFILE_STORE_PATH: 'data/profiles.sqlite' };

describe('adapter URLs', () => {
  it('reads the event log URL: Kafka brokers or a file', () => {
    assert.deepEqual(parseEventLogUrl('kafka://h1:9092,h2:9092'), { kind: 'kafka', brokers: ['h1:9092', 'h2:9092'] });
    assert.deepEqual(parseEventLogUrl('file:data/events.sqlite'), { kind: 'file', path: 'data/events.sqlite' });
    for (const bad of ['kafka://h1', 'kafka://', 'file:', 'data/events.sqlite', 'postgres://x'])
      assert.equal(parseEventLogUrl(bad), undefined, bad);
  });

  it('reads the profiles URL: Aerospike seeds and namespace, or a file', () => {
    assert.deepEqual(parseProfilesUrl('aerospike://h1:3000,h2:3000/usertags'), {
      kind: 'aerospike',
      hosts: 'h1:3000,h2:3000',
      namespace: 'usertags',
    });
    assert.deepEqual(parseProfilesUrl('aerospike://h1:3000'), { kind: 'aerospike', hosts: 'h1:3000', namespace: undefined });
    assert.deepEqual(parseProfilesUrl('sqlite:/tmp/p.sqlite'), { kind: 'sqlite', path: '/tmp/p.sqlite' });
    for (const bad of ['aerospike://h1/ns', 'sqlite:', 'file:x']) assert.equal(parseProfilesUrl(bad), undefined, bad);
  });

  it('prefers the URL setting, else the deprecated ones, and names the setting that chose', () => {
    const brokers = ['127.0.0.1:9092'];
    assert.deepEqual(chooseEventLog({ KAFKA_BROKERS: brokers }), { kind: 'kafka', brokers, from: 'KAFKA_BROKERS' });
    assert.deepEqual(chooseEventLog({ EVENT_LOG_PATH: 'e.sqlite', KAFKA_BROKERS: brokers }), {
      kind: 'file',
      path: 'e.sqlite',
      from: 'EVENT_LOG_PATH',
    });
    assert.deepEqual(chooseEventLog({ EVENT_LOG: 'kafka://k:1', EVENT_LOG_PATH: 'e.sqlite', KAFKA_BROKERS: brokers }), {
      kind: 'kafka',
      brokers: ['k:1'],
      from: 'EVENT_LOG',
    });
    assert.deepEqual(chooseAggregates({ DATABASE_URL: 'postgres://a' }), { url: 'postgres://a', from: 'DATABASE_URL' });
    assert.deepEqual(chooseAggregates({ AGGREGATES: 'sqlite:a.sqlite', DATABASE_URL: 'postgres://a' }), {
      url: 'sqlite:a.sqlite',
      from: 'AGGREGATES',
    });
    assert.equal(chooseProfiles(PROFILE_DEFAULTS).from, 'PROFILE_STORE_PATH');
    assert.equal(chooseProfiles({ ...PROFILE_DEFAULTS, AEROSPIKE_HOSTS: 'a:3000' }).aerospikeHosts, 'a:3000');
    const fromUrl = chooseProfiles({ ...PROFILE_DEFAULTS, AEROSPIKE_HOSTS: 'a:3000', PROFILES: 'aerospike://b:3000/usertags' });
    assert.equal(fromUrl.aerospikeHosts, 'b:3000');
    assert.equal(fromUrl.aerospikeNamespace, 'usertags');
    const file = chooseProfiles({ ...PROFILE_DEFAULTS, AEROSPIKE_HOSTS: 'a:3000', PROFILES: 'sqlite:p.sqlite' });
    assert.equal(file.aerospikeHosts, undefined);
    assert.equal(file.path, 'p.sqlite');
  });
});
