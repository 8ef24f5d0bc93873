export { AggregatesAnswer, aggregatesColumns, ProfileAnswer } from './answers.ts';
export { type AggregateFields, aggregateFieldsOf, createEventCodec, type EventCodec } from './avro-codec.ts';
export { CURRENT_SCHEMA, USER_TAG_V1, WRITER_SCHEMAS } from './avro-schemas.ts';
export { ContractError, ERROR_CODES, type ErrorCode, errorMessage, type FieldIssue, type Problem, toProblem } from './errors.ts';
export type { AppendedRecord, EventAppender, LogRecord } from './event-log.ts';
export { AppendInDoubt, PartlyAppended } from './event-log.ts';
export {
  type DeadLetterSink,
  deadLetterHeaders,
  type EventSource,
  type LogDescription,
  type SourceBatch,
  type SourceRecord,
  type SourceStartOptions,
} from './event-source.ts';
export { formatBucket, formatEventTime, MS_PER_MINUTE, minuteOf, parseEventTime, parseUtcInstantBody } from './instant.ts';
export { firstDifference } from './json-difference.ts';
export { commandApiOpenApi, ProblemBody, queryApiOpenApi } from './openapi.ts';
export {
  ACTION_PATTERN,
  AGGREGATE_PATTERN,
  EVENT_TIME_PATTERN,
  LIMIT_PATTERN,
  MINUTE_RANGE_PATTERN,
  TIME_RANGE_PATTERN,
} from './patterns.ts';
export {
  AGGREGATES,
  type Aggregate,
  type AggregatesQuery,
  FILTERS,
  type Filter,
  PROFILE_LIMIT_MAX,
  type ProfileQuery,
  parseAggregatesQuery,
  parseProfileQuery,
  QueryParams,
} from './queries.ts';
export { type DecodedQuery, decodeQuery } from './query-string.ts';
export { MAX_TEXT_CODE_POINTS, textProblem } from './text.ts';
export { parseMinuteRange, parseTimeRange, type TimeRange } from './time-range.ts';
export { ACTIONS, type Action, DEVICES, type Device, UserTag, type UserTagInput } from './user-tag.ts';
export { parseUserTag, type Result, toFieldIssues, validate } from './validation.ts';
