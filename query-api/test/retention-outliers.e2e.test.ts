import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UserTagInput } from '@usertags/contracts';
import { metricValue, ProgramProcess, postTag, sampleTag, waitFor } from '@usertags/testkit';

// Retention follows a watermark that outliers cannot move (docs/aggregates.md, "Retention"): one tag
// dated 9999, a burst of them, tags from 1970 or from today's wall clock while the stream is in 2022 —
// none of them makes real minutes "too old", and the normal stream's aggregates stay exact.
const MIN = 60_000;
const M = Date.UTC(2022, 2, 22, 12, 0);
const CONFIRMATIONS = 100;
const iso = (ms: number) => new Date(ms).toISOString();
const bucket = (ms: number) => iso(ms).slice(0, 19);
const tagAt = (n: number, ms: number, cookie = `c-${n % 97}`): UserTagInput =>
  sampleTag(n, { cookie, action: 'BUY', time: iso(ms), product_info: { product_id: 'p', brand_id: 'b', category_id: 'k', price: n % 50 } });

describe('retention with outlier event times', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usertags-retention-'));
  const env = {
    EVENT_LOG_PATH: join(dir, 'events.sqlite'),
    DATABASE_URL: `sqlite:${join(dir, 'aggregates.sqlite')}`,
    PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
    PROJECTIONS: 'aggregates',
    FLUSH_MAX_DELAY_MS: '100',
    RETENTION_CONFIRMATIONS: String(CONFIRMATIONS),
    PORT: '0',
  };
  const programs = [new ProgramProcess('command-api', env), new ProgramProcess('projector', env), new ProgramProcess('query-api', env)];
  const urls = { ingest: '', projector: '', query: '' };
  const sent: UserTagInput[] = [];
  let n = 0;

  async function send(tags: UserTagInput[]): Promise<void> {
    for (let i = 0; i < tags.length; i += 50) {
      const statuses = await Promise.all(tags.slice(i, i + 50).map((t) => postTag(urls.ingest, t).then((r) => r.status)));
      assert.deepEqual([...new Set(statuses)], [204]);
    }
    sent.push(...tags);
    await waitFor(
      async () =>
        (await metricValue(urls.projector, 'projector_events_applied_total{projection="aggregates"}')) + (await late()) >= sent.length,
      30_000,
      () => `the projector has taken all ${sent.length} tags`,
    );
  }
  const late = () => metricValue(urls.projector, 'projector_late_events_total{projection="aggregates"}');
  const stream = (count: number, fromMs: number) => Array.from({ length: count }, (_, i) => tagAt(n++, fromMs + i * 100));

  /** The answer for [fromMs, fromMs + minutes), and the oracle's. */
  async function compare(fromMs: number, minutes: number, counted: readonly UserTagInput[] = sent) {
    const range = `${bucket(fromMs)}_${bucket(fromMs + minutes * MIN)}`;
    const res = await fetch(`${urls.query}/aggregates?time_range=${range}&action=BUY&aggregates=COUNT&aggregates=SUM_PRICE`);
    const body = (await res.json()) as { rows?: string[][]; detail?: string };
    const expected = Array.from({ length: minutes }, (_, i) => {
      const start = fromMs + i * MIN;
      const inMinute = counted.filter((t) => Date.parse(t.time) >= start && Date.parse(t.time) < start + MIN);
      return [bucket(start), 'BUY', String(inMinute.length), String(inMinute.reduce((s, t) => s + t.product_info.price, 0))];
    });
    return { status: res.status, rows: body.rows, detail: body.detail, expected };
  }

  before(async () => {
    [urls.ingest, urls.projector, urls.query] = (await Promise.all(programs.map((p) => p.ready()))) as [string, string, string];
  });

  after(async () => {
    await Promise.all(programs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the normal stream exact through outliers far in the future, far in the past, and a burst of them', async () => {
    await send(stream(400, M));
    await send([tagAt(n++, Date.parse('9999-12-31T23:59:59.999Z'))]);
    await send(stream(150, M + 40_000));
    // A burst on every partition: far future, 1970, and "now" by the wall clock (years ahead of the stream).
    const burst = (ms: number) => Array.from({ length: CONFIRMATIONS - 1 }, (_, i) => tagAt(n++, ms + i, `burst-${n}`));
    await send([...burst(Date.parse('9999-12-31T23:00:00.000Z')), ...burst(Date.UTC(1970, 0, 1)), ...burst(Date.now() - 3_600_000)]);
    await send(stream(300, M + 2 * MIN));

    const normal = await compare(M, 4);
    assert.equal(normal.status, 200, normal.detail);
    assert.deepEqual(normal.rows, normal.expected);
    assert.ok(Number(normal.rows?.[0]?.[2]) > 0);
    assert.equal(await late(), CONFIRMATIONS - 1, 'only the 1970 tags, more than 24 h behind the stream, are late');
    // The far-future tags are tags like any other, counted in their own minute; 1970 is past the horizon.
    const future = await compare(Date.parse('9999-12-31T23:00:00.000Z'), 1);
    assert.equal(future.status, 200);
    assert.deepEqual(future.rows, future.expected);
    const past = await compare(Date.UTC(1970, 0, 1), 1);
    assert.equal(past.status, 400);
    assert.match(past.detail ?? '', /retention horizon 2022-03-21T12:/);
  });

  it('moves retention once a genuine stream a day later confirms it on every partition', async () => {
    const later = M + 25 * 60 * MIN;
    await send(stream(1500, later));
    await waitFor(
      async () => (await compare(M, 4)).status === 400,
      20_000,
      () => 'minutes more than 24 h behind the confirmed stream are dropped',
    );
    assert.match((await compare(M, 4)).detail ?? '', /retention horizon/);
    const fresh = await compare(later, 3);
    assert.equal(fresh.status, 200);
    assert.deepEqual(fresh.rows, fresh.expected);
  });
});
