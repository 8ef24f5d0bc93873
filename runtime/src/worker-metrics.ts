// /metrics when a program runs as several worker processes (node:cluster, WORKERS > 1). A scrape lands
// on one worker; it asks the primary, which collects every listening worker's registry as JSON and sums
// them with prom-client's AggregatorRegistry (each metric by its `aggregator`: counters and histograms
// add up, a gauge as its definition says). The primary does the fan-out itself instead of calling
// `clusterMetrics()`: that asks every connected worker, and a replacement still loading its modules has
// no listener yet, so each scrape during its start would wait 5 s and fail.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** One worker's registry, as `getMetricsAsJSON` gives it and `AggregatorRegistry.aggregate` takes it. */
type RegistryJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** A worker asks the primary for the exposition of all workers. */
const ASK_ALL = 'usertags:metrics-all';
/** The primary asks a worker for its own registry as JSON. */
const ASK_ONE = 'usertags:metrics-one';
/** Longest wait for an answer over IPC; a scrape should fail well before Prometheus's own timeout. */
const ANSWER_TIMEOUT_MS = 3000;

interface Message {
  readonly type: string;
  readonly id: number;
  readonly text?: string;
  readonly metrics?: RegistryJson;
  readonly error?: string;
}

const isMessage = (m: unknown, type: string): m is Message =>
  typeof m === 'object' && m !== null && (m as Message).type === type && typeof (m as Message).id === 'number';

/**
 * In a worker of several: answers the primary's requests for this worker's
 * `registry`, and returns how /metrics reads every worker's metrics summed.
 * In a process of its own (not a cluster worker): undefined, and nothing is set up.
 */
export function shareWorkerMetrics(registry: Registry): (() => Promise<string>) | undefined {
  if (!cluster.isWorker) return undefined;
  const waiting = new Map<number, (answer: Message) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (isMessage(message, ASK_ONE)) {
      registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: ASK_ONE, id: message.id, metrics }),
        (error: unknown) => process.send?.({ type: ASK_ONE, id: message.id, error: String(error) }),
      );
    } else if (isMessage(message, ASK_ALL)) {
      waiting.get(message.id)?.(message);
    }
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => settle({ type: ASK_ALL, id, error: 'the primary did not answer in time' }), ANSWER_TIMEOUT_MS);
      function settle(answer: Message): void {
        clearTimeout(timer);
        waiting.delete(id);
        if (answer.text !== undefined) resolve(answer.text);
        else reject(new Error(`metrics of all workers: ${answer.error ?? 'no answer'}`));
      }
      waiting.set(id, settle);
      process.send?.({ type: ASK_ALL, id });
    });
}

/**
 * In the primary: answers a worker's request for all workers' metrics. Only
 * workers that listen are asked (each set up its registry before it listened);
 * one that exits while asked is left out, its metrics are gone with it.
 */
export function serveWorkerMetrics(): void {
  const listening = new Set<Worker>();
  cluster.on('listening', (worker) => listening.add(worker));
  cluster.on('exit', (worker) => listening.delete(worker));
  let nextId = 0;
  cluster.on('message', (asker, message: unknown) => {
    if (!isMessage(message, ASK_ALL)) return;
    const answer = (reply: Omit<Message, 'type' | 'id'>) => {
      if (asker.isConnected()) asker.send({ type: ASK_ALL, id: message.id, ...reply });
    };
    collect([...listening], nextId++).then(
      (text) => answer({ text }),
      (error: unknown) => answer({ error: String(error) }),
    );
  });
}

/** Every worker's registry as JSON, aggregated into one exposition. */
function collect(workers: Worker[], id: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const answers: RegistryJson[] = [];
    const pending = new Set(workers.filter((w) => w.isConnected()));
    const timer = setTimeout(() => finish(new Error('a worker did not answer in time')), ANSWER_TIMEOUT_MS);
    const onMessage = (worker: Worker, message: unknown) => {
      if (!isMessage(message, ASK_ONE) || message.id !== id || !pending.delete(worker)) return;
      if (message.metrics === undefined) finish(new Error(message.error ?? 'a worker sent no metrics'));
      else answers.push(message.metrics);
      if (pending.size === 0) finish();
    };
    const onExit = (worker: Worker) => {
      if (pending.delete(worker) && pending.size === 0) finish();
    };
    let finished = false;
    function finish(error?: Error): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
      if (error !== undefined) reject(error);
      else AggregatorRegistry.aggregate(answers).metrics().then(resolve, reject);
    }
    cluster.on('message', onMessage);
    cluster.on('exit', onExit);
    if (pending.size === 0) finish();
    for (const worker of pending) worker.send({ type: ASK_ONE, id });
  });
}
