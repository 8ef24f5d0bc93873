import type { DeadLetterSink, SourceBatch } from '@usertags/contracts';
import { ContractError, type EventCodec, errorMessage } from '@usertags/contracts';
import type { ProfileEntry, ProfileStore } from '@usertags/read-models/ports';
import { backoffMs, createLinkCollector, type Logger, sleep } from '@usertags/runtime';
import { inBatchSpan } from './batch-trace.ts';
import { toProfileEntry } from './profile-projection.ts';

export interface ProfileProjectorObserver {
  onApplied(events: number, seconds: number, partition: number, nextOffset: bigint): void;
  onDeadLetter(reason: string): void;
  onStoreRetry(error: unknown): void;
}

/**
 * At-least-once with idempotent writes: each batch is applied to the store
 * (durably) with its position, before the source may commit past it, and
 * re-applying an event changes nothing. The store's positions are where a
 * writer starts. Store errors are retried with backoff, heart-beating, so a
 * batch is never skipped; undecodable records are parked.
 *
 * Each batch is one `process <topic>` span, linked to the (sampled) contexts
 * its events were ingested under; the store's spans are its children.
 */
export function createProfileProjector(
  store: ProfileStore,
  codec: EventCodec,
  deadLetters: DeadLetterSink,
  observer: ProfileProjectorObserver,
  logger: Logger,
): { handle(batch: SourceBatch): Promise<void> } {
  const links = createLinkCollector();
  async function apply(batch: SourceBatch): Promise<void> {
    const entries: ProfileEntry[] = [];
    for (const record of batch.records) {
      try {
        if (record.value === null) throw new ContractError('UNDECODABLE_EVENT', 'record has no value');
        entries.push(toProfileEntry(codec.decode(record.value), record.value, batch.partition, record.offset));
      } catch (error) {
        const reason = errorMessage(error);
        await deadLetters.park(record, { topic: batch.topic, partition: batch.partition }, reason);
        observer.onDeadLetter(reason);
      }
    }
    const started = performance.now();
    const last = batch.records.at(-1);
    const position = last === undefined ? undefined : { topic: batch.topic, partition: batch.partition, nextOffset: last.offset + 1n };
    for (let attempt = 0; ; attempt++) {
      try {
        await store.apply(entries, position);
        break;
      } catch (error) {
        observer.onStoreRetry(error);
        logger.warn('profile store write failed; retrying', { attempt, error: errorMessage(error) });
        await sleep(backoffMs(attempt));
        await batch.heartbeat().catch(() => {});
      }
    }
    if (position !== undefined)
      observer.onApplied(entries.length, (performance.now() - started) / 1000, batch.partition, position.nextOffset);
  }
  return {
    handle(batch) {
      for (const record of batch.records) links.add(record.headers);
      const info = { projection: 'profiles', topic: batch.topic, partition: batch.partition, events: batch.records.length };
      return inBatchSpan(info, links.take(), () => apply(batch));
    },
  };
}
