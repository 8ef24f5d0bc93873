import { type EventCodec, JsonBytes, type ProfileAnswer, type ProfileQuery, type TagJsonWriter, type UserTag } from '@usertags/contracts';

/** What the profile answer needs from the read model (the store module that owns the layout implements it). */
export interface ProfileReader {
  read(cookie: string, action: 'VIEW' | 'BUY', fromMs: number, toMs: number, limit: number): Promise<readonly Uint8Array[]>;
}

async function readBoth(query: ProfileQuery, reader: ProfileReader): Promise<[readonly Uint8Array[], readonly Uint8Array[]]> {
  const { cookie, range, limit } = query;
  return Promise.all([
    reader.read(cookie, 'VIEW', range.fromMs, range.toMs, limit),
    reader.read(cookie, 'BUY', range.fromMs, range.toMs, limit),
  ]);
}

/**
 * Answers a profile query: the cookie's views and buys with time in the
 * range, newest first, at most `limit` each; an unknown cookie gets two empty
 * lists. Each tag is decoded from the bytes the log holds, so it reads back as
 * the JSON value that was sent. The answer as objects: what `answerProfileJson`
 * writes is `JSON.stringify` of this.
 */
export async function answerProfile(query: ProfileQuery, reader: ProfileReader, codec: EventCodec): Promise<ProfileAnswer> {
  const [views, buys] = await readBoth(query, reader);
  const decode = (payloads: readonly Uint8Array[]): UserTag[] => payloads.map((payload) => codec.decode(payload));
  return { cookie: query.cookie, views: decode(views), buys: decode(buys) };
}

const OPEN = Buffer.from('{"cookie":');
const VIEWS = Buffer.from(',"views":[');
const BUYS = Buffer.from('],"buys":[');
const CLOSE = Buffer.from(']}');
const COMMA = Buffer.from(',');

/**
 * The same answer as its JSON text, `JSON.stringify(await answerProfile(…))`
 * byte for byte, written straight from the stored payloads into one buffer
 * (`createTagJsonWriter`): no tag objects, no serializer walking them.
 */
export async function answerProfileJson(query: ProfileQuery, reader: ProfileReader, write: TagJsonWriter): Promise<Buffer> {
  const [views, buys] = await readBoth(query, reader);
  // A tag's JSON is its payload plus about 150 bytes of member names and punctuation; one buffer usually holds it all.
  let size = 64 + query.cookie.length * 3;
  for (const p of views) size += p.length + 160;
  for (const p of buys) size += p.length + 160;
  const out = new JsonBytes(size);
  out.raw(OPEN);
  out.string(query.cookie);
  out.raw(VIEWS);
  for (let i = 0; i < views.length; i++) {
    if (i > 0) out.raw(COMMA);
    write(views[i] as Uint8Array, out);
  }
  out.raw(BUYS);
  for (let i = 0; i < buys.length; i++) {
    if (i > 0) out.raw(COMMA);
    write(buys[i] as Uint8Array, out);
  }
  out.raw(CLOSE);
  return out.bytes();
}
