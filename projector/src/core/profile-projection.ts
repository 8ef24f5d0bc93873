import type { UserTag } from '@usertags/contracts';
import type { ProfileEntry } from '@usertags/read-models/ports';

/**
 * The profile projection: an event's bytes and the tag decoded from them
 * become one entry of its cookie's profile, with the tag's JSON text as
 * answers show it, made once here rather than at every read. The entry's
 * identity is the event's place in the log (partition and offset): applying
 * the same record again changes nothing, while two events with the same
 * content and millisecond are both kept.
 */
export function toProfileEntry(tag: UserTag, payload: Buffer, partition: number, offset: bigint): ProfileEntry {
  const digest = Buffer.alloc(12);
  digest.writeUInt32BE(partition, 0);
  digest.writeBigUInt64BE(offset, 4);
  return { cookie: tag.cookie, action: tag.action, timeMs: Date.parse(tag.time), digest, json: JSON.stringify(tag), payload };
}
