import {
  type AggregatesChoice,
  adapterSettings,
  chooseAggregates,
  chooseProfiles,
  env,
  httpTimeoutsInOrder,
  loadEnvConfig,
  type ProfilesChoice,
} from '@usertags/runtime';
import { z } from 'zod';

const { int } = env;

/** Every setting of the query API, read once from the environment at start. */
const Settings = z.object({
  HOST: env.host(),
  PORT: env.port(8081),
  AGGREGATES: adapterSettings.aggregates(),
  DATABASE_URL: env.databaseUrl(),
  ...env.profileStore(),
  AGGREGATES_MAX_MINUTES: int(1, 7 * 24 * 60)
    .default(24 * 60)
    .describe('Longest /aggregates range served, in minutes (the spec publishes 10; up to the retention window is served)'),
  DEBUG_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe('Largest debug-mode expected answer read'),
  ...env.httpTimeouts(),
  LOG_LEVEL: env.logLevel(),
  ...env.telemetry(),
});

export const QueryApiConfig = Settings.refine(...httpTimeoutsInOrder);

/** The settings, and the read models they choose (AGGREGATES, PROFILES, or the deprecated settings they replace). */
export type QueryApiConfig = Readonly<z.output<typeof QueryApiConfig> & { aggregates: AggregatesChoice; profiles: ProfilesChoice }>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): QueryApiConfig {
  const settings = loadEnvConfig(QueryApiConfig, env);
  return Object.freeze({ ...settings, aggregates: chooseAggregates(settings), profiles: chooseProfiles(settings) });
}
