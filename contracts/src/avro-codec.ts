import avro from 'avsc';
import { crc64Avro } from './avro-fingerprint.ts';
import { CURRENT_SCHEMA, WRITER_SCHEMAS } from './avro-schemas.ts';
import { ContractError } from './errors.ts';
import { formatEventTime } from './instant.ts';
import type { UserTag } from './user-tag.ts';

/**
 * avsc's built-in long loses precision past ±2^52 (zigzag doubling); product
 * ids sent as JSON numbers may use the whole safe-integer range, so longs go
 * through BigInt on the way in and out.
 */
const SafeLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => Number(buf.readBigInt64LE()),
  toBuffer: (n: number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: Number,
  toJSON: (n: number) => n,
  isValid: (n: unknown) => Number.isSafeInteger(n),
  compare: (a: number, b: number) => (a === b ? 0 : a < b ? -1 : 1),
});

function typeOf(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, { registry: { long: SafeLong } });
}

/** Avro single-object encoding: the marker, then the 8-byte writer fingerprint, then the body. */
const MAGIC_0 = 0xc3;
const MAGIC_1 = 0x01;
const HEADER_LENGTH = 10;

interface StoredTag {
  time: number;
  cookie: string;
  country: string;
  device: string;
  action: string;
  origin: string;
  product_info: { product_id: string | number; brand_id: string; category_id: string; price: number };
}

/**
 * Encodes and decodes events with Avro single-object encoding, so each payload
 * names the schema that wrote it and any reader resolves it without a registry.
 */
export interface EventCodec {
  /** Encodes a validated tag (canonical `time`). */
  encode(tag: UserTag): Buffer;
  /**
   * Decodes a payload written with any known schema into the current shape.
   * Throws a `ContractError` with code `UNDECODABLE_EVENT` for anything else.
   */
  decode(payload: Uint8Array): UserTag;
  /** The fingerprint of the schema `encode` writes with (hex), for logs and headers. */
  readonly writerFingerprint: string;
}

/**
 * Builds a codec that reads with `readerSchema` and knows `writerSchemas`.
 * The defaults are the project's own; tests pass evolved schemas.
 */
export function createEventCodec(
  readerSchema: avro.Schema = CURRENT_SCHEMA,
  writerSchemas: readonly avro.Schema[] = WRITER_SCHEMAS,
): EventCodec {
  const readerType = typeOf(readerSchema);
  const readerFingerprint = fingerprintOf(readerType);
  const header = Buffer.concat([Buffer.from([MAGIC_0, MAGIC_1]), readerFingerprint]);

  // Fingerprint (hex) → a function that decodes a body written with that schema.
  const decoders = new Map<string, (body: Buffer) => unknown>();
  decoders.set(readerFingerprint.toString('hex'), (body) => readerType.fromBuffer(body));
  for (const schema of writerSchemas) {
    const writerType = typeOf(schema);
    const key = fingerprintOf(writerType).toString('hex');
    if (decoders.has(key)) continue;
    const resolver = readerType.createResolver(writerType);
    decoders.set(key, (body) => readerType.fromBuffer(body, resolver));
  }

  return {
    writerFingerprint: readerFingerprint.toString('hex'),
    encode(tag) {
      // A validated tag's time is canonical ISO-8601, which Date.parse reads exactly (and fast).
      const time = Date.parse(tag.time);
      if (Number.isNaN(time)) throw new ContractError('INVALID_EVENT', `time ${tag.time} is not canonical`);
      const stored: StoredTag = { ...tag, time };
      return Buffer.concat([header, readerType.toBuffer(stored)]);
    },
    decode(payload) {
      const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      if (buf.length < HEADER_LENGTH || buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) {
        throw new ContractError('UNDECODABLE_EVENT', 'payload is not Avro single-object encoded');
      }
      const fingerprint = buf.subarray(2, HEADER_LENGTH).toString('hex');
      const decodeBody = decoders.get(fingerprint);
      if (decodeBody === undefined) {
        throw new ContractError('UNDECODABLE_EVENT', `unknown writer schema fingerprint ${fingerprint}`);
      }
      let stored: StoredTag;
      try {
        stored = decodeBody(buf.subarray(HEADER_LENGTH)) as StoredTag;
      } catch (cause) {
        throw new ContractError('UNDECODABLE_EVENT', 'payload body does not match its schema', { cause });
      }
      return toUserTag(stored);
    },
  };
}

function fingerprintOf(type: avro.Type): Buffer {
  return crc64Avro(JSON.stringify(type.schema()));
}

function toUserTag(stored: StoredTag): UserTag {
  const { product_info: p } = stored;
  // Rebuilt field by field so the JSON key order is always the contract's order,
  // and fields added by newer schemas do not leak into answers.
  return {
    time: formatEventTime(stored.time),
    cookie: stored.cookie,
    country: stored.country,
    device: stored.device as UserTag['device'],
    action: stored.action as UserTag['action'],
    origin: stored.origin,
    product_info: { product_id: p.product_id, brand_id: p.brand_id, category_id: p.category_id, price: p.price },
  };
}
