import type { ProfileQuery } from '@usertags/contracts';

/** What the profile answer needs from the read model (the store module that owns the layout implements it). */
export interface ProfileReader {
  /** The JSON texts of the cookie's views and buys in the range, each newest first and at most `limit`. */
  read(
    cookie: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<{ readonly views: readonly string[]; readonly buys: readonly string[] }>;
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
  const { views, buys } = await reader.read(query.cookie, query.range.fromMs, query.range.toMs, query.limit);
  return Buffer.from(`{"cookie":${JSON.stringify(query.cookie)},"views":[${views.join(',')}],"buys":[${buys.join(',')}]}`);
}
