/**
 * The CRC-64-AVRO (Rabin) fingerprint of a schema's Parsing Canonical Form, as
 * the Avro specification defines it for single-object encoding. Computed once
 * per schema, so BigInt arithmetic is fine here.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) {
      fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    }
    table.push(fp & MASK);
  }
  return table;
})();

/** Returns the 8-byte little-endian CRC-64-AVRO fingerprint of `canonicalForm`. */
export function crc64Avro(canonicalForm: string): Buffer {
  let fp = EMPTY;
  for (const byte of Buffer.from(canonicalForm, 'utf8')) {
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp & MASK);
  return out;
}
