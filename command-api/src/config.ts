import {
  adapterSettings,
  chooseEventLog,
  type EventLogChoice,
  env,
  httpTimeoutsInOrder,
  loadEnvConfig,
  resolveWorkers,
} from '@usertags/runtime';
import { z } from 'zod';

const { int } = env;

/**
 * Every setting of the command API, read once from the environment at start.
 * A bad value stops the program with a message naming the variable.
 */
const Settings = z.object({
  HOST: env.host(),
  PORT: env.port(8080),
  EVENT_LOG: adapterSettings.eventLog(),
  EVENT_LOG_PATH: env.eventLogPath(),
  KAFKA_BROKERS: env.kafkaBrokers(),
  KAFKA_CLIENT_ID: z.string().min(1).default('command-api').describe('Kafka client id (Kafka only)'),
  KAFKA_CLIENT: z
    .enum(['kafkajs', 'platformatic'])
    .default('kafkajs')
    .describe(
      'The Kafka client that appends the tags (Kafka only): kafkajs (patched; settles a request in doubt) or platformatic (@platformatic/kafka; a request in doubt gets 503 though it may be stored: not for production, docs/decisions.md)',
    ),
  KAFKA_TOPIC: z.string().min(1).default('user-tags').describe('Topic the tags are appended to (Kafka or the embedded log)'),
  KAFKA_TOPIC_PARTITIONS: int(1, 10_000).default(4).describe('Partitions when the API creates the topic (Kafka or the embedded log)'),
  KAFKA_TOPIC_REPLICATION: int(1, 100).default(1).describe('Replication factor when the API creates the topic (Kafka only)'),
  KAFKA_CREATE_TOPIC: env
    .flag(true)
    .describe('Create the topic at start if it is missing (Kafka only; the embedded log creates its topic itself)'),
  APPEND_TIMEOUT_MS: int(50, 60_000)
    .default(1000)
    .describe('How long a tag may wait for its append before the request gets 503 (it is then not stored)'),
  BATCH_LINGER_MS: int(0, 100).default(5).describe('How long the oldest tag of a batch waits for company before the batch is sent'),
  BATCH_MAX_RECORDS: int(1, 100_000).default(1000).describe('Largest number of tags in one produce request'),
  MAX_PENDING: int(1, 1_000_000).default(20_000).describe('Tags waiting or in flight before new ones get 503'),
  BODY_LIMIT_BYTES: int(256, 16 * 1024 * 1024)
    .default(64 * 1024)
    .describe('Largest request body'),
  SHUTDOWN_GRACE_MS: int(0, 120_000).default(10_000).describe('How long SIGTERM waits for in-flight requests'),
  WORKERS: env.workers(),
  ...env.httpTimeouts(),
  LOG_LEVEL: env.logLevel(),
  ...env.telemetry(),
});

export const CommandApiConfig = Settings.refine(...httpTimeoutsInOrder);

/**
 * The settings, the event log they choose (`eventLog`: EVENT_LOG, or the deprecated EVENT_LOG_PATH /
 * KAFKA_BROKERS), and the number of worker processes (`WORKERS`, its default filled in).
 */
export type CommandApiConfig = Readonly<Omit<z.output<typeof CommandApiConfig>, 'WORKERS'> & { eventLog: EventLogChoice; WORKERS: number }>;

/** Parses the environment; throws an Error whose message names each bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): CommandApiConfig {
  const settings = loadEnvConfig(CommandApiConfig, env);
  const eventLog = chooseEventLog(settings);
  // The embedded log's file is appended to by one process.
  const workers = resolveWorkers(settings.WORKERS, eventLog.kind === 'file' ? `the event log (${eventLog.from})` : undefined);
  return Object.freeze({ ...settings, eventLog, WORKERS: workers });
}
