export { type DriverOptions, faultTag, type SentTag, TagDriver } from './driver.ts';
export {
  assertWellFormedAnswer,
  type FuzzRequest,
  type Hints,
  instantHint,
  type OpenApiDocument,
  requestsFrom,
  sendRequest,
  valueFor,
} from './fuzz.ts';
export { cutShortThenTooSlow, type RawAnswer, rawRequest, SlowClient } from './http.ts';
export {
  countRecords,
  createTopic,
  deleteTopic,
  javaPartition,
  type ReadRecord,
  readTopic,
  TEST_BROKERS,
  uniqueName,
  withAdmin,
} from './kafka.ts';
export { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.ts';
export { copyDatabase, createTestDatabase, dropDatabase, TEST_DATABASE_URL, type TestDatabase } from './postgres.ts';
export { freePort, PrivateBroker, PrivatePostgres, ProgramProcess, startReadSide, testPort } from './processes.ts';
export { expectedProfile } from './profiles.ts';
export {
  assertAcknowledgedStored,
  type ReadModelCheck,
  tagsInLog,
  waitForReadModels,
} from './read-models.ts';
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
export { ADMIN_PATHS, assertMethodsNotAllowed, assertNoAdminSurface } from './surface.ts';
export { postTag, sampleTag } from './tags.ts';
export { metricValue, waitFor } from './wait.ts';
