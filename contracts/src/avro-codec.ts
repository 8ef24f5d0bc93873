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
 * The fields of an event that the aggregates read, decoded without the rest:
 * the time stays epoch milliseconds and the cookie, country, device and
 * product id are skipped, not built.
 */
export interface AggregateFields {
  readonly timeMs: number;
  readonly action: UserTag['action'];
  readonly origin: string;
  readonly brandId: string;
  readonly categoryId: string;
  readonly price: number;
}

/** The aggregate fields of a decoded tag (what `decodeAggregateFields` gives for its payload). */
export function aggregateFieldsOf(tag: UserTag): AggregateFields {
  const { brand_id: brandId, category_id: categoryId, price } = tag.product_info;
  return { timeMs: Date.parse(tag.time), action: tag.action, origin: tag.origin, brandId, categoryId, price };
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
  /**
   * Like `decode`, but reads only the fields the aggregates need (several times faster). The other
   * fields' bytes are skipped, not checked: fine for a projection that never reads them again, not for
   * one that stores the payload (profiles decode it whole, so a bad one is parked, not served).
   */
  decodeAggregateFields(payload: Uint8Array): AggregateFields;
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
  let scratch = Buffer.allocUnsafe(4096);
  header.copy(scratch);

  // Fingerprint (hex) → functions that decode a body written with that schema: all of it, or only the
  // fields the aggregates need (avsc resolves the writer's record into a reader record that lacks the
  // rest, skipping those fields' bytes).
  const aggregateType = typeOf(projectedSchema(readerSchema, ['time', 'action', 'origin'], ['brand_id', 'category_id', 'price']));
  type Decode = (body: Buffer) => unknown;
  const decoders = new Map<string, { full: Decode; aggregate: Decode }>();
  for (const schema of [readerSchema, ...writerSchemas]) {
    const writerType = schema === readerSchema ? readerType : typeOf(schema);
    const key = fingerprintOf(writerType).toString('hex');
    if (decoders.has(key)) continue;
    const full = writerType === readerType ? undefined : readerType.createResolver(writerType);
    const aggregate = aggregateType.createResolver(writerType);
    decoders.set(key, {
      full: (body) => readerType.fromBuffer(body, full),
      aggregate: (body) => aggregateType.fromBuffer(body, aggregate),
    });
  }

  function bodyDecoder(payload: Uint8Array) {
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (buf.length < HEADER_LENGTH || buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) {
      throw new ContractError('UNDECODABLE_EVENT', 'payload is not Avro single-object encoded');
    }
    const fingerprint = buf.subarray(2, HEADER_LENGTH).toString('hex');
    const decoder = decoders.get(fingerprint);
    if (decoder === undefined) {
      throw new ContractError('UNDECODABLE_EVENT', `unknown writer schema fingerprint ${fingerprint}`);
    }
    return { decoder, body: buf.subarray(HEADER_LENGTH) };
  }

  function decodeBody<T>(decode: (body: Buffer) => unknown, body: Buffer): T {
    try {
      return decode(body) as T;
    } catch (cause) {
      throw new ContractError('UNDECODABLE_EVENT', 'payload body does not match its schema', { cause });
    }
  }

  return {
    writerFingerprint: readerFingerprint.toString('hex'),
    encode(tag) {
      // A validated tag's time is canonical ISO-8601, which Date.parse reads exactly (and fast).
      const time = Date.parse(tag.time);
      if (Number.isNaN(time)) throw new ContractError('INVALID_EVENT', `time ${tag.time} is not canonical`);
      const stored: StoredTag = { ...tag, time };
      // Written behind the header in a buffer kept for it, then copied once into one of the exact size
      // (toBuffer and a concat allocate twice, zero-filling one, and copy twice).
      let end = readerType.encode(stored, scratch, HEADER_LENGTH);
      if (end < 0) {
        scratch = Buffer.allocUnsafe(2 * (scratch.length - end));
        header.copy(scratch);
        end = readerType.encode(stored, scratch, HEADER_LENGTH);
      }
      return Buffer.from(scratch.subarray(0, end));
    },
    decode(payload) {
      const { decoder, body } = bodyDecoder(payload);
      return toUserTag(decodeBody<StoredTag>(decoder.full, body));
    },
    decodeAggregateFields(payload) {
      const { decoder, body } = bodyDecoder(payload);
      const stored = decodeBody<StoredAggregateFields>(decoder.aggregate, body);
      const { product_info: p } = stored;
      return {
        timeMs: stored.time,
        action: stored.action,
        origin: stored.origin,
        brandId: p.brand_id,
        categoryId: p.category_id,
        price: p.price,
      };
    },
  };
}

interface StoredAggregateFields {
  time: number;
  action: UserTag['action'];
  origin: string;
  product_info: { brand_id: string; category_id: string; price: number };
}

/** A reader schema of some fields: `schema`'s own records and types with every other field left out. */
function projectedSchema(schema: avro.Schema, fields: readonly string[], productFields: readonly string[]): avro.Schema {
  const record = schema as { fields: Array<{ name: string; type: unknown }> };
  const field = (name: string) => {
    const found = record.fields.find((f) => f.name === name);
    if (found === undefined) throw new Error(`the event schema has no field ${name}`);
    return found;
  };
  const product = field('product_info').type as { fields: Array<{ name: string }> };
  const productInfo = { name: 'product_info', type: { ...product, fields: product.fields.filter((f) => productFields.includes(f.name)) } };
  return { ...record, fields: [...fields.map(field), productInfo] } as avro.Schema;
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
