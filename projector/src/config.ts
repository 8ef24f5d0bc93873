import {
  type AggregatesChoice,
  adapterSettings,
  chooseAggregates,
  chooseEventLog,
  chooseProfiles,
  type EventLogChoice,
  env,
  httpTimeoutsInOrder,
  loadEnvConfig,
  type ProfilesChoice,
} from '@usertags/runtime';
import { z } from 'zod';

const { int } = env;

/** Every setting of the projector, read once from the environment at start. */
const Settings = z.object({
  HOST: env.host(),
  PORT: env.port(8082),
  EVENT_LOG: adapterSettings.eventLog(),
  EVENT_LOG_PATH: env.eventLogPath(),
  KAFKA_BROKERS: env.kafkaBrokers(),
  KAFKA_CLIENT_ID: z.string().min(1).default('projector').describe('Kafka client id (Kafka only)'),
  KAFKA_TOPIC: z.string().min(1).default('user-tags').describe('Topic the tags are read from (Kafka or the embedded log)'),
  KAFKA_DEAD_LETTER_TOPIC: z
    .string()
    .min(1)
    .default('user-tags.dead-letter')
    .describe('Where undecodable records are parked (Kafka or the embedded log)'),
  AGGREGATES_GROUP_ID: z.string().min(1).default('projector-aggregates').describe('Consumer group of the aggregate projection'),
  PROJECTIONS: env.list('aggregates,profiles', z.enum(['aggregates', 'profiles'])).describe('Which projections this process runs'),
  PROFILES_GROUP_ID: z.string().min(1).default('projector-profiles').describe('Consumer group of the profile projection'),
  ...env.profileStore(),
  AGGREGATES: adapterSettings.aggregates(),
  DATABASE_URL: env.databaseUrl(),
  FLUSH_MAX_EVENTS: int(1, 1_000_000).default(20_000).describe('Flush the aggregates once this many events are buffered'),
  FLUSH_MAX_DELAY_MS: int(10, 60_000).default(500).describe('Flush at the latest this long after the first buffered event'),
  KAFKA_SESSION_TIMEOUT_MS: int(6000, 300_000)
    .default(10_000)
    .describe('How long the group waits for a silent projector before its partitions move (bounds failover after a crash; Kafka only)'),
  FETCH_MAX_WAIT_MS: int(10, 10_000).default(100).describe('How long a fetch waits for new records'),
  FETCH_MIN_BYTES: int(1, 10_000_000)
    .default(65_536)
    .describe(
      'Bytes Kafka gathers for a fetch before it answers, unless FETCH_MAX_WAIT_MS passes first (the embedded log: a partition gathers this many bytes of tags, at ~160 a tag)',
    ),
  FETCH_MAX_RECORDS: int(1000, 1_000_000)
    .default(50_000)
    .describe('Records a fetch brings per partition when the projector is behind (Kafka: in bytes, at ~160 bytes a record)'),
  SHUTDOWN_TIMEOUT_MS: int(1000, 600_000)
    .default(30_000)
    .describe(
      'How long SIGTERM may take (last flush, leaving the group) before the projector exits anyway; the store keeps its positions, so nothing is lost',
    ),
  POSITION_COMMIT_INTERVAL_MS: int(0, 60_000)
    .default(1000)
    .describe('How often the profile projection commits its positions (after a crash it applies up to this much again, harmlessly)'),
  RETENTION_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24)
    .describe('Event-time hours of aggregates kept, behind the low watermark of the partitions'),
  RETENTION_CONFIRMATIONS: int(1, 1_000_000)
    .default(1000)
    .describe(
      'Events at least as new as an event time that a partition must see before retention follows that time (so no few outliers move it)',
    ),
  LOG_CHECK_INTERVAL_MS: int(100, 600_000)
    .default(5000)
    .describe('How often each projection compares its read model with the event log it reads (identity and positions)'),
  ...env.httpTimeouts(),
  LOG_LEVEL: env.logLevel(),
  ...env.telemetry(),
});

export const ProjectorConfig = Settings.refine(...httpTimeoutsInOrder);

/** The settings, and the adapters they choose: one per port, from its URL setting or the deprecated ones it replaces. */
export type ProjectorConfig = Readonly<
  z.output<typeof ProjectorConfig> & { eventLog: EventLogChoice; aggregates: AggregatesChoice; profiles: ProfilesChoice }
>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ProjectorConfig {
  const settings = loadEnvConfig(ProjectorConfig, env);
  return Object.freeze({
    ...settings,
    eventLog: chooseEventLog(settings),
    aggregates: chooseAggregates(settings),
    profiles: chooseProfiles(settings),
  });
}
