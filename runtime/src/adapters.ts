// One setting per port names its adapter as a URL:
//   EVENT_LOG   kafka://host:port[,host:port…]          or  file:<path>
//   AGGREGATES  postgres://user:password@host:port/db   or  sqlite:<path>
//   PROFILES    aerospike://host:port[,host:port…]/<ns> or  sqlite:<path>
// The settings they replace (KAFKA_BROKERS and EVENT_LOG_PATH; DATABASE_URL; AEROSPIKE_HOSTS,
// AEROSPIKE_NAMESPACE and PROFILE_STORE_PATH) are still read, deprecated, when the new one is unset.
import { z } from 'zod';

/** The event log a program uses; `from` names the setting that chose it, for messages. */
export type EventLogChoice =
  | { readonly kind: 'kafka'; readonly brokers: readonly string[]; readonly from: string }
  | { readonly kind: 'file'; readonly path: string; readonly from: string };

/** The aggregate store: a `postgres://…` or `sqlite:<path>` URL, as the read models open it. */
export interface AggregatesChoice {
  readonly url: string;
  readonly from: string;
}

/** The profile store, in the shape the read models open it (Aerospike when `aerospikeHosts` is set). */
export interface ProfilesChoice {
  readonly aerospikeHosts?: string | undefined;
  readonly aerospikeNamespace: string;
  readonly aerospikeSet: string;
  readonly path: string;
  readonly from: string;
}

const HOST_PORT = /^[^:/\s,]+:\d+$/;
const hostList = (text: string) => text.split(',').map((h) => h.trim());

/** `kafka://h1:9092,h2:9092` or `file:<path>`; `undefined` for anything else. */
export function parseEventLogUrl(url: string): { kind: 'kafka'; brokers: string[] } | { kind: 'file'; path: string } | undefined {
  if (url.startsWith('kafka://')) {
    const brokers = hostList(url.slice('kafka://'.length).replace(/\/$/, ''));
    return brokers.every((b) => HOST_PORT.test(b)) ? { kind: 'kafka', brokers } : undefined;
  }
  if (url.startsWith('file:') && url.length > 'file:'.length) return { kind: 'file', path: url.slice('file:'.length) };
  return undefined;
}

/** `aerospike://h1:3000,h2:3000/<namespace>` (namespace optional) or `sqlite:<path>`; `undefined` for anything else. */
export function parseProfilesUrl(
  url: string,
): { kind: 'aerospike'; hosts: string; namespace: string | undefined } | { kind: 'sqlite'; path: string } | undefined {
  const aerospike = /^aerospike:\/\/([^/]+)(?:\/([^/]*))?$/.exec(url);
  if (aerospike !== null) {
    const hosts = hostList(aerospike[1] as string);
    if (!hosts.every((h) => HOST_PORT.test(h))) return undefined;
    const namespace = aerospike[2] === undefined || aerospike[2] === '' ? undefined : aerospike[2];
    return { kind: 'aerospike', hosts: hosts.join(','), namespace };
  }
  if (url.startsWith('sqlite:') && url.length > 'sqlite:'.length) return { kind: 'sqlite', path: url.slice('sqlite:'.length) };
  return undefined;
}

const AGGREGATES_URL = (v: string) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) || /^sqlite:.+$/.test(v);

/** The settings of the adapter URLs, spread into a program's schema beside the deprecated ones they replace. */
export const adapterSettings = {
  eventLog: () =>
    z
      .string()
      .refine((v) => parseEventLogUrl(v) !== undefined, 'kafka://host:port[,host:port…] or file:<path>')
      .optional()
      .describe(
        'The event log: kafka://host:port[,host:port…] (Kafka, these bootstrap brokers) or file:<path> (the embedded log file). ' +
          'When unset: EVENT_LOG_PATH if set, else Kafka at KAFKA_BROKERS',
      ),
  aggregates: () =>
    z
      .string()
      .refine(AGGREGATES_URL, 'postgres://user:password@host:port/database, or sqlite:<file> for the embedded store')
      .optional()
      .describe(
        'The aggregate read model: postgres://user:password@host:port/database (PostgreSQL) or sqlite:<file> (the embedded store). ' +
          'When unset: DATABASE_URL',
      ),
  profiles: () =>
    z
      .string()
      .refine((v) => parseProfilesUrl(v) !== undefined, 'aerospike://host:port[,host:port…]/<namespace> or sqlite:<file>')
      .optional()
      .describe(
        'The profile read model: aerospike://host:port[,host:port…]/<namespace> (Aerospike; the set is AEROSPIKE_SET) or ' +
          'sqlite:<file> (the embedded store). When unset: Aerospike at AEROSPIKE_HOSTS if set, else the file PROFILE_STORE_PATH',
      ),
};

/** The event log the settings choose: EVENT_LOG, else (deprecated) EVENT_LOG_PATH, else Kafka at KAFKA_BROKERS. */
export function chooseEventLog(c: {
  readonly EVENT_LOG?: string | undefined;
  readonly EVENT_LOG_PATH?: string | undefined;
  readonly KAFKA_BROKERS: readonly string[];
}): EventLogChoice {
  if (c.EVENT_LOG !== undefined) {
    const parsed = parseEventLogUrl(c.EVENT_LOG);
    if (parsed === undefined) throw new Error(`EVENT_LOG: not kafka://host:port[,host:port…] or file:<path>: ${c.EVENT_LOG}`);
    return { ...parsed, from: 'EVENT_LOG' };
  }
  if (c.EVENT_LOG_PATH !== undefined) return { kind: 'file', path: c.EVENT_LOG_PATH, from: 'EVENT_LOG_PATH' };
  return { kind: 'kafka', brokers: c.KAFKA_BROKERS, from: 'KAFKA_BROKERS' };
}

/** The aggregate store the settings choose: AGGREGATES, else (deprecated) DATABASE_URL. */
export function chooseAggregates(c: { readonly AGGREGATES?: string | undefined; readonly DATABASE_URL: string }): AggregatesChoice {
  return c.AGGREGATES !== undefined ? { url: c.AGGREGATES, from: 'AGGREGATES' } : { url: c.DATABASE_URL, from: 'DATABASE_URL' };
}

/** The profile store the settings choose: PROFILES, else (deprecated) AEROSPIKE_HOSTS when set, else PROFILE_STORE_PATH. */
export function chooseProfiles(c: {
  readonly PROFILES?: string | undefined;
  readonly AEROSPIKE_HOSTS?: string | undefined;
  readonly AEROSPIKE_NAMESPACE: string;
  readonly AEROSPIKE_SET: string;
  readonly PROFILE_STORE_PATH: string;
}): ProfilesChoice {
  if (c.PROFILES !== undefined) {
    const parsed = parseProfilesUrl(c.PROFILES);
    if (parsed === undefined)
      throw new Error(`PROFILES: not aerospike://host:port[,host:port…]/<namespace> or sqlite:<file>: ${c.PROFILES}`);
    if (parsed.kind === 'sqlite') {
      return { aerospikeNamespace: c.AEROSPIKE_NAMESPACE, aerospikeSet: c.AEROSPIKE_SET, path: parsed.path, from: 'PROFILES' };
    }
    return {
      aerospikeHosts: parsed.hosts,
      aerospikeNamespace: parsed.namespace ?? c.AEROSPIKE_NAMESPACE,
      aerospikeSet: c.AEROSPIKE_SET,
      path: c.PROFILE_STORE_PATH,
      from: 'PROFILES',
    };
  }
  const aerospike = c.AEROSPIKE_HOSTS !== undefined && c.AEROSPIKE_HOSTS !== '';
  return {
    aerospikeHosts: c.AEROSPIKE_HOSTS,
    aerospikeNamespace: c.AEROSPIKE_NAMESPACE,
    aerospikeSet: c.AEROSPIKE_SET,
    path: c.PROFILE_STORE_PATH,
    from: aerospike ? 'AEROSPIKE_HOSTS' : 'PROFILE_STORE_PATH',
  };
}
