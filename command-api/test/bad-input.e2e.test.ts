import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { after, before, describe, it } from 'node:test';
import { MAX_TEXT_CODE_POINTS, ProblemBody, parseUserTag, type UserTagInput } from '@usertags/contracts';
import { isJsonContentType } from '@usertags/runtime';
import {
  assertMethodsNotAllowed,
  assertNoAdminSurface,
  assertWellFormedAnswer,
  countRecords,
  createTopic,
  cutShortThenTooSlow,
  deleteTopic,
  type FuzzRequest,
  instantHint,
  metricValue,
  type OpenApiDocument,
  ProgramProcess,
  postTag,
  rawRequest,
  requestsFrom,
  SlowClient,
  sampleTag,
  sendRequest,
  TEST_BROKERS,
  testPort,
  uniqueName,
  waitFor,
} from '@usertags/testkit';
import fc from 'fast-check';

const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
// FUZZ_SEED replays a run that failed (fast-check prints its seed).
const SEED = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) };
const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
const BODY_LIMIT = 65_536;

/** What the command API must answer a request built from its one operation, as far as the contracts alone can tell. */
function expectedStatus(request: FuzzRequest): number | undefined {
  if (request.operation?.path !== '/user_tags' || request.method !== 'POST') return undefined;
  if (Object.keys(request.headers).some((h) => h === 'expect')) return undefined;
  if (!isJsonContentType(request.headers['content-type'])) return 415;
  if (!isUtf8(request.body)) return 400;
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
      { numRuns: RUNS, ...SEED },
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

  /** POST /user_tags with exactly these body bytes, on a connection of its own. */
  const postBytes = (body: Buffer, contentType = 'application/json') =>
    rawRequest(
      base,
      Buffer.concat([
        Buffer.from(
          `POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ]),
      10_000,
    );
  /** A tag as JSON bytes, with each `@n@` in it replaced by `bytes[n]` (bytes JSON.stringify cannot write). */
  const tagBytes = (tag: unknown, ...bytes: Buffer[]) =>
    Buffer.concat(
      JSON.stringify(tag)
        .split(/@(\d)@/)
        .map((part, i) => (i % 2 === 0 ? Buffer.from(part) : (bytes[Number(part)] as Buffer))),
    );
  const tag = sampleTag(7);
  // What is sent, the Content-Type, the status, and for 4xx the code and the fields named (in the order named).
  const textCases: Array<[string, Buffer, string, number, string?, string[]?]> = [
    [
      'bytes FF FE in the cookie',
      tagBytes({ ...tag, cookie: 'a@0@b' }, Buffer.from([0xff, 0xfe])),
      'application/json',
      400,
      'MALFORMED_JSON',
      ['cookie'],
    ],
    [
      'a lone byte FF in origin and an overlong "/" (C0 AF) in brand_id',
      tagBytes(
        { ...tag, origin: '@0@', product_info: { ...tag.product_info, brand_id: 'x@1@' } },
        Buffer.from([0xff]),
        Buffer.from([0xc0, 0xaf]),
      ),
      'application/json',
      400,
      'MALFORMED_JSON',
      ['origin', 'product_info.brand_id'],
    ],
    [
      'a surrogate encoded as UTF-8 (ED A0 80) in category_id',
      tagBytes({ ...tag, product_info: { ...tag.product_info, category_id: '@0@' } }, Buffer.from([0xed, 0xa0, 0x80])),
      'application/json',
      400,
      'MALFORMED_JSON',
      ['product_info.category_id'],
    ],
    [
      'a truncated sequence (E2 82) ending the cookie',
      tagBytes({ ...tag, cookie: 'c@0@' }, Buffer.from([0xe2, 0x82])),
      'application/json',
      400,
      'MALFORMED_JSON',
      ['cookie'],
    ],
    [
      'a byte FF between fields',
      Buffer.concat([Buffer.from('{'), Buffer.from([0xff]), Buffer.from(JSON.stringify(tag).slice(1))]),
      'application/json',
      400,
      'MALFORMED_JSON',
      ['(body)'],
    ],
    [
      'a lone surrogate escape in origin',
      Buffer.from(JSON.stringify({ ...tag, origin: '@' }).replace('"@"', '"\\ud800"')),
      'application/json',
      400,
      'INVALID_EVENT',
      ['origin'],
    ],
    [
      'lone surrogate escapes in the cookie and product_id',
      Buffer.from(
        JSON.stringify({ ...tag, cookie: 'a@b', product_info: { ...tag.product_info, product_id: '@' } }).replaceAll('@', '\\udc00'),
      ),
      'application/json',
      400,
      'INVALID_EVENT',
      ['cookie', 'product_info.product_id'],
    ],
    [
      'ISO-8859-1 (an E9 byte) declared as such',
      tagBytes({ ...tag, country: '@0@' }, Buffer.from([0xe9])),
      'application/json; charset=iso-8859-1',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a quoted charset other than UTF-8',
      Buffer.from(JSON.stringify(tag)),
      'application/json; charset="windows-1252"',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['UTF-16 declared', Buffer.from(JSON.stringify(tag)), 'application/json;charset=UTF-16', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'charset="UTF-8", quoted and in capitals',
      Buffer.from(JSON.stringify({ ...tag, cookie: 'ü 🍪 \ufffd' })),
      'application/json; charset="UTF-8"',
      204,
    ],
    ['charset=utf8 among other parameters', Buffer.from(JSON.stringify(tag)), 'application/json; v=1; CHARSET=utf8', 204],
  ];

  it(`answers ${textCases.length} bodies that are not UTF-8 text, or say they are in another charset, naming the field; stores none of them`, async () => {
    const stored = await countRecords(topic);
    let accepted = 0;
    for (const [what, body, contentType, status, code, fields] of textCases) {
      const answer = await postBytes(body, contentType);
      assert.equal(answer.status, status, `${what}: ${answer.body}`);
      if (status === 204) {
        accepted++;
        continue;
      }
      assert.equal(answer.headers['content-type'], 'application/problem+json', what);
      const problem = ProblemBody.parse(JSON.parse(answer.body));
      assert.equal(problem.code, code, what);
      if (fields !== undefined)
        assert.deepEqual(
          problem.errors?.map((e) => e.field),
          fields,
          what,
        );
    }
    assert.equal(await countRecords(topic), stored + accepted, 'only the UTF-8 tags were stored');
  });

  it(`accepts ${MAX_TEXT_CODE_POINTS} characters (four-byte ones included) in every string field, and answers ${MAX_TEXT_CODE_POINTS + 1} in any one of them with a 400 naming it`, async () => {
    const stored = await countRecords(topic);
    const at = (unit: string, n = MAX_TEXT_CODE_POINTS) => unit.repeat(n);
    const longest: UserTagInput = {
      ...tag,
      cookie: at('😀'),
      country: at('P'),
      origin: at('é'),
      product_info: { ...tag.product_info, product_id: at('𝄞'), brand_id: `${at('b', 255)}🍪`, category_id: at('中') },
    };
    assert.equal((await postTag(base, longest)).status, 204);
    const over = (unit: string) => `${at(unit)}${unit}`;
    const cases: Array<[string, UserTagInput]> = [
      ['cookie', { ...tag, cookie: over('😀') }],
      ['cookie', { ...tag, cookie: 'c'.repeat(60_000) }],
      ['country', { ...tag, country: over('x') }],
      ['origin', { ...tag, origin: over('é') }],
      ['product_info.product_id', { ...tag, product_info: { ...tag.product_info, product_id: over('𝄞') } }],
      ['product_info.brand_id', { ...tag, product_info: { ...tag.product_info, brand_id: over('b') } }],
      ['product_info.category_id', { ...tag, product_info: { ...tag.product_info, category_id: over('中') } }],
    ];
    for (const [field, sent] of cases) {
      const res = await postTag(base, sent);
      assert.equal(res.status, 400, field);
      const problem = ProblemBody.parse(await res.json());
      assert.equal(problem.code, 'INVALID_EVENT', field);
      assert.deepEqual(problem.errors, [{ field, message: `is longer than ${MAX_TEXT_CODE_POINTS} characters (Unicode code points)` }]);
    }
    assert.equal(await countRecords(topic), stored + 1, 'only the tag within the limits was stored');
  });

  it('answers a method a path does not serve with 405 and the methods it does in Allow; unknown paths stay 404', async () => {
    await assertMethodsNotAllowed(base, [
      ['GET', '/user_tags', 'POST'],
      ['HEAD', '/user_tags', 'POST'],
      ['OPTIONS', '/user_tags', 'POST'],
      ['TRACE', '/health', 'GET, HEAD'],
      ['POST', '/health', 'GET, HEAD'],
      ['PUT', '/ready', 'GET, HEAD'],
      ['DELETE', '/metrics', 'GET, HEAD'],
      ['OPTIONS', '/openapi.json', 'GET, HEAD'],
      ['PROPFIND', '/openapi.json', 'GET, HEAD'],
    ]);
    for (const path of ['/user_tag', '/health/x', '/user_tags/x']) {
      const answer = await rawRequest(base, `DELETE ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.headers.allow, undefined, path);
    }
  });

  it('counts a body the client cut short as 499 CLIENT_CLOSED and one too slow as 408 REQUEST_TIMEOUT, never as a 500, and logs neither above debug', async () => {
    const series = {
      closed: 'user_tags_rejected_total{reason="CLIENT_CLOSED"}',
      timedOut: 'user_tags_rejected_total{reason="REQUEST_TIMEOUT"}',
      internal: 'user_tags_rejected_total{reason="INTERNAL"}',
      status499: 'http_request_duration_seconds_count{route="/user_tags",method="POST",status="499"}',
      status408: 'http_request_duration_seconds_count{route="/user_tags",method="POST",status="408"}',
      status500: 'http_request_duration_seconds_count{route="/user_tags",method="POST",status="500"}',
    };
    const read = async () =>
      Object.fromEntries(await Promise.all(Object.entries(series).map(async ([k, s]) => [k, await metricValue(base, s)])));
    const before = await read();
    const outputBefore = api.output.join('').length;
    const body = JSON.stringify(sampleTag(3));
    const head = `POST /user_tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    await cutShortThenTooSlow(base, head, body);
    let now = before;
    await waitFor(
      async () => {
        now = await read();
        return now.closed === before.closed + 1 && now.timedOut === before.timedOut + 1;
      },
      5000,
      () => `metrics before ${JSON.stringify(before)}, now ${JSON.stringify(now)}`,
    );
    assert.deepEqual(Object.fromEntries(Object.keys(series).map((k) => [k, (now[k] as number) - (before[k] as number)])), {
      closed: 1,
      timedOut: 1,
      internal: 0,
      status499: 1,
      status408: 1,
      status500: 0,
    });
    const logged = api.output.join('').slice(outputBefore);
    assert.ok(!/"level":"(warn|error)"/.test(logged), logged);
  });

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
