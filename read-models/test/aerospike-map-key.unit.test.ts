import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mapKeyOf } from '../src/profiles/aerospike-profile-store.ts';

const digest = (n: number) => {
  const d = Buffer.alloc(12);
  d.writeBigUInt64BE(BigInt(n), 4);
  return d;
};

describe('Aerospike profile map keys', () => {
  it('sort as strings exactly as (event time, digest) sort as numbers, before 1970 too', () => {
    // Every time the contract accepts: years 0000 to 9999.
    const time = fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 });
    fc.assert(
      fc.property(time, time, fc.nat(), fc.nat(), (t1, t2, d1, d2) => {
        const a = mapKeyOf(t1, digest(d1));
        const b = mapKeyOf(t2, digest(d2));
        const expected = t1 !== t2 ? Math.sign(t1 - t2) : Math.sign(d1 - d2);
        assert.equal(Math.sign(a < b ? -1 : a > b ? 1 : 0), expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('have one length, so a time prefix bounds a key range', () => {
    assert.equal(mapKeyOf(0, digest(0)).length, mapKeyOf(Date.UTC(9999, 0, 1), digest(2 ** 40)).length);
  });
});
