import { type DeadLetterSink, deadLetterHeaders, type EventSource, type SourceStartOptions } from '@usertags/contracts';
import { backoffMs, errorFields, type Logger, sleep } from '@usertags/runtime';
import { type EmbeddedLog, openEmbeddedLog } from './embedded-log.ts';

export interface EmbeddedSourceConfig {
  readonly path: string;
  readonly groupId: string;
  readonly topic: string;
  /** How long to wait before looking again when no partition has new records: bounds freshness. */
  readonly pollMs: number;
  /** Most records handed over in one batch. */
  readonly maxRecords: number;
  /**
   * Unread records one partition gathers before the partitions are read,
   * unless unread records have been waiting for `pollMs` (like Kafka's
   * fetch.min.bytes and fetch.max.wait.ms, counted per partition). Bigger
   * batches make fewer, cheaper store commits; 1 reads whatever is there at
   * once.
   */
  readonly minRecords?: number;
}

/** How often a partition that is still gathering is looked at again. */
const GATHER_CHECK_MS = 10;

/**
 * A reader of the embedded event log with the semantics of a one-member
 * Kafka consumer group: every partition is assigned to it, read in offset
 * order from the position `startFrom` gives (else the group's committed one,
 * else 0), one batch at a time. A handler that throws makes it read again from
 * where `startFrom` / the committed position says, after a pause. Several
 * readers of one group in different processes are not coordinated: run one
 * projector per projection on the embedded log.
 */
export function createEmbeddedEventSource(config: EmbeddedSourceConfig, logger: Logger): EventSource {
  let log: EmbeddedLog | undefined;
  let loop: Promise<void> | undefined;
  let running = false;
  let paused = false;
  let wake: (() => void) | undefined;
  // Explicit seeks win over everything else; applied before the next read of their partition.
  const seeks = new Map<number, bigint>();
  const open = () => {
    log ??= openEmbeddedLog(config.path);
    return log;
  };

  async function consume(
    handler: Parameters<EventSource['start']>[0],
    options: SourceStartOptions,
    positions: Map<number, bigint>,
  ): Promise<void> {
    const l = open();
    const seek = (partitions: number) => {
      const committed = l.positions(config.groupId, config.topic);
      for (let p = 0; p < partitions; p++) {
        positions.set(p, options.startFrom?.(config.topic, p) ?? committed.get(p) ?? 0n);
      }
    };
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, ms);
      }).then(() => {
        wake = undefined;
      });
    const minRecords = config.minRecords ?? 1;
    // When the log first held records this reader had not read, while none had gathered enough.
    let pendingSince: number | undefined;
    // True while records are waiting but too few to read yet; resets once they are read.
    const gathering = (): boolean => {
      if (minRecords <= 1) return false;
      let waiting = false;
      for (const [p, end] of l.ends(config.topic)) {
        const unread = end - (positions.get(p) ?? 0n);
        if (unread >= BigInt(minRecords)) return false;
        if (unread > 0n) waiting = true;
      }
      if (!waiting) return false;
      pendingSince ??= performance.now();
      return performance.now() - pendingSince < config.pollMs;
    };
    let partitions = 0;
    let failures = 0;
    while (running) {
      if (partitions === 0) {
        partitions = l.partitions(config.topic) ?? 0;
        if (partitions > 0) seek(partitions);
      }
      for (const [p, offset] of seeks) positions.set(p, offset);
      seeks.clear();
      if (paused) {
        await pause(config.pollMs);
        continue;
      }
      if (partitions > 0 && gathering()) {
        await pause(GATHER_CHECK_MS);
        continue;
      }
      pendingSince = undefined;
      let delivered = false;
      for (let p = 0; p < partitions && running && !paused; p++) {
        const records = l.read(config.topic, p, positions.get(p) ?? 0n, config.maxRecords);
        const last = records.at(-1);
        if (last === undefined) continue;
        delivered = true;
        try {
          await handler({ topic: config.topic, partition: p, records, heartbeat: async () => {} });
          positions.set(p, last.offset + 1n);
          failures = 0;
        } catch (error) {
          failures++;
          logger.warn('batch failed; reading again from the stored position', { partition: p, failures, ...errorFields(error) });
          seek(partitions);
          for (const [q, offset] of seeks) positions.set(q, offset);
          seeks.clear();
          await sleep(backoffMs(failures));
          break;
        }
      }
      if (!delivered && running) await pause(config.pollMs);
    }
  }

  return {
    async start(handler, options = {}) {
      running = true;
      const positions = new Map<number, bigint>();
      loop = consume(handler, options, positions).catch((error: unknown) => {
        logger.error('the embedded log reader stopped', errorFields(error));
        throw error;
      });
      // Like the Kafka source, resolve once reading has begun; failures to open surface here.
      open();
    },
    seek(_topic, partition, offset) {
      seeks.set(partition, offset);
    },
    async commit(topic, progress) {
      open().commit(config.groupId, topic, progress);
    },
    async committed(topic, groupId) {
      return open().positions(groupId, topic);
    },
    async describe(topic) {
      const l = open();
      const id = l.identity(topic);
      if (id === undefined) return undefined;
      // Nothing is ever deleted from the embedded log: every partition starts at 0.
      return { identity: `embedded:${id}`, partitions: new Map([...l.ends(topic)].map(([p, end]) => [p, { start: 0n, end }])) };
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wake?.();
    },
    async lag(topic, applied) {
      const ends = open().ends(topic);
      return new Map([...ends].map(([p, end]) => [p, Math.max(0, Number(end - (applied.get(p) ?? 0n)))]));
    },
    async stop() {
      running = false;
      wake?.();
      await loop?.catch(() => {});
      log?.close();
      log = undefined;
    },
  };
}

/** Dead letters go to `topic` in the same log file, with the reason and origin in headers. */
export function createEmbeddedDeadLetterSink(config: { path: string; topic: string }): DeadLetterSink {
  let log: EmbeddedLog | undefined;
  return {
    async park(record, source, reason) {
      log ??= openEmbeddedLog(config.path);
      log.ensureTopic(config.topic, 1);
      log.append(config.topic, [
        {
          key: record.key ?? '',
          value: record.value ?? Buffer.alloc(0),
          headers: deadLetterHeaders(record, source, reason),
        },
      ]);
    },
    async close() {
      log?.close();
      log = undefined;
    },
  };
}
