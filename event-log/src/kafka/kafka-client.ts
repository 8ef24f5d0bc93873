import type { Logger } from '@usertags/runtime';
import { Kafka, logLevel, type RetryOptions } from 'kafkajs';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly retry: RetryOptions;
  /** Bound on opening a connection to a broker (kafkajs's default otherwise). */
  readonly connectionTimeoutMs?: number;
  /** Bound on one request to a broker (kafkajs's default otherwise). */
  readonly requestTimeoutMs?: number;
  /**
   * Where kafkajs's own log lines go: its warnings and errors as warnings, anything
   * less severe (down to `level`) as debug lines. Without a logger kafkajs logs nothing.
   */
  readonly logger?: Logger;
  /** The least severe kafkajs line passed to `logger`; `warn` by default. */
  readonly level?: 'warn' | 'info';
}

/** kafkajs log levels onto ours; its errors during an outage are expected, so they are warnings. */
function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string; [k: string]: unknown } }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      if (level <= logLevel.WARN) logger.warn(`kafka: ${message}`, rest);
      else logger.debug(`kafka: ${message}`, rest);
    };
}

/**
 * The brokers in a new random order on every call. kafkajs takes the first
 * broker of a new client as its seed and moves to the next only when the
 * connection itself fails; a broker that accepts connections but does not
 * answer (a hung process: the kernel still completes the handshake) times out
 * every request instead, so with a fixed list every client made during that
 * time asked the same hung broker first. The command API makes a new
 * producer after a failed append, and in the broker-pause drill each one
 * waited on the paused broker for the whole 30 s.
 */
export function shuffledBrokers(brokers: readonly string[], random: () => number = Math.random): () => string[] {
  return () => {
    const order = [...brokers];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as string, order[i] as string];
    }
    return order;
  };
}

/** The one place a kafkajs client is made: the appender, the event source, the dead-letter sink and replay's reachability check all come here. */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  const { logger } = options;
  return new Kafka({
    clientId: options.clientId,
    brokers: shuffledBrokers(options.brokers),
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeout: options.connectionTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    retry: options.retry,
    ...(logger === undefined
      ? { logLevel: logLevel.NOTHING }
      : { logLevel: options.level === 'info' ? logLevel.INFO : logLevel.WARN, logCreator: kafkaLogCreator(logger) }),
  });
}

/**
 * The settings of the tag topic when an appender creates it, whichever Kafka client does: the log is
 * the source of truth, so nothing expires; with acks = all a write must reach a majority-like quorum.
 */
export function tagTopicConfig(replicationFactor: number): Array<{ name: string; value: string }> {
  return [
    { name: 'retention.ms', value: '-1' },
    { name: 'retention.bytes', value: '-1' },
    { name: 'min.insync.replicas', value: String(Math.max(1, Math.min(2, replicationFactor - 1))) },
  ];
}
