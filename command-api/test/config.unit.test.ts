import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';

describe('command API configuration', () => {
  it('has working defaults for a local stack', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 8080);
    assert.deepEqual(config.KAFKA_BROKERS, ['127.0.0.1:9092']);
    assert.equal(config.KAFKA_TOPIC, 'user-tags');
    assert.equal(config.BODY_LIMIT_BYTES, 65536);
    assert.ok(Object.isFrozen(config));
  });

  it('parses a broker list', () => {
    assert.deepEqual(loadConfig({ KAFKA_BROKERS: 'a:9092, b:9093' }).KAFKA_BROKERS, ['a:9092', 'b:9093']);
  });

  it('fails naming every bad variable', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', KAFKA_BROKERS: 'no-port', LOG_LEVEL: 'loud' }),
      (e: Error) => e.message.includes('PORT') && e.message.includes('KAFKA_BROKERS') && e.message.includes('LOG_LEVEL'),
    );
  });

  it('bounds slow clients by default and refuses a request timeout shorter than the headers timeout', () => {
    const config = loadConfig({});
    assert.equal(config.HTTP_HEADERS_TIMEOUT_MS, 10_000);
    assert.equal(config.HTTP_REQUEST_TIMEOUT_MS, 30_000);
    assert.throws(
      () => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
      (e: Error) => e.message.includes('HTTP_REQUEST_TIMEOUT_MS'),
    );
  });

  it('chooses the event log from EVENT_LOG, or the deprecated EVENT_LOG_PATH and KAFKA_BROKERS', () => {
    assert.deepEqual(loadConfig({}).eventLog, { kind: 'kafka', brokers: ['127.0.0.1:9092'], from: 'KAFKA_BROKERS' });
    assert.deepEqual(loadConfig({ EVENT_LOG_PATH: 'e.sqlite' }).eventLog, { kind: 'file', path: 'e.sqlite', from: 'EVENT_LOG_PATH' });
    assert.deepEqual(loadConfig({ EVENT_LOG: 'file:f.sqlite', EVENT_LOG_PATH: 'e.sqlite' }).eventLog, {
      kind: 'file',
      path: 'f.sqlite',
      from: 'EVENT_LOG',
    });
    assert.throws(
      () => loadConfig({ EVENT_LOG: 'kafka://no-port' }),
      (e: Error) => e.message.includes('EVENT_LOG'),
    );
  });

  it('runs one worker per core on Kafka, and one beside the embedded log', () => {
    assert.equal(loadConfig({}).WORKERS, Math.min(availableParallelism(), 64));
    assert.equal(loadConfig({ WORKERS: '3' }).WORKERS, 3);
    assert.equal(loadConfig({ EVENT_LOG: 'file:e.sqlite' }).WORKERS, 1);
    assert.equal(loadConfig({ EVENT_LOG_PATH: 'e.sqlite', WORKERS: '1' }).WORKERS, 1);
  });

  it('refuses more than one worker beside the embedded log, and a count outside 1 to 64', () => {
    assert.throws(
      () => loadConfig({ EVENT_LOG: 'file:e.sqlite', WORKERS: '2' }),
      (e: Error) => e.message.includes('WORKERS') && e.message.includes('the event log (EVENT_LOG)'),
    );
    for (const bad of ['0', '65', '1.5', 'many']) {
      assert.throws(
        () => loadConfig({ WORKERS: bad }),
        (e: Error) => e.message.includes('WORKERS'),
        bad,
      );
    }
  });
});
