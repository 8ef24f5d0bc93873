import { type EventCodec, parseUserTag, type Result } from '@usertags/contracts';
import type { RecordAppender } from './batching-appender.ts';
import { type AppendTracer, localTraceContext } from './trace-context.ts';

export interface IngestRequest {
  /** The parsed JSON body. */
  readonly body: unknown;
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

/**
 * The command: validate a tag, encode it and append it keyed by cookie.
 * Resolves `{ ok: false }` for invalid input (nothing is appended); rejects
 * with a `ContractError` when the log does not take it; resolves `{ ok: true }`
 * only once the event is durable.
 */
export type Ingest = (request: IngestRequest) => Promise<Result<void>>;

export function createIngest(appender: RecordAppender, codec: EventCodec, tracer: AppendTracer = localTraceContext): Ingest {
  return async (request) => {
    const parsed = parseUserTag(request.body);
    if (!parsed.ok) return parsed;
    const tag = parsed.value;
    const trace = tracer.start(request.traceparent, request.tracestate);
    try {
      await appender.append({ key: tag.cookie, value: codec.encode(tag), headers: trace.headers });
    } catch (error) {
      trace.end(error);
      throw error;
    }
    trace.end();
    return { ok: true, value: undefined };
  };
}
