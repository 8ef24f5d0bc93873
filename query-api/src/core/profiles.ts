import type { EventCodec, ProfileAnswer, ProfileQuery, UserTag } from '@usertags/contracts';

/** What the profile answer needs from the read model (the store module that owns the layout implements it). */
export interface ProfileReader {
  read(cookie: string, action: 'VIEW' | 'BUY', fromMs: number, toMs: number, limit: number): Promise<Buffer[]>;
}

/**
 * Answers a profile query: the cookie's views and buys with time in the
 * range, newest first, at most `limit` each; an unknown cookie gets two empty
 * lists. Each tag is decoded from the bytes the log holds, so it reads back as
 * the JSON value that was sent.
 */
export async function answerProfile(query: ProfileQuery, reader: ProfileReader, codec: EventCodec): Promise<ProfileAnswer> {
  const read = async (action: 'VIEW' | 'BUY'): Promise<UserTag[]> =>
    (await reader.read(query.cookie, action, query.range.fromMs, query.range.toMs, query.limit)).map((payload) => codec.decode(payload));
  const [views, buys] = await Promise.all([read('VIEW'), read('BUY')]);
  return { cookie: query.cookie, views, buys };
}
