import type { EventSource, SourceBatch } from '@usertags/contracts';
import type { FollowingProfileStore, ProfileLive } from '@usertags/read-models/ports';
import type { PositionCommits } from './position-commits.ts';

/** What the profile writer works with: the live profile store, the log it reads, and how a batch is applied. */
export interface ProfileWriterParts {
  readonly topic: string;
  readonly store: Pick<FollowingProfileStore, 'current' | 'positions' | 'adopt'>;
  readonly events: Pick<EventSource, 'seek'>;
  /** The group's committed positions: a hint for lag and tools, noted after each batch. */
  readonly positions: Pick<PositionCommits, 'note' | 'forget'>;
  /** Applies one batch to the version the store writes now (the profile projector's `handle`). */
  apply(batch: SourceBatch): Promise<void>;
}

/**
 * The live profile projection's writer, which follows the version of the
 * profiles a replay makes live. When a replay switches to another version,
 * the writer goes back to where the replay stopped reading (re-applying is
 * harmless) and writes the new version from there.
 *
 * At-least-once: the store records each batch's position with it, and a
 * writer starts from the store's positions (from 0 where it has none:
 * re-applying is harmless, skipping is not).
 */
export class ProfileWriter {
  private readonly parts: ProfileWriterParts;
  /** The version this writer is on; `undefined` until `begin`. */
  private following: ProfileLive | undefined;
  /** Per partition, the next offset to apply: where a partition starts on this start and on every later assignment. */
  private readonly committed = new Map<number, bigint>();

  constructor(parts: ProfileWriterParts) {
    this.parts = parts;
  }

  /** Where the writer of `live` goes on from: the store's own positions, or where the replay stopped until it has adopted them. */
  async positionsOf(live: ProfileLive): Promise<ReadonlyMap<number, bigint>> {
    return live.adopted ? this.parts.store.positions(this.parts.topic) : live.resumeFrom;
  }

  /** Takes the live version and its positions as the place to start from. */
  async begin(): Promise<void> {
    this.following = await this.parts.store.current();
    this.resetPositions(await this.positionsOf(this.following));
  }

  /** Where a newly assigned partition starts. */
  startFrom(partition: number): bigint {
    return this.committed.get(partition) ?? 0n;
  }

  /** Notes what the projector applied, so `applied()` and the next assignment start there. */
  noteApplied(partition: number, nextOffset: bigint): void {
    this.committed.set(partition, nextOffset);
  }

  applied(): ReadonlyMap<number, bigint> {
    return this.committed;
  }

  /**
   * Applies a batch to the version this writer is on. If a replay has made
   * another version live, it switches to it instead: the reader is sent back
   * to where the replay stopped, and it throws so the batch in hand is not
   * taken as handled.
   */
  async handle(batch: SourceBatch): Promise<void> {
    const live = await this.parts.store.current();
    if (this.switched(live)) {
      this.following = live;
      // Positions noted for the old version must not move the group past where the new one resumes.
      this.parts.positions.forget();
      this.resetPositions(live.resumeFrom);
      this.readFromResume(live);
      throw new Error(`profiles version ${live.version} is live now; reading again from where its replay stopped`);
    }
    await this.parts.apply(batch);
    if (!live.adopted) await this.parts.store.adopt(live.version);
    const last = batch.records.at(-1);
    if (last !== undefined) this.parts.positions.note(batch.topic, batch.partition, last.offset + 1n);
  }

  /**
   * The switch happens in `handle`, so a replay that goes live while no tags
   * arrive would leave what came after its stop only in the old version until
   * the next tag. Looking now and then and sending the reader back to where
   * the replay stopped re-delivers those records, and `handle` switches at once.
   */
  async lookForSwitch(): Promise<void> {
    const live = await this.parts.store.current();
    if (this.switched(live)) this.readFromResume(live);
  }

  private switched(live: ProfileLive): boolean {
    return this.following !== undefined && live.version !== this.following.version;
  }

  private readFromResume(live: ProfileLive): void {
    for (const [partition, offset] of live.resumeFrom) this.parts.events.seek(this.parts.topic, partition, offset);
  }

  private resetPositions(positions: ReadonlyMap<number, bigint>): void {
    this.committed.clear();
    for (const [partition, offset] of positions) this.committed.set(partition, offset);
  }
}
