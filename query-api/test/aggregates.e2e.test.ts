import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProblemBody } from '@usertags/contracts';
import {
  aggregateStream,
  aggregatesQueryString,
  allQueryShapes,
  createTestDatabase,
  createTopic,
  deleteTopic,
  expectedAggregates,
  metricValue,
  ProgramProcess,
  postTag,
  TEST_BROKERS,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '@usertags/testkit';

const START = Date.UTC(2022, 2, 22, 12, 0);
const MINUTES = 6;
const tags = aggregateStream({ seed: 42, count: 2500, startMs: START, minutes: MINUTES });

describe('/aggregates over the whole pipeline: HTTP → Kafka → projector → PostgreSQL → query API', () => {
  const topic = uniqueName('aggregates-e2e');
  let database: TestDatabase;
  const programs: ProgramProcess[] = [];
  let ingest: string;
  let query: string;

  before(async () => {
    database = await createTestDatabase('aggregates_e2e');
    await createTopic(topic, 4);
    const common = { KAFKA_BROKERS: TEST_BROKERS.join(','), KAFKA_TOPIC: topic, DATABASE_URL: database.url, LOG_LEVEL: 'info' };
    const commandApi = new ProgramProcess('command-api', { ...common, PORT: '0' });
    const projector = new ProgramProcess('projector', {
      ...common,
      PORT: '0',
      AGGREGATES_GROUP_ID: uniqueName('aggregates'),
      KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      FLUSH_MAX_DELAY_MS: '200',
      PROJECTIONS: 'aggregates',
    });
    const queryApi = new ProgramProcess('query-api', { ...common, PORT: '0' });
    programs.push(commandApi, projector, queryApi);
    const [ingestUrl, projectorUrl, queryUrl] = (await Promise.all(programs.map((p) => p.ready()))) as [string, string, string];
    ingest = ingestUrl;
    query = queryUrl;

    for (let i = 0; i < tags.length; i += 100) {
      const statuses = await Promise.all(tags.slice(i, i + 100).map((t) => postTag(ingest, t).then((r) => r.status)));
      assert.deepEqual([...new Set(statuses)], [204]);
    }
    await waitFor(
      async () => (await metricValue(projectorUrl, 'projector_events_applied_total{projection="aggregates"}')) >= tags.length,
      60_000,
      () => 'the projector applies every tag within a minute',
    );
  });

  after(async () => {
    await Promise.all(programs.map((p) => p.kill()));
    await deleteTopic(topic);
    await deleteTopic(`${topic}.dead-letter`);
    await database.drop();
  });

  const ranges = [
    ['the whole stream', START, START + MINUTES * 60_000],
    ['a middle sub-range', START + 60_000, START + 3 * 60_000],
    ['one minute', START + 2 * 60_000, START + 3 * 60_000],
    ['minutes around the data', START - 2 * 60_000, START + (MINUTES + 2) * 60_000],
  ] as const;

  for (const [what, fromMs, toMs] of ranges) {
    it(`equals the oracle for every query shape over ${what}, by GET and by POST`, async () => {
      for (const q of allQueryShapes(fromMs, toMs)) {
        const expected = expectedAggregates(tags, q);
        const url = `${query}/aggregates?${aggregatesQueryString(q)}`;
        const viaGet = await fetch(url);
        assert.equal(viaGet.status, 200);
        assert.deepEqual(await viaGet.json(), expected, url);
        const viaPost = await fetch(url, { method: 'POST' });
        assert.deepEqual(await viaPost.json(), expected, url);
      }
    });
  }

  it('accepts aggregates in any letter case', async () => {
    const q = allQueryShapes(START, START + 60_000)[3] as Parameters<typeof expectedAggregates>[1];
    const res = await fetch(`${query}/aggregates?${aggregatesQueryString(q).replace('COUNT', 'count').replace('SUM_PRICE', 'Sum_Price')}`);
    assert.deepEqual(await res.json(), expectedAggregates(tags, q));
  });

  it('in debug mode, counts a match and a mismatch, logs the first difference, and always answers with its own result', async () => {
    const q = allQueryShapes(START, START + 3 * 60_000)[2] as Parameters<typeof expectedAggregates>[1];
    const url = `${query}/aggregates?${aggregatesQueryString(q)}`;
    const ours = expectedAggregates(tags, q);
    const wrong = structuredClone(ours);
    (wrong.rows[1] as string[])[2] = '999999';

    const before = {
      match: await metricValue(query, 'debug_comparisons_total{endpoint="aggregates",result="match"}'),
      mismatch: await metricValue(query, 'debug_comparisons_total{endpoint="aggregates",result="mismatch"}'),
    };
    const equalRes = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ours) });
    assert.deepEqual(await equalRes.json(), ours);
    const wrongRes = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(wrong) });
    assert.deepEqual(await wrongRes.json(), ours, 'the answer is ours, not the expected one');
    const emptyRes = await fetch(url, { method: 'POST', body: '' });
    assert.deepEqual(await emptyRes.json(), ours);

    assert.equal(await metricValue(query, 'debug_comparisons_total{endpoint="aggregates",result="match"}'), before.match + 1);
    assert.equal(await metricValue(query, 'debug_comparisons_total{endpoint="aggregates",result="mismatch"}'), before.mismatch + 1);
    const queryApi = programs[2] as ProgramProcess;
    await new Promise((r) => setTimeout(r, 100));
    assert.match(queryApi.output.join(''), /"difference":"rows\[1\]\[2\]: expected \\"999999\\", got \\"\d+\\""/);
  });

  const invalid: Array<[string, string, string]> = [
    ['no time_range', 'action=BUY&aggregates=COUNT', 'time_range'],
    ['a range not on whole minutes', 'time_range=2022-03-22T12:00:30_2022-03-22T12:02:00&action=BUY&aggregates=COUNT', 'time_range'],
    ['an empty range', 'time_range=2022-03-22T12:02:00_2022-03-22T12:02:00&action=BUY&aggregates=COUNT', 'time_range'],
    ['a range past what is served', 'time_range=2022-03-22T00:00:00_2022-03-24T00:00:00&action=BUY&aggregates=COUNT', 'time_range'],
    ['no action', 'time_range=2022-03-22T12:00:00_2022-03-22T12:02:00&aggregates=COUNT', 'action'],
    ['an unknown action', 'time_range=2022-03-22T12:00:00_2022-03-22T12:02:00&action=CLICK&aggregates=COUNT', 'action'],
    ['no aggregates', 'time_range=2022-03-22T12:00:00_2022-03-22T12:02:00&action=BUY', 'aggregates'],
    ['an unknown aggregate', 'time_range=2022-03-22T12:00:00_2022-03-22T12:02:00&action=BUY&aggregates=MAX', 'aggregates'],
  ];
  for (const [what, qs, field] of invalid) {
    it(`answers 400 naming ${field} for ${what}`, async () => {
      const res = await fetch(`${query}/aggregates?${qs}`);
      assert.equal(res.status, 400);
      const problem = ProblemBody.parse(await res.json());
      assert.ok(
        problem.errors?.some((e) => e.field === field),
        JSON.stringify(problem),
      );
    });
  }

  it('serves its OpenAPI document, health and readiness', async () => {
    const doc = (await (await fetch(`${query}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/aggregates']);
    assert.equal((await fetch(`${query}/health`)).status, 200);
    assert.equal((await fetch(`${query}/ready`)).status, 200);
  });
});
