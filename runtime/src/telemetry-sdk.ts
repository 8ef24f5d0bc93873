// The OpenTelemetry SDK as the programs run it: loaded by `startTelemetry`
// only when tracing is on. Traces go over OTLP/HTTP (JSON) through a batch
// processor; the span pipeline's own metrics (spans exported, dropped,
// queued; export requests) and those of the pg instrumentation (statement
// latency, pool connections) are read by a Prometheus exporter that
// starts no server: its text is appended to prom-client's on /metrics.
import { register } from 'node:module';
import { context, propagation, type Sampler, SamplingDecision, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';
import type { RunningTelemetry } from './telemetry.ts';

/** The libraries a program has instrumented automatically (the rest of its spans are made by hand). */
export type Instrumented = 'http' | 'express' | 'pg';

export interface SdkOptions {
  readonly service: string;
  readonly instrument: readonly Instrumented[];
  /** Full URL of the OTLP/HTTP traces endpoint (`…/v1/traces`). */
  readonly tracesUrl: string;
  readonly samplingRatio: number;
  /** Longest a finished span waits in the batch processor's queue. */
  readonly exportDelayMs: number;
}

/** Paths never traced: scrapes and probes would drown the traces that matter. */
const OPERATIONAL_PATHS = new Set(['/metrics', '/health', '/ready']);

/**
 * Parent-based trace-id ratio, where a new trace (a projector's batch) is
 * also sampled when any event it links to was sampled: a traced ingest always
 * leads on to the batch that applied it.
 */
export function createSampler(ratio: number): Sampler {
  const byRatio = new TraceIdRatioBasedSampler(ratio);
  const root: Sampler = {
    shouldSample(ctx, traceId, _name, _kind, _attributes, links) {
      for (const link of links)
        if ((link.context.traceFlags & TraceFlags.SAMPLED) !== 0) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      return byRatio.shouldSample(ctx, traceId);
    },
    toString: () => `LinkedOrTraceIdRatio{${ratio}}`,
  };
  return new ParentBasedSampler({ root });
}

/**
 * The ESM loader hook the instrumentations need to patch modules that ES
 * modules import (express here; pg and node:http are also reached through
 * `require`). In-thread synchronous hooks where Node has them, limited to the
 * modules instrumented; the off-thread loader otherwise.
 */
function hookEsmImports(modules: readonly Instrumented[]): void {
  if (modules.length === 0) return;
  const include = modules.flatMap((m) => (m === 'http' ? ['http', 'node:http'] : [m]));
  if (supportsSyncHooks()) registerSyncHooks({ include });
  else register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
}

function instrumentation(name: Instrumented, meterProvider: MeterProvider): Instrumentation {
  switch (name) {
    case 'http':
      return new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => OPERATIONAL_PATHS.has((req.url ?? '').split('?', 1)[0] as string),
        // The programs make no HTTP calls of their own; the OTLP exporter's would only trace themselves.
        disableOutgoingRequestInstrumentation: true,
      });
    case 'express':
      // Route handlers only: a span per middleware (query parser, body readers) costs more than it tells.
      return new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] });
    case 'pg': {
      // Queries outside any trace (start-up, the lag timer) would each start a trace of their own.
      const pg = new PgInstrumentation({ requireParentSpan: true });
      pg.setMeterProvider(meterProvider);
      return pg;
    }
  }
}

export function startSdk(options: SdkOptions): RunningTelemetry {
  hookEsmImports(options.instrument);
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.service });

  // Not the global meter provider: only the span pipeline and the pg instrumentation report here. The HTTP
  // instrumentation's request histogram would repeat prom-client's http_request_duration_seconds, and a
  // counter per span started (the SDK's otel.sdk.span.* metrics) costs on every request.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [prometheus] });

  const spanProcessor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter({ url: options.tracesUrl, selfObsMeterProvider: meterProvider }),
    scheduledDelayMillis: options.exportDelayMs,
    selfObsMeterProvider: meterProvider,
  });
  const tracerProvider = new TracerProvider({ resource, sampler: createSampler(options.samplingRatio), spanProcessors: [spanProcessor] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);

  registerInstrumentations({ tracerProvider, instrumentations: options.instrument.map((name) => instrumentation(name, meterProvider)) });

  // Target and scope info would add series nobody asked for; Prometheus labels the target itself.
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  return {
    async metricsText() {
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(resourceMetrics);
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
