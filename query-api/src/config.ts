import {
  type AggregatesChoice,
  adapterSettings,
  chooseAggregates,
  chooseProfiles,
  env,
  httpTimeoutsInOrder,
  loadEnvConfig,
  type ProfilesChoice,
  resolveWorkers,
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
  WORKERS: env.workers(),
  ...env.httpTimeouts(),
  LOG_LEVEL: env.logLevel(),
  ...env.telemetry(),
});

export const QueryApiConfig = Settings.refine(...httpTimeoutsInOrder);

/**
 * The settings, the read models they choose (AGGREGATES, PROFILES, or the deprecated settings they
 * replace), and the number of worker processes (`WORKERS`, its default filled in).
 */
export type QueryApiConfig = Readonly<
  Omit<z.output<typeof QueryApiConfig>, 'WORKERS'> & { aggregates: AggregatesChoice; profiles: ProfilesChoice; WORKERS: number }
>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): QueryApiConfig {
  const settings = loadEnvConfig(QueryApiConfig, env);
  const aggregates = chooseAggregates(settings);
  const profiles = chooseProfiles(settings);
  const workers = resolveWorkers(settings.WORKERS, embeddedStore(aggregates, profiles));
  return Object.freeze({ ...settings, aggregates, profiles, WORKERS: workers });
}

/** The embedded store among the read models, named for a message; such a file is opened by one process (its WAL and version switching). */
function embeddedStore(aggregates: AggregatesChoice, profiles: ProfilesChoice): string | undefined {
  if (aggregates.url.startsWith('sqlite:')) return `the aggregate store (${aggregates.from})`;
  if (profiles.aerospikeHosts === undefined || profiles.aerospikeHosts === '') return `the profile store (${profiles.from})`;
  return undefined;
}
