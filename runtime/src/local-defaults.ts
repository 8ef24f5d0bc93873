// Where the command-line entry points (`./run.sh start`, `./run.sh projector replay …`) keep their
// data when the environment does not say otherwise. The programs' own configuration defaults (what
// `node <program>/src/main.ts` uses, as in the containers) are not these: they stay Kafka and
// PostgreSQL on 127.0.0.1. No imports beyond node:path, so `start` stays light.
import { resolve } from 'node:path';

/** The repository's root (this file is runtime/src/local-defaults.ts). */
const root = resolve(import.meta.dirname, '../..');

export interface LocalDefaults {
  /** `--stack`: the local Kafka and PostgreSQL (and Aerospike when AEROSPIKE_HOSTS is set), as `start --stack`. */
  readonly stack: boolean;
  /** DATA_DIR, absolute (default `<repo>/data`). */
  readonly dataDir: string;
  /** The settings to give the programs: what the environment did not set, filled in with the files under `dataDir`. */
  readonly storage: Readonly<Record<string, string>>;
}

/**
 * The storage settings `start` gives the three programs, and the replay CLI uses, so both find the same
 * files. Embedded (the default): the event log in `DATA_DIR/events.sqlite` (EVENT_LOG_PATH), the
 * aggregates in `sqlite:DATA_DIR/aggregates.sqlite` (DATABASE_URL) and the profiles in
 * `DATA_DIR/profiles.sqlite` (PROFILE_STORE_PATH), each unless the environment sets it. With `stack`,
 * only the profile file: the log and the aggregates are the programs' own defaults (Kafka, PostgreSQL)
 * or whatever KAFKA_BROKERS and DATABASE_URL say.
 */
export function localDefaults(stack: boolean, env: Readonly<Record<string, string | undefined>> = process.env): LocalDefaults {
  const dataDir = resolve(env.DATA_DIR ?? resolve(root, 'data'));
  const storage: Record<string, string> = stack
    ? {}
    : {
        EVENT_LOG_PATH: env.EVENT_LOG_PATH ?? resolve(dataDir, 'events.sqlite'),
        DATABASE_URL: env.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'aggregates.sqlite')}`,
      };
  storage.PROFILE_STORE_PATH = env.PROFILE_STORE_PATH ?? resolve(dataDir, 'profiles.sqlite');
  return { stack, dataDir, storage };
}
