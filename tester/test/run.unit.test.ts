import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Report, runTester, type TesterOptionsInput } from '../src/index.ts';
import { type FakeSystemOptions, spawnFakeSystem } from './support/fake-system.ts';

// A short, fast run: 30 cookies so the busiest pass 200 tags per action, tight
// freshness bounds so queries start within a second, a start time one second
// before a minute so that minute closes after 1,000 tags, and generous timeouts
// so that a busy machine slows the run down but does not fail it.
const SHORT: TesterOptionsInput = {
  rate: 1000,
  durationS: 3,
  maxInFlight: 10_000,
  tagTimeoutMs: 5000,
  profileTimeoutMs: 5000,
  cookies: 30,
  profileFreshnessMs: 300,
  aggregatesFreshnessMs: 400,
  startTime: '2022-03-01T00:00:59.000Z',
  progress: 'never',
};

async function runAgainst(system: FakeSystemOptions, extra: TesterOptionsInput = {}): Promise<Report> {
  const fake = await spawnFakeSystem(system);
  try {
    return await runTester({ ...SHORT, commandUrl: fake.url, queryUrl: fake.url, ...extra });
  } finally {
    await fake.stop();
  }
}

describe('a run against a small in-memory system', () => {
  it('scores a correct system that keeps exactly 200 tags per action at 100 %, and writes the three reports', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tester-report-'));
    try {
      const r = await runAgainst({ keep: 200 }, { out });
      assert.equal(r.workload.tags, 3000);
      assert.equal(r.endpoints.tags.ok, 3000);
      assert.equal(r.endpoints.profiles.issued + r.correctness.profiles.warmingUp, 300);
      assert.equal(r.endpoints.aggregates.issued + r.correctness.aggregates.warmingUp, 3);
      for (const kind of ['profiles', 'aggregates'] as const) {
        const s = r.correctness[kind];
        assert.ok(s.checked > 0, `${kind}: some queries were checked`);
        assert.equal(s.correct, s.checked, `${kind}: ${JSON.stringify(s.examples)}`);
        assert.equal(s.correctPercent, 100);
      }
      const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
      assert.equal(json.correctness.profiles.checked, r.correctness.profiles.checked);
      assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /\| profiles \| 100\.00 % \|/);
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      assert.equal(html.match(/<svg /g)?.length, 6, 'a throughput and a latency chart per endpoint');
      assert.doesNotMatch(html, /<script|<link|\ssrc=|\shref=/, 'self-contained');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('scores a correct system that keeps every tag at 100 % too', async () => {
    const r = await runAgainst({ keep: 'all' });
    assert.ok(r.correctness.profiles.checked > 0);
    assert.equal(r.correctness.profiles.correct, r.correctness.profiles.checked);
    assert.equal(r.correctness.aggregates.correct, r.correctness.aggregates.checked);
  });

  it('notices a profile range whose end is included, and an aggregate count off by one', async () => {
    const p = await runAgainst({ keep: 200, bug: 'profile-range-end-included' });
    assert.ok(p.correctness.profiles.wrong > 0);
    assert.ok((p.correctness.profiles.correctPercent ?? 100) < 100);
    assert.match(p.correctness.profiles.examples[0]?.verdict ?? '', /^wrong: /);
    // Eight seconds: a query asking only for SUM_PRICE is still answered right, and on a loaded machine the
    // first ones may still be warming up, so a 3-second run may check none that asks for COUNT.
    const a = await runAgainst({ keep: 200, bug: 'aggregates-count-plus-one' }, { durationS: 8 });
    assert.ok(a.correctness.aggregates.wrong > 0);
    assert.match(a.correctness.aggregates.examples[0]?.verdict ?? '', /^wrong: rows\[0\]\[\d\]: expected "\d+", got "\d+"/);
  });

  it('counts tags that time out, and does not check answers that depend on them', async () => {
    const r = await runAgainst({ keep: 200, tagDelayMs: 100 }, { tagTimeoutMs: 50, durationS: 1.5 });
    assert.equal(r.endpoints.tags.timeouts, 1500);
    assert.equal(r.endpoints.tags.ok, 0);
    // Every tag's fate is unknown: only questions about unknown cookies or empty ranges can be checked.
    assert.equal(r.correctness.profiles.wrong, 0);
    assert.ok(r.correctness.profiles.unchecked > 0);
  });
});
