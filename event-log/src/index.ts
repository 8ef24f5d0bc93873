// The event log's adapters: appending (the command side's EventAppender) and reading (the projector's
// EventSource and DeadLetterSink), each for Kafka and for the embedded log file. The ports are in contracts/.

export { createEmbeddedEventLog, type EmbeddedEventLogConfig } from './embedded/embedded-event-log.ts';
// Embedded: one SQLite file on this machine, written on a worker thread, read by polling.
export { createEmbeddedDeadLetterSink, createEmbeddedEventSource, type EmbeddedSourceConfig } from './embedded/embedded-event-source.ts';
export { type EmbeddedLog, type EmbeddedLogOptions, openEmbeddedLog, type StoredLogRecord } from './embedded/embedded-log.ts';
// Kafka: every client comes from createKafkaClient.
export { createKafkaClient, type KafkaClientOptions } from './kafka/kafka-client.ts';
export { createKafkaEventLog, type KafkaEventLog, type KafkaEventLogConfig } from './kafka/kafka-event-log.ts';
export { createKafkaDeadLetterSink, createKafkaEventSource, type KafkaSourceConfig } from './kafka/kafka-event-source.ts';
// Kafka through @platformatic/kafka instead of kafkajs: the appender only (the command API's KAFKA_CLIENT).
export { createPlatformaticEventLog } from './platformatic/platformatic-event-log.ts';
