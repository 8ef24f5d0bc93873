import type { ProfileAnswer, UserTagInput } from '@usertags/contracts';

/**
 * What a profile answer must be, computed the plainest way from every tag
 * sent, in the order the server accepted them: per action keep the newest 200
 * by event time (a later-accepted tag is the newer within one millisecond),
 * then take those in the range, newest first, at most `limit`.
 */
export function expectedProfile(sent: readonly UserTagInput[], cookie: string, fromMs: number, toMs: number, limit: number): ProfileAnswer {
  const pick = (action: 'VIEW' | 'BUY') =>
    sent
      .map((tag, order) => ({ tag, order, ms: Date.parse(tag.time) }))
      .filter((x) => x.tag.cookie === cookie && x.tag.action === action)
      .sort((a, b) => b.ms - a.ms || b.order - a.order)
      .slice(0, 200)
      .filter((x) => x.ms >= fromMs && x.ms < toMs)
      .slice(0, limit)
      .map((x) => ({ ...x.tag, time: new Date(x.ms).toISOString() }));
  return { cookie, views: pick('VIEW'), buys: pick('BUY') } as ProfileAnswer;
}
