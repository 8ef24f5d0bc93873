import { type ICustomPartitioner, Partitioners } from 'kafkajs';

const M = 0x5bd1e995;
const utf8 = new TextEncoder();

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`) of a key's UTF-8
 * bytes, in 32-bit integer arithmetic: kafkajs's own computes the same hash
 * with 64-bit Long objects, a few allocations per step (2–3 % of the
 * command API's time at 4,000 tags/s).
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = 0x9747b28c ^ length;
  const whole = length - (length & 3);
  for (let i = 0; i < whole; i += 4) {
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    h = Math.imul(h, M) ^ Math.imul(k, M);
  }
  // The last one to three bytes, highest first, then one more mixing step (Java's switch falling through).
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= (bytes[whole + 2] as number) << 16;
    if (tail >= 2) h ^= (bytes[whole + 1] as number) << 8;
    h = Math.imul(h ^ (bytes[whole] as number), M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  return h ^ (h >>> 15);
}

/**
 * kafkajs's default partitioner with the hash done in 32 bits: a record
 * with a key goes where the Java client would send it —
 * `(murmur2(key) & 0x7fffffff) % partitions` — and anything else (an
 * explicit partition, no key) is left to kafkajs's own.
 */
export const javaCompatiblePartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { key, partition } = args.message;
    if (partition !== undefined && partition !== null) return partition;
    if (key === undefined || key === null) return fallback(args);
    const bytes = typeof key === 'string' ? utf8.encode(key) : key;
    return (murmur2(bytes) & 0x7fffffff) % args.partitionMetadata.length;
  };
};
