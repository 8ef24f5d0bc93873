import type { DeadLetterSink, EventSource } from '@usertags/contracts';
import {
  createEmbeddedDeadLetterSink,
  createEmbeddedEventSource,
  createKafkaDeadLetterSink,
  createKafkaEventSource,
} from '@usertags/event-log';
import type { Logger } from '@usertags/runtime';
import type { ProjectorConfig } from '../config.ts';

/** What a stored tag takes in a Kafka fetch, roughly (the Avro body, key, headers and record overhead). */
const RECORD_BYTES = 160;

/** The one place that picks the event log's reader: Kafka, or the embedded log file, as `config.eventLog` (EVENT_LOG) says. */
export function createEventSource(config: ProjectorConfig, groupId: string, logger: Logger): EventSource {
  const { eventLog } = config;
  if (eventLog.kind === 'file') {
    return createEmbeddedEventSource(
      {
        path: eventLog.path,
        groupId,
        topic: config.KAFKA_TOPIC,
        pollMs: config.FETCH_MAX_WAIT_MS,
        maxRecords: config.FETCH_MAX_RECORDS,
        minRecords: Math.max(1, Math.floor(config.FETCH_MIN_BYTES / RECORD_BYTES)),
      },
      logger,
    );
  }
  return createKafkaEventSource(
    {
      brokers: eventLog.brokers,
      clientId: config.KAFKA_CLIENT_ID,
      groupId,
      topic: config.KAFKA_TOPIC,
      maxWaitMs: config.FETCH_MAX_WAIT_MS,
      minBytes: config.FETCH_MIN_BYTES,
      maxBytesPerPartition: config.FETCH_MAX_RECORDS * RECORD_BYTES,
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    },
    logger,
  );
}

export function createDeadLetterSink(config: ProjectorConfig, logger: Logger): DeadLetterSink {
  const { eventLog } = config;
  if (eventLog.kind === 'file') return createEmbeddedDeadLetterSink({ path: eventLog.path, topic: config.KAFKA_DEAD_LETTER_TOPIC });
  return createKafkaDeadLetterSink(
    {
      brokers: eventLog.brokers,
      clientId: `${config.KAFKA_CLIENT_ID}-dead-letter`,
      topic: config.KAFKA_DEAD_LETTER_TOPIC,
      partitions: 1,
    },
    logger,
  );
}
