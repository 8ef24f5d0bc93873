// Manual spans, through the OpenTelemetry API only: where no instrumentation
// sees the work (batches of events, the embedded stores, Aerospike). With
// tracing off the API is a no-op and these cost next to nothing.
import { context, type Link, type Span, type SpanOptions, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { errorMessage } from '@usertags/contracts';
import { tracingActive } from './telemetry.ts';

/** The tracer of the platform's own spans. */
function platformTracer() {
  return trace.getTracer('usertags');
}

/**
 * Runs `work` in a new active span (a child of the active one unless
 * `options.root`), recording a thrown error on it, and ends it when `work`
 * settles.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  return platformTracer().startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Like `inSpan`, but only inside a trace: a store call made outside any span
 * (at start-up, from a timer) would otherwise start a trace of its own.
 */
export function inChildSpan<T>(name: string, options: SpanOptions, work: () => Promise<T>): Promise<T> {
  return trace.getSpan(context.active()) === undefined ? work() : inSpan(name, options, work);
}

/**
 * Names the request's server span (the HTTP instrumentation's, when tracing
 * is on) after the route that served it, as the express instrumentation does
 * for the routes it sees: `http.route` and a span name of method and route.
 * For the hot routes, which skip express (`withHotRoutes`).
 */
export function nameServerRoute(method: string, route: string): void {
  const span = trace.getSpan(context.active());
  if (span === undefined || !span.isRecording()) return;
  span.setAttribute('http.route', route);
  span.updateName(`${method} ${route}`);
}

/** Most links one batch span carries; the rest are counted in `usertags.links.dropped`. */
export const MAX_BATCH_LINKS = 64;

/** Gathers the trace contexts of the events a batch applies, as links for the batch's span. */
export interface LinkCollector {
  /** Notes one event's context from its record headers (`traceparent`). */
  add(headers: Readonly<Record<string, string>>): void;
  /** The links noted since the last `take`, and how many sampled contexts did not fit. */
  take(): { links: Link[]; dropped: number };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const NO_LINKS: LinkCollector = { add() {}, take: () => ({ links: [], dropped: 0 }) };

/**
 * Keeps the first `max` sampled contexts: an unsampled event's spans were
 * never recorded, so a link to it would lead nowhere. A no-op when tracing
 * is off.
 */
export function createLinkCollector(max = MAX_BATCH_LINKS): LinkCollector {
  if (!tracingActive()) return NO_LINKS;
  let links: Link[] = [];
  let dropped = 0;
  return {
    add(headers) {
      const value = headers.traceparent;
      // The sampled flag is the last hex digit's low bit: check it before parsing anything.
      if (value === undefined || (Number.parseInt(value.slice(-1), 16) & TraceFlags.SAMPLED) === 0) return;
      if (links.length >= max) {
        dropped++;
        return;
      }
      const match = TRACEPARENT.exec(value);
      if (match === null) return;
      links.push({ context: { traceId: match[1] as string, spanId: match[2] as string, traceFlags: TraceFlags.SAMPLED, isRemote: true } });
    },
    take() {
      const taken = { links, dropped };
      links = [];
      dropped = 0;
      return taken;
    },
  };
}
