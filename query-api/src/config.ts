import { loadEnvConfig } from '@usertags/runtime';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting of the query API, read once from the environment at start. */
export const QueryApiConfig = z.object({
  HOST: z.string().default('0.0.0.0').describe('Address to listen on'),
  PORT: int(0, 65535).default(8081).describe('HTTP port'),
  DATABASE_URL: z
    .string()
    .url()
    .default('postgres://usertags:usertags@127.0.0.1:5432/usertags')
    .describe('PostgreSQL of the aggregate read model'),
  AGGREGATES_MAX_MINUTES: int(1, 7 * 24 * 60)
    .default(24 * 60)
    .describe('Longest /aggregates range served, in minutes (the spec publishes 10; up to the retention window is served)'),
  DEBUG_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe('Largest debug-mode expected answer read'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Least severe level logged'),
});

export type QueryApiConfig = Readonly<z.output<typeof QueryApiConfig>>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): QueryApiConfig {
  return loadEnvConfig(QueryApiConfig, env);
}
