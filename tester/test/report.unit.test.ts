import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineChart } from '../src/report/svg.ts';

describe('the report charts', () => {
  it('draw a line per series, broken where a value is missing', () => {
    const svg = lineChart({
      title: 'latency <p99>',
      xs: [1, 2, 3, 4],
      xLabel: 's',
      yLabel: 'ms',
      lines: [
        { name: 'p50', color: '#000', values: [1, null, 3, 4] },
        { name: 'p99', color: '#f00', values: [null, null, null, null] },
      ],
    });
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /latency &#60;p99&#62;/, 'text is escaped');
    const paths = svg.match(/<path d="([^"]+)"/g) ?? [];
    assert.equal(paths.length, 1, 'a series without values draws nothing');
    assert.equal((paths[0]?.match(/M/g) ?? []).length, 2, 'the gap starts a new segment');
  });

  it('draw a logarithmic axis in powers of ten', () => {
    const svg = lineChart({
      title: 't',
      xs: [1, 2],
      xLabel: 's',
      yLabel: 'ms',
      log: true,
      lines: [{ name: 'a', color: '#000', values: [0.5, 250] }],
    });
    for (const tick of ['0.1', '1', '10', '100', '1000']) assert.match(svg, new RegExp(`>${tick.replace('.', '\\.')}</text>`));
  });
});
