import assert from 'node:assert/strict';
import { createEventCodec, type UserTagInput } from '@usertags/contracts';
import { readTopic, TEST_BROKERS } from './kafka.ts';
import { expectedProfile } from './profiles.ts';
import { aggregatesQueryString, allQueryShapes, expectedAggregates } from './stream.ts';

const codec = createEventCodec();

/** Every tag the topic holds, decoded, in offset order per partition; records that do not decode (poison) are left out. */
export async function tagsInLog(topic: string, brokers: readonly string[] = TEST_BROKERS): Promise<UserTagInput[]> {
  const tags: UserTagInput[] = [];
  for (const record of await readTopic(topic, brokers, 60_000)) {
    try {
      tags.push(codec.decode(record.value));
    } catch {
      // a poison record: not a tag
    }
  }
  return tags;
}

export interface ReadModelCheck {
  /** The query API. */
  readonly queryUrl: string;
  /** What the read models must hold: the tags in the log. */
  readonly tags: readonly UserTagInput[];
  /** Which cookies' profiles to compare. */
  readonly cookies: readonly string[];
}

/**
 * Compares both read models, through the query API, with the oracles over
 * `tags`: every shape of `/aggregates` over whole minutes covering the tags,
 * and the profiles of `cookies` over the same span (which needs tags with
 * distinct times, as `faultTag` makes them, so no ties are left to order).
 * Throws an assertion error at the first difference.
 */
async function compareReadModels(check: ReadModelCheck): Promise<{ queries: number; profiles: number }> {
  const times = check.tags.map((t) => Date.parse(t.time));
  const fromMs = Math.floor(Math.min(...times) / 60_000) * 60_000;
  const toMs = Math.floor(Math.max(...times) / 60_000) * 60_000 + 60_000;
  const queries = allQueryShapes(fromMs, toMs);
  for (const q of queries) {
    const res = await fetch(`${check.queryUrl}/aggregates?${aggregatesQueryString(q)}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), expectedAggregates(check.tags, q), `aggregates ${JSON.stringify(q)}`);
  }
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 23);
  for (const cookie of check.cookies) {
    const res = await fetch(`${check.queryUrl}/user_profiles/${encodeURIComponent(cookie)}?time_range=${iso(fromMs)}_${iso(toMs)}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), expectedProfile(check.tags, cookie, fromMs, toMs, 200), `profile of ${cookie}`);
  }
  return { queries: queries.length, profiles: check.cookies.length };
}

/**
 * Waits until both read models equal the oracles over `tags` (see
 * `compareReadModels`), and fails with the last difference after
 * `timeoutMs`. Call it once the stream has stopped: from then on the read
 * models can only converge on the oracle by holding every tag exactly once —
 * a lost tag or one counted twice never goes away.
 */
export async function waitForReadModels(check: ReadModelCheck, timeoutMs = 120_000): Promise<{ queries: number; profiles: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await compareReadModels(check);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Asserts that every tag in `acknowledged` is in `stored` (tags identified by their time), and returns how many stored tags were not acknowledged. */
export function assertAcknowledgedStored(
  acknowledged: readonly UserTagInput[],
  stored: readonly UserTagInput[],
): { unacknowledgedStored: number } {
  const times = new Set(stored.map((t) => new Date(t.time).toISOString()));
  const missing = acknowledged.filter((t) => !times.has(new Date(t.time).toISOString()));
  assert.equal(missing.length, 0, `acknowledged but not in the log: ${missing.slice(0, 5).map((t) => t.time)}`);
  const acked = new Set(acknowledged.map((t) => new Date(t.time).toISOString()));
  return { unacknowledgedStored: stored.filter((t) => !acked.has(new Date(t.time).toISOString())).length };
}
