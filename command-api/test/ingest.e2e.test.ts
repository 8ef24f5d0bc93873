import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventCodec, ProblemBody } from '@usertags/contracts';
import { createKafkaEventLog } from '@usertags/event-log';
import { createLogger } from '@usertags/runtime';
import {
  countRecords,
  deleteTopic,
  javaPartition,
  postTag,
  rawRequest,
  readTopic,
  sampleTag,
  TEST_BROKERS,
  uniqueName,
} from '@usertags/testkit';
import { type CommandApi, startCommandApi } from '../src/command-api.ts';
import { loadConfig } from '../src/config.ts';

const PARTITIONS = 4;
const codec = createEventCodec();

describe('POST /user_tags against a real Kafka', () => {
  const topic = uniqueName('ingest-e2e');
  let api: CommandApi;
  let base: string;

  before(async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      BODY_LIMIT_BYTES: '4096',
    });
    const log = createKafkaEventLog(
      {
        brokers: config.KAFKA_BROKERS,
        clientId: 'ingest-e2e',
        topic,
        partitions: PARTITIONS,
        replicationFactor: 1,
        requestTimeoutMs: config.APPEND_TIMEOUT_MS,
      },
      createLogger('test', 'error'),
    );
    await log.ensureTopic();
    api = await startCommandApi(config, log, createLogger('test', 'error'));
    base = `http://127.0.0.1:${api.port()}`;
  });

  after(async () => {
    await api.shutdown();
    await deleteTopic(topic);
  });

  const valid = sampleTag(1, {
    cookie: 'shopper ü/42',
    product_info: { product_id: 7, brand_id: 'b_1', category_id: 'c', price: 2147483647 },
  });

  // Each case: what is wrong, the request, the status and (for 400) the fields named.
  const bad: Array<[string, () => Promise<Response>, number, string[]?]> = [
    ['missing time', () => postTag(base, { ...valid, time: undefined }), 400, ['time']],
    ['missing cookie', () => postTag(base, { ...valid, cookie: undefined }), 400, ['cookie']],
    ['missing country', () => postTag(base, { ...valid, country: undefined }), 400, ['country']],
    ['missing device', () => postTag(base, { ...valid, device: undefined }), 400, ['device']],
    ['missing action', () => postTag(base, { ...valid, action: undefined }), 400, ['action']],
    ['missing origin', () => postTag(base, { ...valid, origin: undefined }), 400, ['origin']],
    ['missing product_info', () => postTag(base, { ...valid, product_info: undefined }), 400, ['product_info']],
    ...(['product_id', 'brand_id', 'category_id', 'price'] as const).map(
      (f) =>
        [
          `missing product_info.${f}`,
          () => postTag(base, { ...valid, product_info: { ...valid.product_info, [f]: undefined } }),
          400,
          [`product_info.${f}`],
        ] as [string, () => Promise<Response>, number, string[]],
    ),
    ['device WATCH', () => postTag(base, { ...valid, device: 'WATCH' }), 400, ['device']],
    ['action CLICK', () => postTag(base, { ...valid, action: 'CLICK' }), 400, ['action']],
    [
      'fractional price',
      () => postTag(base, { ...valid, product_info: { ...valid.product_info, price: 10.5 } }),
      400,
      ['product_info.price'],
    ],
    [
      'price past int32',
      () => postTag(base, { ...valid, product_info: { ...valid.product_info, price: 2147483648 } }),
      400,
      ['product_info.price'],
    ],
    ['time with an offset', () => postTag(base, { ...valid, time: '2022-03-22T12:15:00.000+02:00' }), 400, ['time']],
    ['time without a zone', () => postTag(base, { ...valid, time: '2022-03-22T12:15:00.000' }), 400, ['time']],
    ['impossible date', () => postTag(base, { ...valid, time: '2022-02-30T12:15:00.000Z' }), 400, ['time']],
    ['time as a number', () => postTag(base, { ...valid, time: 1647951300000 }), 400, ['time']],
    ['an unknown field', () => postTag(base, { ...valid, referrer: 'x' }), 400, ['referrer']],
    ['a JSON array body', () => postTag(base, [valid]), 400, ['(body)']],
    ['a JSON string body', () => postTag(base, 'tag'), 400, ['(body)']],
    ['malformed JSON', () => postTag(base, null, { raw: '{"time": ' }), 400],
    ['an empty body', () => postTag(base, null, { raw: '' }), 400],
    ['a body over the limit', () => postTag(base, { ...valid, origin: 'x'.repeat(5000) }), 413],
    ['text/plain', () => postTag(base, valid, { contentType: 'text/plain' }), 415],
    ['form encoding', () => postTag(base, null, { contentType: 'application/x-www-form-urlencoded', raw: 'cookie=a' }), 415],
  ];

  it(`answers ${bad.length} kinds of bad request with the right 4xx problem, and appends none of them`, async () => {
    assert.ok(bad.length >= 15);
    for (const [what, send, status, fields] of bad) {
      const res = await send();
      assert.equal(res.status, status, what);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
      const problem = ProblemBody.parse(await res.json());
      assert.equal(problem.status, status, what);
      if (fields !== undefined) {
        assert.deepEqual(
          problem.errors?.map((e) => e.field),
          fields,
          what,
        );
      }
    }
    assert.equal(await countRecords(topic), 0, 'nothing was appended');
  });

  it('answers 204 for a valid tag and the topic then holds exactly that event in its cookie partition', async () => {
    const res = await postTag(base, valid);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    const records = await readTopic(topic);
    assert.equal(records.length, 1);
    const [record] = records;
    assert.ok(record);
    assert.equal(record.key, valid.cookie);
    assert.equal(record.partition, javaPartition(valid.cookie, PARTITIONS));
    assert.deepEqual(codec.decode(record.value), { ...valid, time: '2022-03-22T12:00:00.001Z' });
    assert.match(record.headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('keeps the trace id of an incoming traceparent in the record headers', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${base}/user_tags`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify(sampleTag(2, { cookie: 'traced' })),
    });
    assert.equal(res.status, 204);
    const record = (await readTopic(topic)).find((r) => r.key === 'traced');
    assert.equal(record?.headers.traceparent?.split('-')[1], traceId);
  });

  it('acknowledges 2,000 concurrent tags, all of them stored once, a cookie in one partition, in fewer appends', async () => {
    const before = await readTopic(topic);
    const tags = Array.from({ length: 2000 }, (_, i) => sampleTag(1000 + i));
    const statuses = await Promise.all(tags.map((t) => postTag(base, t).then((r) => r.status)));
    assert.deepEqual([...new Set(statuses)], [204]);
    const added = (await readTopic(topic))
      .slice(0)
      .filter((r) => !before.some((b) => b.partition === r.partition && b.offset === r.offset));
    assert.equal(added.length, tags.length);
    const decoded = added.map((r) => ({ partition: r.partition, tag: codec.decode(r.value) }));
    const times = new Set(decoded.map((d) => d.tag.time));
    assert.equal(times.size, tags.length, 'every tag exactly once');
    for (const d of decoded) assert.equal(d.partition, javaPartition(d.tag.cookie, PARTITIONS));

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const batches = Number(/^event_log_append_batch_size_count (\d+)/m.exec(metrics)?.[1]);
    assert.ok(batches < tags.length / 2, `2,000 tags went out in ${batches} appends`);
  });

  it('exports request, append and rejection metrics', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const appended = Number(/^user_tags_appended_total (\d+)/m.exec(metrics)?.[1]);
    assert.equal(appended, 2002);
    assert.match(metrics, /^http_request_duration_seconds_count\{route="\/user_tags",method="POST",status="204"\} 2002$/m);
    assert.match(metrics, /^user_tags_rejected_total\{reason="INVALID_EVENT"\} \d+$/m);
    assert.match(metrics, /^event_log_append_duration_seconds_count\{outcome="ok"\} \d+$/m);
    assert.match(metrics, /^user_tags_in_flight 0$/m);
  });

  it('serves health, readiness and its OpenAPI document', async () => {
    assert.equal((await fetch(`${base}/health`)).status, 200);
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/user_tags']);
  });

  it('answers an unknown route with 404 and a wrong method with 405, as problems', async () => {
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(ProblemBody.parse(await missing.json()).code, 'NOT_FOUND');
    const wrong = await fetch(`${base}/user_tags`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  // POST /user_tags in its plain form skips express (createApp); every other spelling express matches is still routed by it.
  it('stores a tag and refuses a bad one alike at every spelling of the path it routes', async () => {
    const targets = ['/user_tags', '/user_tags?from=test', '/user_tags/', '/USER_TAGS', `${base}/user_tags`];
    const post = (target: string, body: string) =>
      rawRequest(
        base,
        `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    for (const [i, target] of targets.entries()) {
      const tag = sampleTag(9000 + i, { cookie: `spelling-${i}` });
      const stored = await post(target, JSON.stringify(tag));
      assert.equal(stored.status, 204, target);
      assert.equal(stored.body, '', target);
      const refused = await post(target, JSON.stringify({ ...tag, action: 'LIKE' }));
      assert.equal(refused.status, 400, target);
      assert.match(refused.headers['content-type'] ?? '', /^application\/problem\+json/, target);
      assert.deepEqual(
        ProblemBody.parse(JSON.parse(refused.body)).errors?.map((e) => e.field),
        ['action'],
        target,
      );
    }
    const keys = (await readTopic(topic)).map((r) => r.key);
    for (const i of targets.keys()) assert.equal(keys.filter((k) => k === `spelling-${i}`).length, 1, `the tag sent to ${targets[i]}`);
  });
});
