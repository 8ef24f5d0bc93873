import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createTestDatabase,
  createTopic,
  deleteTopic,
  type OtlpReceiver,
  ProgramProcess,
  type ReceivedSpan,
  readTopic,
  sampleTag,
  startOtlpReceiver,
  TEST_BROKERS,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '@usertags/testkit';

// The three programs run as in production — `node --import <pkg>/src/register.ts <pkg>/src/main.ts` —
// and export their spans over OTLP/HTTP (JSON) to a receiver in this test: what is asserted is the real
// wiring (the register module, the instrumentations' hooks under ESM, the exporter, the env config).

const KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;
const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

/** The chain of span names from `span` up to its trace's root, within one service. */
function ancestors(spans: readonly ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(spans.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (let s = byId.get(span.parentSpanId); s !== undefined; s = byId.get(s.parentSpanId)) chain.push(s);
  return chain;
}

describe('traces over the whole pipeline: ingest → Kafka → projector → stores → queries', () => {
  const topic = uniqueName('tracing-e2e');
  const dir = mkdtempSync(join(tmpdir(), 'tracing-e2e-'));
  const programs: ProgramProcess[] = [];
  let receiver: OtlpReceiver;
  let database: TestDatabase;
  let ingest: string;
  let query: string;
  let unsampledIngest: string;

  before(async () => {
    receiver = await startOtlpReceiver();
    database = await createTestDatabase('tracing_e2e');
    await createTopic(topic, 2);
    const common = {
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      KAFKA_TOPIC: topic,
      DATABASE_URL: database.url,
      PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER_ARG: '1',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    programs.push(
      new ProgramProcess('command-api', { ...common, PORT: '0' }),
      new ProgramProcess('projector', {
        ...common,
        PORT: '0',
        AGGREGATES_GROUP_ID: uniqueName('aggregates'),
        PROFILES_GROUP_ID: uniqueName('profiles'),
        KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
        FLUSH_MAX_DELAY_MS: '100',
      }),
      new ProgramProcess('query-api', { ...common, PORT: '0' }),
      // Samples no new trace: what an unsampled request leaves behind.
      new ProgramProcess('command-api', { ...common, PORT: '0', OTEL_TRACES_SAMPLER_ARG: '0' }),
    );
    [ingest, , query, unsampledIngest] = (await Promise.all(programs.map((p) => p.ready()))) as [string, string, string, string];
  });

  after(async () => {
    for (const p of programs) p.signal('SIGTERM');
    await Promise.all(programs.map((p) => p.waitForExit()));
    await receiver.close();
    await deleteTopic(topic);
    await deleteTopic(`${topic}.dead-letter`).catch(() => {});
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("carries one ingest's trace from the request to the produce, and links the projector's batches and their store writes to it", async () => {
    const tag = sampleTag(7, { cookie: 'traced shopper' });
    const answer = await fetch(`${ingest}/user_tags`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      body: JSON.stringify(tag),
    });
    assert.equal(answer.status, 204);

    const find = (predicate: (s: ReceivedSpan) => boolean) => receiver.spans.find(predicate);
    const producer = () => find((s) => s.traceId === CALLER_TRACE && s.kind === KIND.producer);
    await waitFor(
      () => producer() !== undefined,
      20_000,
      () => `no producer span in ${JSON.stringify(receiver.spans.map((s) => s.name))}`,
    );
    const send = producer() as ReceivedSpan;
    assert.equal(send.service, 'command-api');
    assert.equal(send.name, `send ${topic}`);
    assert.equal(send.attributes['messaging.system'], 'kafka');
    // The HTTP instrumentation's server span continues the caller's trace; the produce is inside it.
    const server = ancestors(receiver.spans, send).find((s) => s.kind === KIND.server);
    assert.ok(server !== undefined, 'the producer span is under the request span');
    assert.equal(server.name, 'POST /user_tags');
    assert.equal(server.parentSpanId, CALLER_SPAN);

    // The record's traceparent is the producer span's context.
    const [record] = await readTopic(topic);
    assert.equal(record?.headers.traceparent, `00-${CALLER_TRACE}-${send.spanId}-01`);

    // Each projection applies the event in a batch span of its own trace, linked to the produce.
    const batch = (projection: string) =>
      find(
        (s) =>
          s.kind === KIND.consumer &&
          s.attributes['usertags.projection'] === projection &&
          s.links.some((l) => l.traceId === CALLER_TRACE && l.spanId === send.spanId),
      );
    await waitFor(
      () => batch('aggregates') !== undefined && batch('profiles') !== undefined,
      30_000,
      () => `no linked batch spans in ${JSON.stringify(receiver.spans.map((s) => [s.service, s.name, s.links]))}`,
    );
    const children = (parent: ReceivedSpan) =>
      receiver.spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
    const under = (parent: ReceivedSpan, name: string) => children(parent).find((s) => s.name === name);
    const profiles = batch('profiles') as ReceivedSpan;
    const aggregates = batch('aggregates') as ReceivedSpan;
    assert.equal(profiles.service, 'projector');
    assert.equal(profiles.name, `process ${topic}`);
    assert.equal(profiles.parentSpanId, '', 'a batch starts a trace of its own');

    await waitFor(
      () => under(profiles, 'profiles.apply') !== undefined && under(aggregates, 'aggregates.apply') !== undefined,
      10_000,
      () => 'no store spans under the batch spans',
    );
    assert.equal(under(profiles, 'profiles.apply')?.attributes['db.system.name'], 'sqlite');
    const apply = under(aggregates, 'aggregates.apply') as ReceivedSpan;
    // PostgreSQL's own statements, from the pg instrumentation, inside the one transaction.
    await waitFor(
      () => ['BEGIN', 'COMMIT'].every((op) => children(apply).some((s) => s.kind === KIND.client && s.name.startsWith(`pg.query:${op}`))),
      10_000,
      () => `no pg statements under aggregates.apply: ${JSON.stringify(children(apply).map((s) => s.name))}`,
    );
  });

  it("takes a query's trace down to the store's calls", async () => {
    const aggregatesAnswer = await fetch(
      `${query}/aggregates?time_range=2022-03-22T12:00:00_2022-03-22T12:02:00&action=VIEW&aggregates=count`,
    );
    assert.equal(aggregatesAnswer.status, 200);
    const profileAnswer = await fetch(`${query}/user_profiles/traced%20shopper?time_range=2022-03-22T12:00:00.000_2022-03-22T12:02:00.000`);
    assert.equal(profileAnswer.status, 200);

    const serverSpan = (path: string) =>
      receiver.spans.find((s) => s.service === 'query-api' && s.kind === KIND.server && String(s.attributes['url.path']).startsWith(path));
    const inTrace = (server: ReceivedSpan | undefined, name: string) =>
      server === undefined ? undefined : receiver.spans.find((s) => s.traceId === server.traceId && s.name === name);
    await waitFor(
      () =>
        inTrace(serverSpan('/aggregates'), 'aggregates.read') !== undefined &&
        inTrace(serverSpan('/user_profiles/'), 'profiles.read') !== undefined,
      20_000,
      () =>
        `no query traces down to the stores in ${JSON.stringify(receiver.spans.filter((s) => s.service === 'query-api').map((s) => s.name))}`,
    );
    // Profile reads skip express; the span still names its route, as express's instrumentation does for the others.
    assert.equal(serverSpan('/user_profiles/')?.attributes['http.route'], '/user_profiles/{cookie}');
    assert.equal(serverSpan('/user_profiles/')?.name, 'GET /user_profiles/{cookie}');
    const read = inTrace(serverSpan('/aggregates'), 'aggregates.read') as ReceivedSpan;
    assert.ok(ancestors(receiver.spans, read).includes(serverSpan('/aggregates') as ReceivedSpan));
    await waitFor(
      () => receiver.spans.some((s) => s.parentSpanId === read.spanId && s.name.startsWith('pg.query:SELECT')),
      10_000,
      () => 'no pg SELECT under aggregates.read',
    );
  });

  it('gives an unsampled request a valid traceparent and records none of its spans', async () => {
    const before = (await readTopic(topic)).length;
    const tag = sampleTag(8, { cookie: 'unsampled shopper' });
    assert.equal(
      (
        await fetch(`${unsampledIngest}/user_tags`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(tag),
        })
      ).status,
      204,
    );
    const records = await readTopic(topic);
    assert.equal(records.length, before + 1);
    const header = records.find((r) => r.key === 'unsampled shopper')?.headers.traceparent ?? '';
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(header);
    assert.ok(match !== null, `an unsampled traceparent, got ${header}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.spans.filter((s) => s.traceId === match[1]).length, 0, 'nothing of an unsampled trace is exported');
  });

  it("serves OpenTelemetry's metrics on the same /metrics as prom-client's, each name once", async () => {
    const text = await (await fetch(`${ingest}/metrics`)).text();
    assert.match(text, /^http_request_duration_seconds_count\{/m, "prom-client's own metrics");
    assert.match(text, /^otel_sdk_processor_span_processed_total\{/m, "the span pipeline's metrics");
    assert.doesNotMatch(text, /http_server_request_duration/, 'no second request-latency histogram');
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(types.map((l) => l.split(' ')[2])).size, types.length, 'every metric family appears once');
  });
});
