import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowWatermark, MAX_AHEAD_OF_CLOCK_MS, PartitionWatermark } from '../src/core/watermark.ts';

const T0 = Date.UTC(2022, 2, 22, 12, 0);
const NOW = Date.UTC(2026, 11, 3);
const FAR_FUTURE = Date.parse('9999-12-31T23:59:59.999Z');

describe('the corroborated event time of a partition', () => {
  it('has none until `confirmations` events are seen, then follows the stream that many events behind', () => {
    const w = new PartitionWatermark(3);
    w.observe(T0, NOW);
    w.observe(T0 + 1, NOW);
    assert.equal(w.value(), undefined);
    w.observe(T0 + 2, NOW);
    assert.equal(w.value(), T0);
    for (let i = 3; i < 100; i++) w.observe(T0 + i, NOW);
    assert.equal(w.value(), T0 + 97);
  });

  it('is not moved by fewer outliers than `confirmations`, far in the future or far in the past', () => {
    const w = new PartitionWatermark(10);
    for (let i = 0; i < 50; i++) w.observe(T0 + i * 1000, NOW);
    assert.equal(w.value(), T0 + 40 * 1000);
    for (let i = 0; i < 9; i++) w.observe(T0 + 400 * 24 * 3_600_000 + i, NOW); // a year ahead, within the clock
    for (let i = 0; i < 100; i++) w.observe(0, NOW); // 1970
    // The outliers take 9 of the 10 places: the watermark is the newest normal event, never an outlier.
    assert.equal(w.value(), T0 + 49 * 1000);
    for (let i = 50; i < 60; i++) w.observe(T0 + i * 1000, NOW);
    assert.equal(w.value(), T0 + 59 * 1000, 'the normal stream goes on moving it');
  });

  it('never counts a time more than a day ahead of the clock, however many there are', () => {
    const w = new PartitionWatermark(5);
    for (let i = 0; i < 5; i++) w.observe(T0 + i, NOW);
    for (let i = 0; i < 1000; i++) w.observe(FAR_FUTURE, NOW);
    for (let i = 0; i < 1000; i++) w.observe(NOW + MAX_AHEAD_OF_CLOCK_MS + 1, NOW);
    assert.equal(w.value(), T0);
  });

  it('follows a genuine jump once enough events confirm it', () => {
    const w = new PartitionWatermark(4);
    for (let i = 0; i < 10; i++) w.observe(T0 + i, NOW);
    const later = T0 + 25 * 3_600_000;
    for (let i = 0; i < 4; i++) w.observe(later + i, NOW);
    assert.equal(w.value(), later);
  });

  it('starts from a stored value and never goes back below it', () => {
    const w = new PartitionWatermark(2, T0 + 5000);
    assert.equal(w.value(), T0 + 5000);
    w.observe(T0, NOW);
    w.observe(T0 + 1, NOW);
    assert.equal(w.value(), T0 + 5000);
  });

  it('gives the lowest watermark of the partitions that have one', () => {
    assert.equal(lowWatermark([T0 + 5, T0, T0 + 9]), T0);
    assert.equal(lowWatermark([]), undefined);
  });
});
