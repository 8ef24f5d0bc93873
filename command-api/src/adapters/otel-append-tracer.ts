import { type Attributes, context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { AppendTracer } from '../core/trace-context.ts';

/**
 * Tracing on: each append is a producer span (`send <topic>`), a child of the
 * request's server span, from the moment the tag is queued until the log has
 * acknowledged it — group commit's wait included. The record's `traceparent`
 * is that span's context, written by OpenTelemetry's propagator, so the
 * projector's batch span links to it. An unsampled request still gets a
 * valid `traceparent` (flag 00), which keeps a downstream decision consistent.
 */
export function createOtelAppendTracer(topic: string, system: 'kafka' | 'embedded'): AppendTracer {
  const tracer = trace.getTracer('@usertags/command-api');
  const name = `send ${topic}`;
  const attributes: Attributes = {
    'messaging.system': system,
    'messaging.destination.name': topic,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
  };
  return {
    start() {
      // The request's own traceparent was already taken by the HTTP instrumentation: it is the active context's parent.
      const parent = context.active();
      const span = tracer.startSpan(name, { kind: SpanKind.PRODUCER, attributes }, parent);
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(parent, span), headers);
      return {
        headers,
        end(error) {
          if (error !== undefined) {
            span.recordException(error instanceof Error ? error : String(error));
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          }
          span.end();
        },
      };
    },
  };
}
