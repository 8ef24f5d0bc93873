import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Action, EventCodec, UserTag } from '@usertags/contracts';
import type { ProfileEntry, ProfileStore } from '../src/profiles/profile-store.ts';

const T0 = Date.UTC(2022, 2, 22, 12, 0);

/** Entries whose JSON text is a readable label (a JSON string), so tests can compare order at a glance. */
function entry(cookie: string, action: Action, timeMs: number, seq: number): ProfileEntry {
  const digest = Buffer.alloc(12);
  digest.writeUInt32BE(0, 0);
  digest.writeBigUInt64BE(BigInt(seq), 4);
  const label = `${cookie}/${action}/${timeMs - T0}/${seq}`;
  return { cookie, action, timeMs, digest, json: JSON.stringify(label), payload: Buffer.from(label) };
}

const labels = (texts: string[]) => texts.map((t) => JSON.parse(t) as string);

/** The texts of one action from a read of both (stores read both at once, as answers need them). */
export async function readAction(
  store: ProfileStore,
  cookie: string,
  action: Action,
  fromMs: number,
  toMs: number,
  limit: number,
): Promise<string[]> {
  const both = await store.read(cookie, fromMs, toMs, limit);
  return action === 'VIEW' ? both.views : both.buys;
}

/** Cookie `old`'s tag at second `i` of 2022-03-01: for the tests of stores written before the JSON text. */
export function oldTag(i: number, action: Action): UserTag {
  return {
    time: new Date(Date.UTC(2022, 2, 1) + i * 1000).toISOString(),
    cookie: 'old',
    country: 'PL',
    device: 'PC',
    action,
    origin: `o-${i} "é"`,
    product_info: { product_id: i % 2 === 0 ? i : `p${i}`, brand_id: 'b', category_id: 'c', price: i },
  };
}

/** The digest of offset `offset` of partition 0. */
export function digestOf(offset: number): Buffer {
  const digest = Buffer.alloc(12);
  digest.writeBigUInt64BE(BigInt(offset), 4);
  return digest;
}

/** The entry the projector makes of `tag` at `offset`: its Avro payload, and the JSON text of that decoded. */
export function entryOfTag(tag: UserTag, offset: number, codec: EventCodec): ProfileEntry {
  const payload = codec.encode(tag);
  const json = JSON.stringify(codec.decode(payload));
  return { cookie: tag.cookie, action: tag.action, timeMs: Date.parse(tag.time), digest: digestOf(offset), json, payload };
}

/** The behaviour every ProfileStore adapter must have; each adapter's test calls this with a way to open a fresh store. */
export function describeProfileStoreContract(
  name: string,
  open: () => Promise<{ store: ProfileStore; reopen(): Promise<ProfileStore>; cleanup(): Promise<void> }>,
): void {
  describe(`ProfileStore contract: ${name}`, () => {
    let store: ProfileStore;
    let reopen: () => Promise<ProfileStore>;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, reopen, cleanup } = await open());
      await store.migrate();
    });
    after(() => cleanup());

    it('reads tags in [from, to), newest first, at most limit, views and buys apart', async () => {
      await store.apply([
        entry('a', 'VIEW', T0 + 1, 1),
        entry('a', 'VIEW', T0 + 3, 2),
        entry('a', 'VIEW', T0 + 2, 3),
        entry('a', 'BUY', T0 + 2, 4),
        entry('b', 'VIEW', T0 + 2, 5),
      ]);
      assert.deepEqual(labels(await readAction(store, 'a', 'VIEW', T0, T0 + 10, 200)), ['a/VIEW/3/2', 'a/VIEW/2/3', 'a/VIEW/1/1']);
      assert.deepEqual(
        labels(await readAction(store, 'a', 'VIEW', T0 + 1, T0 + 3, 200)),
        ['a/VIEW/2/3', 'a/VIEW/1/1'],
        'the end is excluded',
      );
      assert.deepEqual(labels(await readAction(store, 'a', 'VIEW', T0, T0 + 10, 1)), ['a/VIEW/3/2']);
      assert.deepEqual(labels(await readAction(store, 'a', 'BUY', T0, T0 + 10, 200)), ['a/BUY/2/4']);
      assert.deepEqual(await store.read('nobody', T0, T0 + 10, 200), { views: [], buys: [] });
      const both = await store.read('a', T0 + 2, T0 + 10, 200);
      assert.deepEqual(
        { views: labels(both.views), buys: labels(both.buys) },
        { views: ['a/VIEW/3/2', 'a/VIEW/2/3'], buys: ['a/BUY/2/4'] },
        'one read has both actions, each within the range',
      );
    });

    it('keeps both of two events in one millisecond, and applying an event again changes nothing', async () => {
      const twins = [entry('c', 'BUY', T0 + 5, 10), entry('c', 'BUY', T0 + 5, 11)];
      await store.apply(twins);
      await store.apply(twins);
      assert.deepEqual(labels(await readAction(store, 'c', 'BUY', T0, T0 + 10, 200)), ['c/BUY/5/11', 'c/BUY/5/10']);
    });

    it('keeps the newest 200 per cookie and action by event time, whatever the arrival order', async () => {
      // 250 views arriving newest-first in three batches, then a late old one and a late new one.
      const all = Array.from({ length: 250 }, (_, i) => entry('d', 'VIEW', T0 + 1000 - i, 100 + i));
      await store.apply(all.slice(0, 100));
      await store.apply(all.slice(100, 180));
      await store.apply(all.slice(180));
      await store.apply([entry('d', 'VIEW', T0 + 1, 999)]); // older than the 200 newest: trimmed at once
      await store.apply([entry('d', 'VIEW', T0 + 2000, 1000)]); // newer than all: lands first
      const kept = labels(await readAction(store, 'd', 'VIEW', T0, T0 + 5000, 200));
      assert.equal(kept.length, 200);
      assert.equal(kept[0], 'd/VIEW/2000/1000');
      assert.equal(kept[199], 'd/VIEW/802/298');
      assert.ok(!kept.includes('d/VIEW/1/999'));
      const everything = labels(await readAction(store, 'd', 'VIEW', T0 - 10_000, T0 + 10_000, 1000));
      assert.equal(everything.length, 200, 'nothing beyond the 200 newest is kept');
      assert.deepEqual(await readAction(store, 'd', 'BUY', T0, T0 + 5000, 200), []);
    });

    it('gives back every JSON text character for character, whatever it holds and however long, newest first', async () => {
      // Escapes, characters of every UTF-8 length, what JSON.stringify escapes (a NUL, a lone surrogate), texts up to past 64 KiB.
      const values = [
        '',
        'plain',
        'quote " backslash \\ newline \n tab \t',
        '\u0000 and \u001f',
        'é ß ü \u2028 \u2029',
        '🍪 cookie 🍪',
        'lone \ud800 surrogate',
        'x'.repeat(65_535),
        '€'.repeat(30_000),
        { nested: ['a', 1, null, { deep: true }], price: -2147483648 },
      ];
      const entries = values.map((value, i) => ({ ...entry('texts', 'BUY', T0 + i, 500 + i), json: JSON.stringify(value) }));
      await store.apply(entries);
      const back = await readAction(store, 'texts', 'BUY', T0, T0 + 100, 200);
      assert.deepEqual(back, entries.map((e) => e.json).reverse());
      assert.deepEqual(
        back.map((t) => JSON.parse(t)),
        [...values].reverse(),
      );
      assert.deepEqual(await readAction(store, 'texts', 'BUY', T0 + 7, T0 + 9, 2), [entries[8]?.json, entries[7]?.json]);
    });

    it('keeps any cookie apart, unicode and URL-special characters included', async () => {
      const cookies = ['ü/ß?&=#%', 'a b', 'a+b', '🍪', 'a\u0000b'];
      await store.apply(cookies.map((c, i) => entry(c, 'BUY', T0 + i, 2000 + i)));
      for (const [i, c] of cookies.entries())
        assert.deepEqual(labels(await readAction(store, c, 'BUY', T0, T0 + 10, 200)), [`${c}/BUY/${i}/${2000 + i}`]);
    });

    it('records where each partition of a topic ends with the batch that got there, an empty batch too', async () => {
      assert.deepEqual(await store.positions('tags'), new Map());
      await store.apply([entry('p', 'VIEW', T0, 3000)], { topic: 'tags', partition: 0, nextOffset: 41n });
      await store.apply([entry('p', 'VIEW', T0 + 1, 3001)], { topic: 'tags', partition: 2, nextOffset: 7n });
      await store.apply([], { topic: 'tags', partition: 0, nextOffset: 45n });
      await store.apply([entry('q', 'BUY', T0, 3002)], { topic: 'other', partition: 0, nextOffset: 1n });
      assert.deepEqual(
        await store.positions('tags'),
        new Map([
          [0, 45n],
          [2, 7n],
        ]),
      );
      assert.deepEqual(labels(await readAction(store, 'p', 'VIEW', T0, T0 + 10, 200)), ['p/VIEW/1/3001', 'p/VIEW/0/3000']);
    });

    it('still has everything after it is closed and opened again, positions included', async () => {
      await store.close();
      store = await reopen();
      assert.deepEqual(labels(await readAction(store, 'a', 'VIEW', T0, T0 + 10, 200)), ['a/VIEW/3/2', 'a/VIEW/2/3', 'a/VIEW/1/1']);
      assert.equal((await store.positions('tags')).get(0), 45n);
      await store.checkReady();
    });
  });
}
