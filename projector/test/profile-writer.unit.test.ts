import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SourceBatch } from '@usertags/contracts';
import type { ProfileLive } from '@usertags/read-models/ports';
import { ProfileWriter } from '../src/core/profile-writer.ts';

const TOPIC = 'user-tags';

/** A profile store that says which version is live and what positions it holds, and records adoptions. */
class FakeStore {
  live: ProfileLive = { version: 1, resumeFrom: new Map(), adopted: true };
  stored = new Map<number, bigint>();
  adopted: number[] = [];

  async current(): Promise<ProfileLive> {
    return this.live;
  }
  async positions(topic: string): Promise<Map<number, bigint>> {
    assert.equal(topic, TOPIC);
    return new Map(this.stored);
  }
  async adopt(version: number): Promise<void> {
    this.adopted.push(version);
    this.live = { ...this.live, adopted: true };
  }
}

function setUp() {
  const store = new FakeStore();
  const seeks: Array<[number, bigint]> = [];
  const noted: Array<[number, bigint]> = [];
  let forgotten = 0;
  const applied: SourceBatch[] = [];
  const writer = new ProfileWriter({
    topic: TOPIC,
    store,
    events: { seek: (_topic, partition, offset) => void seeks.push([partition, offset]) },
    positions: { note: (_topic, partition, next) => void noted.push([partition, next]), forget: () => void forgotten++ },
    apply: async (batch) => void applied.push(batch),
  });
  return { store, writer, seeks, noted, applied, forgotten: () => forgotten };
}

function batch(partition: number, offsets: number[]): SourceBatch {
  return {
    topic: TOPIC,
    partition,
    records: offsets.map((o) => ({ offset: BigInt(o), key: 'c', value: Buffer.from('x'), headers: {} })),
    heartbeat: async () => {},
  };
}

describe('the profile writer', () => {
  it('starts each partition from the positions the live version has stored, 0 where it has none', async () => {
    const { store, writer } = setUp();
    store.stored = new Map([[0, 42n]]);
    await writer.begin();
    assert.equal(writer.startFrom(0), 42n);
    assert.equal(writer.startFrom(1), 0n);
    assert.deepEqual([...writer.applied()], [[0, 42n]]);
  });

  it('starts from where the replay stopped while the live version is not adopted yet', async () => {
    const { store, writer } = setUp();
    store.stored = new Map([[0, 42n]]);
    store.live = { version: 2, resumeFrom: new Map([[0, 7n]]), adopted: false };
    assert.deepEqual([...(await writer.positionsOf(store.live))], [[0, 7n]]);
    await writer.begin();
    assert.equal(writer.startFrom(0), 7n);
  });

  it('applies a batch, adopts a version it has not adopted, and notes the position after the batch', async () => {
    const { store, writer, applied, noted } = setUp();
    store.live = { version: 2, resumeFrom: new Map(), adopted: false };
    await writer.begin();
    await writer.handle(batch(1, [5, 6]));
    assert.equal(applied.length, 1);
    assert.deepEqual(store.adopted, [2]);
    assert.deepEqual(noted, [[1, 7n]]);
    await writer.handle(batch(1, []));
    assert.deepEqual(store.adopted, [2], 'adopts once');
    assert.deepEqual(noted, [[1, 7n]], 'an empty batch notes nothing');
  });

  it('switches to a version a replay made live: forgets the old positions, reads again from the resume point, refuses the batch', async () => {
    const { store, writer, applied, seeks, forgotten } = setUp();
    await writer.begin();
    writer.noteApplied(0, 100n);
    store.live = {
      version: 2,
      resumeFrom: new Map([
        [0, 60n],
        [1, 30n],
      ]),
      adopted: false,
    };
    await assert.rejects(writer.handle(batch(0, [100])), /profiles version 2 is live now/);
    assert.equal(applied.length, 0);
    assert.equal(forgotten(), 1);
    assert.deepEqual(seeks, [
      [0, 60n],
      [1, 30n],
    ]);
    assert.equal(writer.startFrom(0), 60n);
    // The re-delivered batch is then applied to the new version.
    await writer.handle(batch(0, [60]));
    assert.equal(applied.length, 1);
    assert.deepEqual(store.adopted, [2]);
  });

  it('sends the reader back when it finds a new version between batches, and not otherwise', async () => {
    const { store, writer, seeks } = setUp();
    await writer.lookForSwitch();
    assert.deepEqual(seeks, [], 'not before it began');
    await writer.begin();
    await writer.lookForSwitch();
    assert.deepEqual(seeks, []);
    store.live = { version: 3, resumeFrom: new Map([[2, 9n]]), adopted: false };
    await writer.lookForSwitch();
    assert.deepEqual(seeks, [[2, 9n]]);
  });
});
