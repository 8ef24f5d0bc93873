import { type Link, SpanKind } from '@opentelemetry/api';
import { inSpan } from '@usertags/runtime';

/** What a batch span says about the batch it covers. */
export interface BatchInfo {
  readonly projection: string;
  readonly topic: string;
  /** Absent when the batch spans several partitions (an aggregates write). */
  readonly partition?: number;
  readonly events: number;
}

/**
 * Runs `work` as one batch's span, `process <topic>`: a new trace (a batch
 * has many parents) with links to the sampled contexts its events were
 * ingested under, bounded in number (`dropped` counts the rest). The store's
 * spans inside `work` are its children. The sampler records it whenever a
 * linked event was recorded, so a traced ingest always leads to its batch.
 */
export function inBatchSpan<T>(info: BatchInfo, linked: { links: Link[]; dropped: number }, work: () => Promise<T>): Promise<T> {
  return inSpan(
    `process ${info.topic}`,
    {
      kind: SpanKind.CONSUMER,
      root: true,
      links: linked.links,
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.destination.name': info.topic,
        ...(info.partition === undefined ? {} : { 'messaging.destination.partition.id': String(info.partition) }),
        'messaging.batch.message_count': info.events,
        'usertags.projection': info.projection,
        'usertags.links.dropped': linked.dropped,
      },
    },
    work,
  );
}
