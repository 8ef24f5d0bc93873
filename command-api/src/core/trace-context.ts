import { randomBytes } from 'node:crypto';

// Random ids come from a pool refilled in large blocks: one randomBytes call per
// request was the single largest cost of the ingest path (measured: 11% of CPU).
const POOL_BYTES = 24 * 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The W3C trace context to store with an event. An incoming valid
 * `traceparent` keeps its trace id and gets a new span id for the append; any
 * other value is ignored and a new trace is started.
 */
export function traceHeaders(incoming: string | undefined, tracestate?: string): Record<string, string> {
  const ids = randomHex(24);
  const match = incoming === undefined ? null : TRACEPARENT.exec(incoming);
  const traceId = match?.[1] !== undefined && !/^0+$/.test(match[1]) ? match[1] : ids.slice(0, 32);
  const flags = match?.[3] ?? '01';
  const headers: Record<string, string> = { traceparent: `00-${traceId}-${ids.slice(32, 48)}-${flags}` };
  if (match !== null && tracestate !== undefined && tracestate.length > 0 && tracestate.length <= 512) headers.tracestate = tracestate;
  return headers;
}

/** One traced append: the headers its record carries, and what to call once the append has settled. */
export interface AppendTrace {
  readonly headers: Record<string, string>;
  /** Ends the append's span; `error` when the tag was not stored. */
  end(error?: unknown): void;
}

/**
 * How ingest traces an append (the port): with tracing on, an adapter starts
 * a producer span under the request's span and the headers carry that span's
 * context; with tracing off, `localTraceContext` only writes the headers.
 */
export interface AppendTracer {
  start(traceparent: string | undefined, tracestate: string | undefined): AppendTrace;
}

const noop = () => {};

/** Tracing off: a `traceparent` made here (`traceHeaders`), no span. */
export const localTraceContext: AppendTracer = {
  start: (traceparent, tracestate) => ({ headers: traceHeaders(traceparent, tracestate), end: noop }),
};
