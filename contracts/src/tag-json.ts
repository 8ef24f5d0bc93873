import { isUtf8 } from 'node:buffer';
import { createEventCodec, type EventCodec } from './avro-codec.ts';
import { USER_TAG_V1 } from './avro-schemas.ts';
import { formatEventTime } from './instant.ts';

/**
 * A growing byte buffer for JSON text that is assembled piece by piece. The
 * caller writes valid JSON into it; nothing here checks or re-encodes it.
 */
export class JsonBytes {
  buf: Buffer;
  length = 0;

  constructor(capacity = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const needed = this.length + n;
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** Appends bytes that are JSON text already (a constant, a fragment). */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Appends JSON text given as a string, in UTF-8. */
  text(json: string): void {
    this.reserve(json.length * 3);
    this.length += this.buf.write(json, this.length);
  }

  /** Appends `value` as a JSON string literal, exactly as `JSON.stringify(value)` writes it. */
  string(value: string): void {
    this.text(JSON.stringify(value));
  }

  /** The text so far (a view of the buffer, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const MAGIC_0 = 0xc3;
const MAGIC_1 = 0x01;
const HEADER_LENGTH = 10;
const TEXT = (s: string) => Buffer.from(s, 'latin1');
const OPEN_TIME = TEXT('{"time":"');
const COOKIE = TEXT(',"cookie":');
const COUNTRY = TEXT(',"country":');
// The two enums and the member after them, one constant per (device, action): the index is device * 2 + action.
const DEVICE_ACTION_ORIGIN = ['PC', 'MOBILE', 'TV'].flatMap((device) =>
  ['VIEW', 'BUY'].map((action) => TEXT(`,"device":"${device}","action":"${action}","origin":`)),
);
const PRODUCT_ID = TEXT(',"product_info":{"product_id":');
const BRAND_ID = TEXT(',"brand_id":');
const CATEGORY_ID = TEXT(',"category_id":');
const PRICE = TEXT(',"price":');
const CLOSE = TEXT('}}');
/**
 * What a tag's JSON may hold beyond its payload's bytes: the member names and punctuation (under 170 bytes), the time
 * (at most 28), two numbers (at most 17 each). Its strings take no more than their stored bytes and two quotes, unless
 * they need escapes; those are written by `JsonBytes.string`, which makes its own room.
 */
const TAG_OVERHEAD = 320;

const MS_PER_DAY = 86_400_000;
/** The longest varint read here: 7 bytes hold 49 bits, so every value (below 2^48 in size) is exact in a double. */
const MAX_VARINT_BYTES = 7;

/**
 * Writes one stored event as the JSON text of its tag in an answer,
 * byte for byte what `JSON.stringify(codec.decode(payload))` gives, without
 * building the tag: the v1 body is read field by field and its strings are
 * copied as they are stored (UTF-8), escaped only where JSON needs it.
 */
export type TagJsonWriter = (payload: Uint8Array, out: JsonBytes) => void;

/**
 * A writer for payloads `codec` decodes. Payloads that the direct path does
 * not cover — written with another schema than v1, a codec that reads into
 * another schema, a long beyond 2^48 (a product id that big), anything
 * malformed — take the general path, `JSON.stringify(codec.decode(payload))`,
 * so they give the same text, or the same error, as before.
 */
export function createTagJsonWriter(codec: EventCodec = createEventCodec()): TagJsonWriter {
  const v1 = Buffer.from(createEventCodec(USER_TAG_V1, [USER_TAG_V1]).writerFingerprint, 'hex');
  // The direct path writes the shape v1 decodes into; a codec reading into a later schema goes the general way.
  const direct = codec.writerFingerprint === v1.toString('hex');
  const none = new Uint8Array(0);

  const general = (payload: Uint8Array, out: JsonBytes) => out.text(JSON.stringify(codec.decode(payload)));

  // The payload being read and where; the output and where. Held here rather than passed around: the
  // direct path is a handful of small functions the compiler inlines.
  let src: Uint8Array = none;
  let end = 0;
  let pos = 0;
  let target = new JsonBytes(64);
  let buf: Buffer = target.buf;
  let at = 0;

  function put(bytes: Uint8Array): void {
    buf.set(bytes, at);
    at += bytes.length;
  }

  // Loops work on locals and store the position once: a closure's variables live in memory.
  function putAscii(text: string): void {
    const b = buf;
    let a = at;
    for (let i = 0; i < text.length; i++) b[a++] = text.charCodeAt(i);
    at = a;
  }

  /** A zigzag varint as avsc reads it, or NaN when it runs past the end or is longer than MAX_VARINT_BYTES. */
  function varint(): number {
    const first = pos < end ? (src[pos] as number) : 0x80;
    if (first < 0x80) {
      // One byte: most lengths, the enums, the union branch.
      pos++;
      return first & 1 ? -((first + 1) / 2) : first / 2;
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= end) return Number.NaN;
      const b = src[pos++] as number;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value % 2 === 1 ? -(value + 1) / 2 : value / 2;
      scale *= 128;
    }
    return Number.NaN;
  }

  /**
   * An Avro string as a JSON string literal. Copied as stored when it needs no escape and is valid
   * UTF-8 (which reads back as the same code points); otherwise decoded as avsc does and escaped by
   * JSON.stringify. False when it runs past the end.
   */
  function string(): boolean {
    const n = varint();
    if (!(n >= 0) || n > end - pos) return false;
    const start = pos;
    const stop = pos + n;
    const from = src;
    const to = buf;
    const mark = at;
    let a = at;
    to[a++] = 0x22;
    let plain = true;
    let ascii = true;
    for (let i = start; i < stop; i++) {
      const b = from[i] as number;
      if (b < 0x20 || b === 0x22 || b === 0x5c) {
        plain = false;
        break;
      }
      if (b >= 0x80) ascii = false;
      to[a++] = b;
    }
    pos = stop;
    if (plain && (ascii || isUtf8(from.subarray(start, stop)))) {
      to[a++] = 0x22;
      at = a;
      return true;
    }
    target.length = mark;
    target.string(Buffer.from(src.buffer, src.byteOffset + start, n).toString('utf8'));
    // Room again for the rest of the tag, after what the escapes took.
    target.reserve(end - pos + TAG_OVERHEAD);
    buf = target.buf;
    at = target.length;
    return true;
  }

  function time(ms: number): void {
    const day = Math.floor(ms / MS_PER_DAY);
    if (day !== cachedDay) {
      const text = formatEventTime(day * MS_PER_DAY);
      // Years 0–9999 only: toISOString writes others with a sign and six digits.
      if (text.length !== 24) {
        putAscii(`${formatEventTime(ms)}"`);
        return;
      }
      cachedDay = day;
      cachedDayText = TEXT(text.slice(0, 11));
    }
    put(cachedDayText);
    let rest = ms - day * MS_PER_DAY;
    const millis = rest % 1000;
    rest = (rest - millis) / 1000;
    const seconds = rest % 60;
    rest = (rest - seconds) / 60;
    const minutes = rest % 60;
    const hours = (rest - minutes) / 60;
    const b = buf;
    const a = at;
    b[a] = 0x30 + ((hours / 10) | 0);
    b[a + 1] = 0x30 + (hours % 10);
    b[a + 2] = 0x3a;
    b[a + 3] = 0x30 + ((minutes / 10) | 0);
    b[a + 4] = 0x30 + (minutes % 10);
    b[a + 5] = 0x3a;
    b[a + 6] = 0x30 + ((seconds / 10) | 0);
    b[a + 7] = 0x30 + (seconds % 10);
    b[a + 8] = 0x2e;
    b[a + 9] = 0x30 + ((millis / 100) | 0);
    b[a + 10] = 0x30 + (((millis / 10) | 0) % 10);
    b[a + 11] = 0x30 + (millis % 10);
    b[a + 12] = 0x5a;
    b[a + 13] = 0x22;
    at = a + 14;
  }

  /** The v1 body at `pos` as JSON at `at`; false where avsc would fail or the direct path does not go. */
  function body(): boolean {
    const ms = varint();
    if (Number.isNaN(ms)) return false;
    put(OPEN_TIME);
    time(ms);
    put(COOKIE);
    if (!string()) return false;
    put(COUNTRY);
    if (!string()) return false;
    const device = varint();
    const action = varint();
    if (!(device >= 0 && device <= 2 && action >= 0 && action <= 1)) return false;
    put(DEVICE_ACTION_ORIGIN[device * 2 + action] as Buffer);
    if (!string()) return false;
    put(PRODUCT_ID);
    const branch = varint();
    if (branch === 0) {
      if (!string()) return false;
    } else if (branch === 1) {
      const id = varint();
      if (Number.isNaN(id)) return false;
      putAscii(String(id));
    } else return false;
    put(BRAND_ID);
    if (!string()) return false;
    put(CATEGORY_ID);
    if (!string()) return false;
    put(PRICE);
    const price = varint();
    if (Number.isNaN(price)) return false;
    putAscii(String(price));
    put(CLOSE);
    // avsc refuses trailing bytes.
    return pos === end;
  }

  return (payload, out) => {
    if (
      direct &&
      payload.length > HEADER_LENGTH &&
      payload[0] === MAGIC_0 &&
      payload[1] === MAGIC_1 &&
      payload[2] === v1[0] &&
      payload[3] === v1[1] &&
      payload[4] === v1[2] &&
      payload[5] === v1[3] &&
      payload[6] === v1[4] &&
      payload[7] === v1[5] &&
      payload[8] === v1[6] &&
      payload[9] === v1[7]
    ) {
      const mark = out.length;
      out.reserve(payload.length + TAG_OVERHEAD);
      target = out;
      buf = out.buf;
      at = mark;
      src = payload;
      end = payload.length;
      pos = HEADER_LENGTH;
      const done = body();
      src = none;
      out.length = done ? at : mark;
      if (done) return;
    }
    general(payload, out);
  };
}

// The day of the last time written and its `YYYY-MM-DDT` text: a profile's tags are mostly from a few days.
let cachedDay = Number.NaN;
let cachedDayText: Buffer = Buffer.alloc(0);
