export { type RawAnswer, rawRequest, SlowClient } from './http.ts';
export { countRecords, createTopic, deleteTopic, javaPartition, type ReadRecord, readTopic, TEST_BROKERS, uniqueName } from './kafka.ts';
export { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './postgres.ts';
export { PrivateBroker, ProgramProcess, testPort } from './processes.ts';
export { expectedProfile } from './profiles.ts';
export { REFERENCE, referenceTags } from './reference.ts';
export {
  aggregateStream,
  aggregatesQueryString,
  allQueryShapes,
  expectedAggregates,
  type OracleQuery,
  random,
  STREAM_BRANDS,
  STREAM_CATEGORIES,
  STREAM_ORIGINS,
  type StreamOptions,
} from './stream.ts';
export { postTag, sampleTag } from './tags.ts';
export { metricValue, waitFor } from './wait.ts';
