import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Attributes, context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { errorMessage } from '@usertags/contracts';
import { type AppendTracer, localTraceContext } from '../core/trace-context.ts';
import type { RequestTracer } from '../http/ingest-route.ts';

const TRACER = '@usertags/command-api';

/**
 * Tracing on: the ingest route's server span, `POST /user_tags`, continuing
 * the caller's trace when the request has a `traceparent`. Made here instead
 * of by the HTTP and express instrumentations, which cost about 100 µs of
 * CPU per request even when it is not sampled (they read every request's
 * attributes and bind its emitters before sampling) — most of ingest's own
 * ~120 µs; this costs a few µs. Measured in docs/decisions.md.
 */
export function createOtelRequestTracer(route: string): RequestTracer {
  const tracer = trace.getTracer(TRACER);
  const name = `POST ${route}`;
  const attributes: Attributes = { 'http.request.method': 'POST', 'http.route': route, 'url.path': route, 'url.scheme': 'http' };
  return async (req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    if (!span.isRecording()) {
      // Not sampled: nothing below will be recorded, so skip the context and the producer span (most of
      // the per-request cost, bench:tracing). The record still carries this trace's id with flag 00:
      // the request's traceparent becomes this span's, and the append tracer, finding no active span,
      // writes its header the cheap way tracing-off does.
      const { traceId, spanId } = span.spanContext();
      req.headers.traceparent = `00-${traceId}-${spanId}-00`;
      await handle();
      return;
    }
    try {
      await context.with(trace.setSpan(parent, span), handle);
    } finally {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}

/**
 * Tracing on: each append is a producer span (`send <topic>`), a child of the
 * request's server span, from the moment the tag is queued until the log has
 * acknowledged it — group commit's wait included. The record's `traceparent`
 * is that span's context, written by OpenTelemetry's propagator, so the
 * projector's batch span links to it. An unsampled request still gets a
 * valid `traceparent` (flag 00), which keeps a downstream decision consistent.
 */
export function createOtelAppendTracer(topic: string, system: 'kafka' | 'embedded'): AppendTracer {
  const tracer = trace.getTracer(TRACER);
  const name = `send ${topic}`;
  const attributes: Attributes = {
    'messaging.system': system,
    'messaging.destination.name': topic,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
  };
  return {
    start(traceparent, tracestate) {
      // The request's own traceparent is already the server span's parent (createOtelRequestTracer).
      const parent = context.active();
      // No active span: the request was not sampled (see createOtelRequestTracer).
      if (trace.getSpan(parent) === undefined) return localTraceContext.start(traceparent, tracestate);
      const span = tracer.startSpan(name, { kind: SpanKind.PRODUCER, attributes }, parent);
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(parent, span), headers);
      return {
        headers,
        end(error) {
          if (error !== undefined) {
            span.recordException(error instanceof Error ? error : String(error));
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
          }
          span.end();
        },
      };
    },
  };
}
