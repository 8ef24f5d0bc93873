import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProblemBody, parseUserTag } from '@usertags/contracts';
import { isJsonContentType } from '@usertags/runtime';
import {
  assertNoAdminSurface,
  assertWellFormedAnswer,
  countRecords,
  createTopic,
  deleteTopic,
  type FuzzRequest,
  instantHint,
  type OpenApiDocument,
  ProgramProcess,
  rawRequest,
  requestsFrom,
  SlowClient,
  sampleTag,
  sendRequest,
  TEST_BROKERS,
  testPort,
  uniqueName,
} from '@usertags/testkit';
import fc from 'fast-check';

const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
const BODY_LIMIT = 65_536;

/** What the command API must answer a request built from its one operation, as far as the contracts alone can tell. */
function expectedStatus(request: FuzzRequest): number | undefined {
  if (request.operation?.path !== '/user_tags' || request.method !== 'POST') return undefined;
  if (Object.keys(request.headers).some((h) => h === 'expect')) return undefined;
  if (!isJsonContentType(request.headers['content-type'])) return 415;
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8'));
  } catch {
    return 400;
  }
  return parseUserTag(body).ok ? 204 : 400;
}

describe('the command API under bad input', () => {
  const topic = uniqueName('bad-input');
  let api: ProgramProcess;
  let base: string;

  before(async () => {
    await createTopic(topic, 4);
    api = new ProgramProcess('command-api', {
      PORT: String(testPort(81)),
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      KAFKA_TOPIC: topic,
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    base = await api.ready();
  });

  after(async () => {
    await api.kill();
    await deleteTopic(topic);
  });

  it(`answers ${RUNS} requests generated from its OpenAPI document with no 5xx, every refusal a 4xx problem, and 204 exactly for valid tags`, async (t) => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;
    const statuses: Record<number, number> = {};
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(requestsFrom(doc, { time: instantHint }), async (request) => {
        const answer = await sendRequest(base, request);
        assertWellFormedAnswer(request, answer);
        const status = answer.status as number;
        statuses[status] = (statuses[status] ?? 0) + 1;
        const expected = expectedStatus(request);
        if (expected !== undefined) assert.equal(status, expected, `${request.body.toString('utf8').slice(0, 300)}`);
        if (status === 204) accepted++;
      }),
      { numRuns: RUNS },
    );
    t.diagnostic(`statuses ${JSON.stringify(statuses)}`);
    assert.ok(accepted > 0 && (statuses[400] ?? 0) > 0 && (statuses[415] ?? 0) > 0, 'the generator reaches 204, 400 and 415');
    assert.equal(await countRecords(topic), accepted, 'exactly the tags answered 204 are in the log');
  });

  const limitCases: Array<[string, string | Buffer, number, string]> = [
    [
      'a declared body over the limit',
      `POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\n{`,
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a chunked body that grows past the limit',
      `POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${`4000\r\n${' '.repeat(0x4000)}\r\n`.repeat(5)}0\r\n\r\n`,
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a 100 KB query string', `POST /user_tags?q=${'x'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a 100 KB header', `POST /user_tags HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(100_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    [
      'a body as text/plain',
      'POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['no content type', 'POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a method HTTP does not know', 'BREW /user_tags HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'INVALID_REQUEST'],
    ['no Host header', 'POST /user_tags HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', 400, 'INVALID_REQUEST'],
  ];
  for (const [what, request, status, code] of limitCases) {
    it(`answers ${what} with ${status} ${code}`, async () => {
      const answer = await rawRequest(base, request, 10_000);
      assert.equal(answer.status, status, answer.body);
      assert.equal(answer.headers['content-type'], 'application/problem+json');
      assert.equal(ProblemBody.parse(JSON.parse(answer.body)).code, code);
    });
  }

  it('answers at once while 100 slow clients hold connections, and closes each of them by its deadline', async (t) => {
    const head =
      'POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n';
    const body = JSON.stringify(sampleTag(1));
    const slowHeaders = Array.from({ length: 80 }, () => new SlowClient(base, `${head}Content-Length: ${body.length}\r\n\r\n${body}`, 100));
    // Headers at once, then a body one byte every 100 ms: only the whole-request deadline stops these.
    const slowBodies = Array.from({ length: 20 }, () => new SlowClient(base, body, 100, `${head}Content-Length: ${body.length}\r\n\r\n`));
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const res = await fetch(`${base}/user_tags`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sampleTag(i)),
      });
      assert.equal(res.status, 204);
      latencies.push(performance.now() - started);
    }
    const worst = Math.max(...latencies);
    assert.ok(worst < 1000, `a normal request took ${worst.toFixed(0)} ms`);

    const [headerAnswers, bodyAnswers] = await Promise.all([
      Promise.all(slowHeaders.map((c) => c.answer)),
      Promise.all(slowBodies.map((c) => c.answer)),
    ]);
    for (const a of headerAnswers) {
      assert.equal(a.status, 408);
      assert.ok((a.closedAfterMs ?? 0) < HEADERS_TIMEOUT_MS + 2000, `a slow-header client stayed ${a.closedAfterMs} ms`);
    }
    for (const a of bodyAnswers) {
      assert.equal(a.status, 408);
      assert.ok((a.closedAfterMs ?? 0) < REQUEST_TIMEOUT_MS + 2000, `a slow-body client stayed ${a.closedAfterMs} ms`);
    }
    const closed = (xs: typeof headerAnswers) => Math.max(...xs.map((a) => a.closedAfterMs ?? 0));
    t.diagnostic(
      `normal requests: worst ${worst.toFixed(0)} ms; slow headers closed within ${closed(headerAnswers)} ms, slow bodies within ${closed(bodyAnswers)} ms`,
    );
  });

  it('never writes a rejected body, header or query into its output', async () => {
    const secret = 'SECRET-4f9c2a7e-do-not-log';
    const tag = sampleTag(1);
    const rejected: Array<[string, RequestInit, string]> = [
      ['an invalid tag', { method: 'POST', body: JSON.stringify({ ...tag, cookie: secret, device: secret, [secret]: secret }) }, ''],
      ['malformed JSON', { method: 'POST', body: `{"cookie": "${secret}"` }, ''],
      [
        'a body over the limit',
        { method: 'POST', body: JSON.stringify({ ...tag, origin: secret.repeat(BODY_LIMIT / secret.length + 1) }) },
        '',
      ],
      ['text/plain', { method: 'POST', body: secret, headers: { 'content-type': 'text/plain' } }, ''],
      [
        'a secret in the query and headers',
        { method: 'POST', body: '[]', headers: { authorization: `Bearer ${secret}`, cookie: secret } },
        `?token=${secret}`,
      ],
      ['an unknown route', { method: 'POST', body: secret }, `/../${secret}`],
    ];
    for (const [what, init, suffix] of rejected) {
      const headers = { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) };
      const res = await fetch(`${base}/user_tags${suffix}`, { ...init, headers });
      assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status}`);
      await res.text();
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!api.output.join('').includes(secret), 'the secret is not in the output');
  });

  it('exposes nothing administrative on its port, and is still up and has logged no error', async () => {
    await assertNoAdminSurface(base);
    assert.equal(api.child.exitCode, null);
    assert.equal((await fetch(`${base}/health`)).status, 200);
    assert.deepEqual(api.loggedAt('error'), []);
  });
});
