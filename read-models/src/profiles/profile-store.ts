import { type Action, createEventCodec, type EventCodec } from '@usertags/contracts';

/** Profiles keep at least this many of the newest tags per cookie and action (spec §3.2). */
export const PROFILE_KEEP = 200;

/**
 * One tag as a profile holds it. `digest` identifies the event (its place in
 * the log), so applying the same event again changes nothing, while two events
 * in the same millisecond are both kept; among those, the greater digest is
 * the newer.
 */
export interface ProfileEntry {
  readonly cookie: string;
  readonly action: Action;
  readonly timeMs: number;
  readonly digest: Buffer;
  /**
   * The tag as profile answers show it: `JSON.stringify` of the event decoded
   * from the log. Stores keep this text, so an answer is the texts joined.
   */
  readonly json: string;
  /**
   * The event exactly as the log holds it (Avro single-object encoding). Only
   * an embedded store file made before the JSON text was kept stores it too,
   * for builds that still read it (sqlite-profile-store.ts).
   */
  readonly payload: Buffer;
}

/** Where a batch ends in the log: the next offset to apply on its partition. */
export interface StorePosition {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: bigint;
}

/** A cookie's tags of each action as a profile read returns them: JSON texts, newest first. */
export interface ProfileTexts {
  readonly views: string[];
  readonly buys: string[];
}

/** The profile read model: per cookie and action, the newest tags by event time. */
export interface ProfileStore {
  /** Creates the storage if needed. */
  migrate(): Promise<void>;
  /**
   * Applies entries durably and idempotently, then trims each touched
   * (cookie, action) to its newest `PROFILE_KEEP` by event time: reads never
   * see an older tag, a late entry older than those included (the embedded
   * store deletes such tags a few tags later, sqlite-profile-store.ts).
   * `position`, when given, is recorded with the entries — in the same
   * transaction where the store has them (SQLite), right after them otherwise
   * (Aerospike) — so the store's positions are never ahead of its data.
   */
  apply(entries: readonly ProfileEntry[], position?: StorePosition): Promise<void>;
  /** The recorded next offset of each partition of `topic` (empty for a store written before positions were kept). */
  positions(topic: string): Promise<Map<number, bigint>>;
  /**
   * The JSON texts of `cookie`'s tags with time in `[fromMs, toMs)`, views and
   * buys, each newest first and at most `limit`: both actions in one read, as
   * an answer needs them (one request to a store over the network).
   */
  read(cookie: string, fromMs: number, toMs: number, limit: number): Promise<ProfileTexts>;
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/** Made on the first old value read: only stores written before the JSON text have any. */
let legacyCodec: EventCodec | undefined;

/**
 * The JSON text of a tag a store wrote before it kept the text: its Avro
 * payload decoded, as the projector now makes the text when it applies a tag.
 */
export function jsonOfPayload(payload: Uint8Array): string {
  legacyCodec ??= createEventCodec();
  return JSON.stringify(legacyCodec.decode(payload));
}
