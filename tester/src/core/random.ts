/**
 * Random numbers that can be drawn for any position of a stream without
 * drawing everything before it: the generator for item `index` of stream
 * `stream` is seeded from a hash of (seed, stream, index). So tag 5,000,000 of
 * a seed can be rebuilt when an answer needs it, and the same seed always
 * gives the same tags and the same query plans.
 */

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers that mixes every bit. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a small, fast generator of floats in [0, 1) from a 32-bit state. */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The independent streams the workload draws from. */
export const STREAMS = { tags: 1, profileQueries: 2, aggregatesQueries: 3 } as const;

/** The generator of item `index` (a non-negative integer below 2^53) of one stream of a seed. */
export function rngAt(seed: number, stream: number, index: number): () => number {
  const low = index >>> 0;
  const high = Math.floor(index / 4294967296) >>> 0;
  const h = mix32(mix32(seed ^ Math.imul(stream, 0x9e3779b9)) ^ mix32(low ^ 0x632be5ab) ^ Math.imul(mix32(high), 0x27d4eb2f));
  return mulberry32(h);
}

/**
 * A Zipf-like rank in [1, n] for a uniform draw `u`, by inverting the
 * continuous power law with exponent `s` (s > 0): rank 1 is the most likely.
 *
 * @example zipfRank(0, 1000, 0.9) // 1
 */
export function zipfRank(u: number, n: number, s: number): number {
  if (n <= 1) return 1;
  let x: number;
  if (Math.abs(s - 1) < 1e-9) x = Math.exp(u * Math.log(n + 1));
  else {
    const a = 1 - s;
    x = (1 + u * ((n + 1) ** a - 1)) ** (1 / a);
  }
  return Math.min(n, Math.max(1, Math.floor(x)));
}
