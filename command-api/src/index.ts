export { createKafkaEventLog, type KafkaEventLog, type KafkaEventLogConfig } from './adapters/kafka-event-log.ts';
export { type CommandApi, startCommandApi } from './command-api.ts';
export { CommandApiConfig, loadConfig } from './config.ts';
export { createBatchingAppender, type RecordAppender } from './core/batching-appender.ts';
