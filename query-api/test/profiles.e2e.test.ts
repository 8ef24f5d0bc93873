import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProblemBody, type UserTagInput } from '@usertags/contracts';
import {
  createTestDatabase,
  createTopic,
  deleteTopic,
  expectedProfile,
  metricValue,
  ProgramProcess,
  postTag,
  random,
  TEST_BROKERS,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '@usertags/testkit';

const T0 = Date.UTC(2022, 2, 22, 12, 0);
const COOKIES = ['heavy shopper', 'ü/ß?&=#%+', '🍪-cookie', 'light'];

/** Per cookie, tags in the order they are sent: out-of-order times, shared milliseconds, >200 of each action for some. */
function stream(): UserTagInput[][] {
  const rnd = random(5);
  return COOKIES.map((cookie, c) => {
    const n = c < 2 ? 520 : c === 2 ? 60 : 3;
    return Array.from({ length: n }, (_, i) => {
      const shared = i % 17 === 0 && i > 0; // same millisecond as the previous tag
      const ms = shared ? T0 + (((i - 1) * 37) % 30_000) : T0 + ((i * 37) % 30_000) + Math.floor(rnd() * 3);
      return {
        time: new Date(ms).toISOString().replace('.000Z', 'Z'),
        cookie,
        country: 'PL',
        device: (['PC', 'MOBILE', 'TV'] as const)[i % 3] as UserTagInput['device'],
        action: rnd() < 0.5 ? 'VIEW' : 'BUY',
        origin: `o_${i % 3}`,
        product_info: { product_id: i % 2 === 0 ? `p-${i}` : i, brand_id: 'b', category_id: 'c', price: i - 100 },
      } satisfies UserTagInput;
    });
  });
}

describe('/user_profiles over the whole pipeline: HTTP → Kafka → projector → embedded store → query API', () => {
  const topic = uniqueName('profiles-e2e');
  const dir = mkdtempSync(join(tmpdir(), 'profiles-e2e-'));
  const storePath = join(dir, 'profiles.sqlite');
  const perCookie = stream();
  const sent: UserTagInput[] = [];
  const programs: ProgramProcess[] = [];
  let database: TestDatabase;
  let query: string;

  before(async () => {
    database = await createTestDatabase('profiles_e2e');
    await createTopic(topic, 4);
    const common = { KAFKA_BROKERS: TEST_BROKERS.join(','), KAFKA_TOPIC: topic, DATABASE_URL: database.url, PROFILE_STORE_PATH: storePath };
    programs.push(
      new ProgramProcess('command-api', { ...common, PORT: '0' }),
      new ProgramProcess('projector', {
        ...common,
        PORT: '0',
        PROJECTIONS: 'profiles',
        PROFILES_GROUP_ID: uniqueName('profiles'),
        KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      }),
      new ProgramProcess('query-api', { ...common, PORT: '0' }),
    );
    const [ingest, projector, queryUrl] = (await Promise.all(programs.map((p) => p.ready()))) as [string, string, string];
    query = queryUrl;
    // A cookie's tags go one after another (their order decides ties within a millisecond); cookies in parallel.
    await Promise.all(
      perCookie.map(async (tags) => {
        for (const tag of tags) {
          assert.equal((await postTag(ingest, tag)).status, 204);
          sent.push(tag);
        }
      }),
    );
    const total = perCookie.reduce((s, t) => s + t.length, 0);
    let applied = 0;
    await waitFor(
      async () => {
        applied = await metricValue(projector, 'projector_events_applied_total{projection="profiles"}');
        return applied >= total;
      },
      60_000,
      () => `applied ${applied} of ${total}`,
    );
  });

  after(async () => {
    await Promise.all(programs.map((p) => p.kill()));
    await deleteTopic(topic);
    await deleteTopic(`${topic}.dead-letter`);
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 23);
  const ask = (cookie: string, fromMs: number, toMs: number, limit?: number, method = 'GET') =>
    fetch(
      `${query}/user_profiles/${encodeURIComponent(cookie)}?time_range=${iso(fromMs)}_${iso(toMs)}${limit === undefined ? '' : `&limit=${limit}`}`,
      { method },
    );

  it('equals the oracle for every cookie over the whole range, with the default limit and limits from 1 to 200', async () => {
    for (const cookie of COOKIES) {
      for (const limit of [undefined, 1, 2, 7, 50, 199, 200, 500]) {
        const res = await ask(cookie, T0, T0 + 60_000, limit);
        assert.equal(res.status, 200);
        assert.deepEqual(
          await res.json(),
          expectedProfile(sent, cookie, T0, T0 + 60_000, Math.min(limit ?? 200, 200)),
          `${cookie} limit ${limit}`,
        );
      }
    }
  });

  it('equals the oracle for sub-ranges down to one millisecond, by GET and by POST', async () => {
    const rnd = random(11);
    for (let i = 0; i < 60; i++) {
      const cookie = COOKIES[i % COOKIES.length] as string;
      const from = T0 + Math.floor(rnd() * 30_000);
      const to = i % 3 === 0 ? from + 1 : from + 1 + Math.floor(rnd() * 10_000);
      const expected = expectedProfile(sent, cookie, from, to, 200);
      assert.deepEqual(await (await ask(cookie, from, to)).json(), expected);
      assert.deepEqual(await (await ask(cookie, from, to, undefined, 'POST')).json(), expected);
    }
  });

  it('gives every tag back as the JSON value sent, product_id type included', async () => {
    const answer = (await (await ask('light', T0, T0 + 60_000)).json()) as { views: UserTagInput[]; buys: UserTagInput[] };
    const back = [...answer.views, ...answer.buys];
    for (const tag of back) {
      const original = sent.find((t) => t.cookie === 'light' && t.product_info.price === tag.product_info.price);
      assert.deepEqual(tag, { ...original, time: new Date(original?.time as string).toISOString() });
      assert.equal(typeof tag.product_info.product_id, typeof original?.product_info.product_id);
    }
  });

  it('answers an unknown cookie with two empty lists, not 404', async () => {
    const res = await ask('nobody-here', T0, T0 + 60_000);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { cookie: 'nobody-here', views: [], buys: [] });
  });

  it('in debug mode counts a match and a mismatch and answers with its own result', async () => {
    const expected = expectedProfile(sent, 'light', T0, T0 + 60_000, 200);
    const url = `${query}/user_profiles/light?time_range=${iso(T0)}_${iso(T0 + 60_000)}`;
    const equal = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(expected) });
    assert.deepEqual(await equal.json(), expected);
    const wrong = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...expected, views: [] }),
    });
    assert.deepEqual(await wrong.json(), expected);
    const metrics = await (await fetch(`${query}/metrics`)).text();
    assert.match(metrics, /^debug_comparisons_total\{endpoint="user_profiles",result="match"\} 1$/m);
    assert.match(metrics, /^debug_comparisons_total\{endpoint="user_profiles",result="mismatch"\} 1$/m);
  });

  for (const [what, path, field] of [
    ['no time_range', '/user_profiles/light', 'time_range'],
    ['limit 0', `/user_profiles/light?time_range=${iso(T0)}_${iso(T0 + 1000)}&limit=0`, 'limit'],
    ['a fractional limit', `/user_profiles/light?time_range=${iso(T0)}_${iso(T0 + 1000)}&limit=2.5`, 'limit'],
    ['a range that ends before it starts', `/user_profiles/light?time_range=${iso(T0 + 1000)}_${iso(T0)}`, 'time_range'],
    ['a broken percent-encoding', `/user_profiles/%E0%A4%A?time_range=${iso(T0)}_${iso(T0 + 1000)}`, 'cookie'],
  ] as const) {
    it(`answers 400 naming ${field} for ${what}`, async () => {
      const res = await fetch(`${query}${path}`);
      assert.equal(res.status, 400);
      assert.ok(ProblemBody.parse(await res.json()).errors?.some((e) => e.field === field));
    });
  }
});
