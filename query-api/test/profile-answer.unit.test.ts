import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createEventCodec, parseProfileQuery, type UserTag } from '@usertags/contracts';
import { createLogger } from '@usertags/runtime';
import { rawRequest } from '@usertags/testkit';
import fc from 'fast-check';
import { answerProfileJson, type ProfileReader } from '../src/core/profiles.ts';
import { createQueryApp } from '../src/http/app.ts';
import { createMetrics } from '../src/metrics.ts';

const codec = createEventCodec();
/** A tag's JSON text as the projector stores it: the event as the log holds it, decoded. */
const stored = (t: UserTag) => JSON.stringify(codec.decode(codec.encode(t)));
const RANGE = 'time_range=2022-03-01T00:00:00.000_2022-03-02T00:00:00.000';
const T0 = Date.UTC(2022, 2, 1);

/** A store that holds given JSON texts and answers every read with them (the order and the cut are the store's business, not tested here). */
function reader(views: readonly string[], buys: readonly string[]): ProfileReader {
  return { read: async () => ({ views, buys }) };
}

const query = (cookie: string, qs = RANGE) => {
  const parsed = parseProfileQuery(cookie, qs);
  assert.ok(parsed.ok);
  return parsed.value;
};

const text = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'grapheme', maxLength: 5 }),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u001f', 'é', '\u2028', '🍪'), maxLength: 8 }),
);
const tag: fc.Arbitrary<UserTag> = fc.record({
  time: fc
    .integer({ min: Date.parse('0000-01-01T00:00:00Z'), max: Date.parse('9999-12-31T23:59:59.999Z') })
    .map((ms) => new Date(ms).toISOString()),
  cookie: text,
  country: text,
  device: fc.constantFrom('PC', 'MOBILE', 'TV'),
  action: fc.constantFrom('VIEW', 'BUY'),
  origin: text,
  product_info: fc.record({
    product_id: fc.oneof(text, fc.integer(), fc.maxSafeInteger()),
    brand_id: text,
    category_id: text,
    price: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  }),
});
const cookie = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }).filter((c) => c.isWellFormed()),
  fc.constantFrom('cookie-1', 'ü/ß?&=#%+', '🍪-cookie', 'a"b\\c', 'tab\there'),
);

describe('the profile answer written as JSON text', () => {
  it('is JSON.stringify of the answer as objects, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(cookie, fc.array(tag, { maxLength: 30 }), fc.array(tag, { maxLength: 30 }), async (c, views, buys) => {
        const json = await answerProfileJson(query(c), reader(views.map(stored), buys.map(stored)));
        const objects = {
          cookie: c,
          views: views.map((t) => codec.decode(codec.encode(t))),
          buys: buys.map((t) => codec.decode(codec.encode(t))),
        };
        assert.equal(json.toString(), JSON.stringify(objects));
        assert.deepEqual(json, Buffer.from(JSON.stringify(objects)));
        // fast-check's records have no prototype: compared as the JSON values they are.
        const sent = JSON.parse(JSON.stringify({ cookie: c, views, buys }));
        assert.deepEqual(JSON.parse(json.toString()), sent, 'each tag reads back as the value that was sent');
      }),
      { numRuns: 300 },
    );
  });

  it('holds full profiles: 200 views and 200 buys', async () => {
    const tags = fc.sample(tag, 400);
    const json = await answerProfileJson(query('c'), reader(tags.slice(0, 200).map(stored), tags.slice(200).map(stored)));
    const sent = JSON.parse(JSON.stringify({ cookie: 'c', views: tags.slice(0, 200), buys: tags.slice(200) }));
    assert.deepEqual(JSON.parse(json.toString()), sent);
  });

  it('gives two empty lists for a cookie with nothing', async () => {
    const json = await answerProfileJson(query('nobody "here"'), reader([], []));
    assert.equal(json.toString(), '{"cookie":"nobody \\"here\\"","views":[],"buys":[]}');
  });
});

describe('GET and POST /user_profiles sending the JSON text', () => {
  const tags: UserTag[] = Array.from({ length: 6 }, (_, i) => ({
    time: new Date(T0 + 1000 * (6 - i)).toISOString(),
    cookie: 'ü 1',
    country: 'PL',
    device: 'PC',
    action: i % 2 === 0 ? 'VIEW' : 'BUY',
    origin: `o"${i}`,
    product_info: { product_id: i % 3 === 0 ? i : `p${i}`, brand_id: 'b', category_id: 'c', price: i * 1000 },
  }));
  const views = tags.filter((t) => t.action === 'VIEW');
  const buys = tags.filter((t) => t.action === 'BUY');
  const expected = JSON.stringify({ cookie: 'ü 1', views, buys });
  const metrics = createMetrics();
  const lines: string[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    const profiles = {
      read: async (c: string) => (c === 'ü 1' ? { views: views.map(stored), buys: buys.map(stored) } : { views: [], buys: [] }),
      checkReady: async () => {},
    };
    const app = createQueryApp({
      profiles,
      aggregates: {
        readBuckets: async () => [],
        readWatermarks: async () => ({ horizonMs: undefined }),
        checkReady: async () => {},
      } as never,
      checkReady: async () => {},
      metrics,
      logger: createLogger('query-api', 'warn', (l) => lines.push(l)),
      maxMinutes: 1440,
      debugBodyLimitBytes: 1 << 20,
    });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/user_profiles/${encodeURIComponent('ü 1')}?${RANGE}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const comparisons = async (result: 'match' | 'mismatch') =>
    (await metrics.debugComparisons.get()).values.find((v) => v.labels.endpoint === 'user_profiles' && v.labels.result === result)?.value ??
    0;

  it('answers GET with the JSON text and the headers res.json gave', async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = await res.text();
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(body)));
    assert.equal(body, expected);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(url, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(expected)));
    assert.equal(await res.text(), '');
  });

  it('counts a debug-mode match for the same text, and for the same value written otherwise', async () => {
    const before = await comparisons('match');
    for (const body of [expected, JSON.stringify(JSON.parse(expected), null, 2), JSON.stringify({ buys, views, cookie: 'ü 1' })]) {
      const res = await fetch(url, { method: 'POST', body });
      assert.equal(await res.text(), expected);
    }
    assert.equal(await comparisons('match'), before + 3);
  });

  it('counts a mismatch and logs the first difference, still answering its own answer', async () => {
    const before = await comparisons('mismatch');
    const wrong = JSON.parse(expected);
    wrong.buys[0].product_info.price = 7;
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(wrong) });
    assert.equal(await res.text(), expected);
    assert.equal(await comparisons('mismatch'), before + 1);
    assert.ok(
      lines.some((l) => l.includes('buys[0].product_info.price: expected 7, got 1000')),
      lines.join('\n'),
    );
  });

  // The plain form skips express (createQueryApp); the absolute form, legal HTTP/1.1, is routed by express as before.
  it('answers the same bytes, and refuses a bad query alike, whether express routes the request or not', async () => {
    const { host, pathname, search } = new URL(url);
    const answers = async (query: string) =>
      Promise.all(
        [`${pathname}${query}`, `http://${host}${pathname}${query}`].map((target) =>
          rawRequest(url, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        ),
      );
    const [plain, absolute] = await answers(search);
    assert.equal(plain?.status, 200);
    assert.equal(plain?.body, expected);
    assert.deepEqual(absolute?.body, plain?.body);
    assert.equal(absolute?.headers['content-type'], plain?.headers['content-type']);
    const refused = await answers('?time_range=nonsense');
    for (const r of refused) {
      assert.equal(r.status, 400);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      assert.deepEqual(
        JSON.parse(r.body).errors.map((e: { field: string }) => e.field),
        ['time_range'],
      );
    }
  });

  it('still refuses a bad query with a problem', async () => {
    const res = await fetch(url.replace(RANGE, 'time_range=nonsense&limit=0'));
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { errors: Array<{ field: string }> };
    assert.deepEqual(problem.errors.map((e) => e.field).sort(), ['limit', 'time_range']);
  });
});
