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

/** The one place that picks the event log's adapter: Kafka, or the embedded log file when EVENT_LOG_PATH is set. */
export function createEventSource(config: ProjectorConfig, groupId: string, logger: Logger): EventSource {
  if (config.EVENT_LOG_PATH !== undefined) {
    return createEmbeddedEventSource(
      {
        path: config.EVENT_LOG_PATH,
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
      brokers: config.KAFKA_BROKERS,
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
  if (config.EVENT_LOG_PATH !== undefined) {
    return createEmbeddedDeadLetterSink({ path: config.EVENT_LOG_PATH, topic: config.KAFKA_DEAD_LETTER_TOPIC });
  }
  return createKafkaDeadLetterSink(
    {
      brokers: config.KAFKA_BROKERS,
      clientId: `${config.KAFKA_CLIENT_ID}-dead-letter`,
      topic: config.KAFKA_DEAD_LETTER_TOPIC,
      partitions: 1,
    },
    logger,
  );
}
