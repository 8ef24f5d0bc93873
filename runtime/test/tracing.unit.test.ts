import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createLinkCollector, inChildSpan, inSpan, MAX_BATCH_LINKS, useTelemetryForTests } from '../src/index.ts';
import { createSampler } from '../src/telemetry-sdk.ts';

const traceparent = (n: number, sampled: boolean) =>
  `00-${n.toString(16).padStart(32, '0')}-${n.toString(16).padStart(16, '0')}-${sampled ? '01' : '00'}`;

describe('batch spans and their links', () => {
  const exporter = new InMemorySpanExporter();
  // Ratio 0: only a link to a sampled event can make a new trace recorded.
  const provider = new TracerProvider({ sampler: createSampler(0), spanProcessors: [new SimpleSpanProcessor({ exporter })] });

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    useTelemetryForTests({ metricsText: async () => '', shutdown: () => provider.shutdown() });
  });
  after(async () => {
    useTelemetryForTests(undefined);
    trace.disable();
    context.disable();
    await provider.shutdown();
  });

  it('links a batch to its sampled events only, at most MAX_BATCH_LINKS of them, and records it for their sake', async () => {
    exporter.reset();
    const links = createLinkCollector();
    links.add({ traceparent: traceparent(1, false) });
    links.add({ traceparent: 'not a traceparent-01' });
    links.add({});
    for (let n = 2; n < MAX_BATCH_LINKS + 12; n++) links.add({ traceparent: traceparent(n, true) });
    const linked = links.take();
    assert.equal(linked.links.length, MAX_BATCH_LINKS);
    assert.equal(linked.dropped, 10);
    assert.equal(linked.links[0]?.context.traceId, traceparent(2, true).slice(3, 35));
    assert.deepEqual(links.take(), { links: [], dropped: 0 }, 'take() empties the collector');

    await inSpan('process user-tags', { kind: SpanKind.CONSUMER, root: true, links: linked.links }, () =>
      inChildSpan('aggregates.apply', {}, async () => {}),
    );
    const [child, batch] = exporter.getFinishedSpans();
    assert.equal(batch?.name, 'process user-tags');
    assert.equal(batch?.links.length, MAX_BATCH_LINKS);
    assert.equal(child?.name, 'aggregates.apply');
    assert.equal(child?.parentSpanContext?.spanId, batch?.spanContext().spanId, 'the store span is the batch span’s child');
  });

  it('records no batch whose events were all unsampled, and no store span outside a trace', async () => {
    exporter.reset();
    const links = createLinkCollector();
    links.add({ traceparent: traceparent(5, false) });
    await inSpan('process user-tags', { root: true, links: links.take().links }, async () => {});
    await inChildSpan('profiles.read', {}, async () => {});
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.name),
      [],
    );
  });

  it('marks a span whose work failed as an error and passes the error on', async () => {
    exporter.reset();
    const linked = createLinkCollector();
    linked.add({ traceparent: traceparent(9, true) });
    await assert.rejects(
      inSpan('process user-tags', { root: true, links: linked.take().links }, async () => {
        throw new Error('store down');
      }),
      /store down/,
    );
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.status.code, 2);
    assert.equal(span?.status.message, 'store down');
  });
});
