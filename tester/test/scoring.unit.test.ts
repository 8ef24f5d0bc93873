import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryScore } from '../src/core/scoring.ts';
import { EndpointStats, summarize } from '../src/core/stats.ts';
import { firstDifference, judge, type Outcome } from '../src/index.ts';

const answered = (status: number, body: string): Outcome => ({ kind: 'answered', status, body, latencyMs: 3 });

describe('scoring', () => {
  it('names the first difference by its path', () => {
    assert.equal(firstDifference({ rows: [['a', '1']] }, { rows: [['a', '2']] }), 'rows[0][1]: expected "1", got "2"');
    assert.equal(firstDifference({ views: [1, 2] }, { views: [1] }), 'views: expected 2 items, got 1');
    assert.equal(firstDifference({ a: 1 }, {}), 'a: missing in the answer');
    assert.equal(firstDifference({}, { z: 1 }), 'z: not in the expected answer');
    assert.equal(firstDifference({ p: { id: 5 } }, { p: { id: '5' } }), 'p.id: expected 5, got "5"');
    assert.equal(firstDifference([1], [1]), undefined);
  });

  it('judges an answer correct only when it is 2xx and the expected JSON value', () => {
    const expected = { cookie: 'c', views: [], buys: [] };
    assert.deepEqual(judge(expected, answered(200, '{"buys":[],"views":[],"cookie":"c"}')), { kind: 'correct' });
    assert.deepEqual(judge(expected, answered(200, '{"cookie":"c","views":[{}],"buys":[]}')), {
      kind: 'wrong',
      difference: 'views: expected 0 items, got 1',
    });
    assert.equal(judge(expected, answered(200, 'nope')).kind, 'wrong');
    assert.deepEqual(judge(expected, answered(500, 'boom')), { kind: 'failed', why: 'HTTP 500: boom' });
    assert.equal(judge(expected, { kind: 'timeout', status: 0, body: '', latencyMs: 200 }).kind, 'failed');
    assert.equal(judge(expected, { kind: 'error', status: 0, body: '', latencyMs: 1, error: 'ECONNREFUSED' }).kind, 'failed');
  });

  it('scores correct over checked in percent and keeps the first examples', () => {
    const score = new QueryScore();
    for (let i = 0; i < 7; i++) score.onVerdict(`q${i}`, { kind: 'correct' });
    score.onVerdict('q7', { kind: 'wrong', difference: 'rows[0][2]: expected "1", got "2"' });
    score.onVerdict('q8', { kind: 'failed', why: 'timed out after 200 ms' });
    score.onUnchecked('views: the tag at 2022-03-01T00:00:01.000Z is not known to be visible');
    score.onUnchecked('views: the tag at 2022-03-01T00:00:02.000Z is not known to be visible');
    const s = score.summary();
    assert.deepEqual(
      { checked: s.checked, correct: s.correct, wrong: s.wrong, failed: s.failed, unchecked: s.unchecked, pct: s.correctPercent },
      { checked: 9, correct: 7, wrong: 1, failed: 1, unchecked: 2, pct: 77.78 },
    );
    assert.deepEqual(s.examples, [
      { request: 'q7', verdict: 'wrong: rows[0][2]: expected "1", got "2"' },
      { request: 'q8', verdict: 'failed: timed out after 200 ms' },
    ]);
    assert.deepEqual(s.uncheckedReasons, { 'views: the tag at <time> is not known to be visible': 2 });
    assert.equal(new QueryScore().summary().correctPercent, null);
  });

  it('gives nearest-rank latency percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(summarize(values), { count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    assert.deepEqual(summarize([]), { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });

  it('counts the answers slower than a threshold, not those exactly at it', () => {
    const stats = new EndpointStats();
    for (const ms of [5, 200, 200.5, 1500]) stats.onOutcome({ kind: 'answered', status: 204, body: '', latencyMs: ms });
    assert.equal(stats.latency.countAbove(200), 2);
    assert.equal(stats.latency.countAbove(2000), 0);
  });

  it('counts an endpoint’s answers, failures and drops, per second too', () => {
    const stats = new EndpointStats();
    stats.onSent();
    stats.onSent();
    stats.onSent();
    stats.onDropped();
    stats.onOutcome(answered(204, ''));
    stats.onOutcome(answered(503, ''));
    stats.onOutcome({ kind: 'timeout', status: 0, body: '', latencyMs: 200 });
    stats.rollSecond(1);
    assert.deepEqual(
      { issued: stats.issued, sent: stats.sent, dropped: stats.dropped, ok: stats.ok, non2xx: stats.non2xx, timeouts: stats.timeouts },
      { issued: 4, sent: 3, dropped: 1, ok: 1, non2xx: 1, timeouts: 1 },
    );
    assert.deepEqual(stats.series, [{ t: 1, sent: 3, ok: 1, failed: 2, dropped: 1, p50: 3, p99: 3, max: 3 }]);
    assert.equal(stats.latency.count, 2, 'timeouts have no latency');
  });
});
