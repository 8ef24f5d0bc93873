import type { ProfileQuery } from '@usertags/contracts';

/** What the profile answer needs from the read model (the store module that owns the layout implements it). */
export interface ProfileReader {
  /** The JSON texts of the cookie's tags of one action in the range, newest first, at most `limit`. */
  read(cookie: string, action: 'VIEW' | 'BUY', fromMs: number, toMs: number, limit: number): Promise<readonly string[]>;
}

async function readBoth(query: ProfileQuery, reader: ProfileReader): Promise<[readonly string[], readonly string[]]> {
  const { cookie, range, limit } = query;
  return Promise.all([
    reader.read(cookie, 'VIEW', range.fromMs, range.toMs, limit),
    reader.read(cookie, 'BUY', range.fromMs, range.toMs, limit),
  ]);
}

/**
 * Answers a profile query as JSON text: the cookie's views and buys with time
 * in the range, newest first, at most `limit` each; an unknown cookie gets two
 * empty lists. The store keeps each tag's JSON text as the projector made it
 * from the event in the log, so it reads back as the JSON value that was sent,
 * and the answer is those texts joined: no tag objects, no serializer walking
 * them.
 */
export async function answerProfileJson(query: ProfileQuery, reader: ProfileReader): Promise<Buffer> {
  const [views, buys] = await readBoth(query, reader);
  return Buffer.from(`{"cookie":${JSON.stringify(query.cookie)},"views":[${views.join(',')}],"buys":[${buys.join(',')}]}`);
}
