import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_TEXT_CODE_POINTS, ProblemBody, type UserTagInput } from '@usertags/contracts';
import {
  aggregatesQueryString,
  assertMethodsNotAllowed,
  expectedAggregates,
  expectedProfile,
  type OracleQuery,
  ProgramProcess,
  postTag,
  rawRequest,
  waitFor,
} from '@usertags/testkit';

const T0 = Date.UTC(2022, 2, 22, 12, 0);
const at = (unit: string, n = MAX_TEXT_CODE_POINTS) => unit.repeat(n);

/** Every string field as long as it may be, in characters of one to four UTF-8 bytes. */
const longest: UserTagInput = {
  time: new Date(T0 + 1234).toISOString(),
  cookie: at('😀'),
  country: at('𝄞'),
  device: 'PC',
  action: 'BUY',
  origin: `${at('o', MAX_TEXT_CODE_POINTS - 2)}é🍪`,
  product_info: { product_id: at('中'), brand_id: at('🍪'), category_id: `${at('c', MAX_TEXT_CODE_POINTS - 1)}\ufffd`, price: 42 },
};

describe('text at its limits, from POST /user_tags to the read models and back, on the embedded log and stores', () => {
  const dir = mkdtempSync(join(tmpdir(), 'text-limits-'));
  const env = {
    KAFKA_BROKERS: '127.0.0.1:1',
    EVENT_LOG_PATH: join(dir, 'events.sqlite'),
    DATABASE_URL: `sqlite:${join(dir, 'aggregates.sqlite')}`,
    PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
    FLUSH_MAX_DELAY_MS: '100',
    FETCH_MAX_WAIT_MS: '50',
    PORT: '0',
  };
  const programs = [
    new ProgramProcess('command-api', env),
    new ProgramProcess('projector', env),
    new ProgramProcess('query-api', env),
  ] as const;
  let ingest: string;
  let projector: string;
  let query: string;

  before(async () => {
    [ingest, projector, query] = (await Promise.all(programs.map((p) => p.ready()))) as [string, string, string];
  });

  after(async () => {
    await Promise.all(programs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`stores a tag with ${MAX_TEXT_CODE_POINTS} characters in every string field and gives it back exactly, refusing ${MAX_TEXT_CODE_POINTS + 1} on both sides`, async () => {
    assert.equal((await postTag(ingest, longest)).status, 204);
    const over = { ...longest, cookie: `${longest.cookie}😀` };
    const refused = await postTag(ingest, over);
    assert.equal(refused.status, 400);
    assert.deepEqual(
      ProblemBody.parse(await refused.json()).errors?.map((e) => e.field),
      ['cookie'],
    );

    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 23);
    const profileUrl = (cookie: string) => `${query}/user_profiles/${encodeURIComponent(cookie)}?time_range=${iso(T0)}_${iso(T0 + 60_000)}`;
    const want = expectedProfile([longest], longest.cookie, T0, T0 + 60_000, 200);
    let got: unknown;
    await waitFor(
      async () => {
        got = await (await fetch(profileUrl(longest.cookie))).json();
        return JSON.stringify(got) === JSON.stringify(want);
      },
      30_000,
      () => `the profile read back is ${JSON.stringify(got).slice(0, 300)}`,
    );
    assert.deepEqual(got, want);

    const aggregates: OracleQuery = {
      fromMs: T0,
      toMs: T0 + 60_000,
      action: 'BUY',
      aggregates: ['COUNT', 'SUM_PRICE'],
      origin: longest.origin,
      brand_id: longest.product_info.brand_id,
      category_id: longest.product_info.category_id,
    };
    const wantRows = expectedAggregates([longest], aggregates);
    assert.equal(wantRows.rows[0]?.at(-2), '1');
    await waitFor(
      async () =>
        JSON.stringify(await (await fetch(`${query}/aggregates?${aggregatesQueryString(aggregates)}`)).json()) === JSON.stringify(wantRows),
      30_000,
      () => 'the aggregates filtered by the longest origin, brand and category count the tag',
    );

    const tooLong = await fetch(profileUrl(over.cookie));
    assert.equal(tooLong.status, 400);
    assert.deepEqual(
      ProblemBody.parse(await tooLong.json()).errors?.map((e) => e.field),
      ['cookie'],
    );
    const tooLongFilter = await fetch(
      `${query}/aggregates?${aggregatesQueryString({ ...aggregates, brand_id: `${longest.product_info.brand_id}🍪` })}`,
    );
    assert.equal(tooLongFilter.status, 400);
    assert.deepEqual(
      ProblemBody.parse(await tooLongFilter.json()).errors?.map((e) => e.field),
      ['brand_id'],
    );
  });

  it('answers a method the projector does not serve on its operational paths with 405 and Allow; other paths stay 404', async () => {
    await assertMethodsNotAllowed(projector, [
      ['TRACE', '/health', 'GET, HEAD'],
      ['POST', '/ready', 'GET, HEAD'],
      ['OPTIONS', '/metrics', 'GET, HEAD'],
    ]);
    assert.equal((await rawRequest(projector, 'DELETE /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 404);
  });
});
