// Before `projector replay` does any work it makes sure it can reach the event log and the read
// models it was asked to rebuild, each within a bound. What it cannot reach becomes one line naming
// the store and the setting that points elsewhere (an `Unreachable` error), never a stack trace or
// a wait without end.
import { existsSync } from 'node:fs';
import { createKafkaClient } from '@usertags/event-log';
import { openProfileVersioning } from '@usertags/read-models';
import pg from 'pg';
import type { ProjectorConfig } from '../config.ts';

/** A store the replay cannot use; the message is the whole story, one line. */
export class Unreachable extends Error {
  override readonly name = 'Unreachable';
}

/** Waits for `work` at most `ms`; its failure or the timeout becomes the reason, one line. */
async function within<T>(ms: number, work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; reason: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${Math.round(ms / 1000)} s` }), ms);
  });
  try {
    return await Promise.race([
      work().then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, reason: oneLine(error) }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's message on one line (an AggregateError — e.g. IPv4 and IPv6 both refused — by its parts). */
export function oneLine(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(oneLine).join('; ');
  const message = error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** `host:port/database` of a PostgreSQL URL, without the user and password. */
function postgresTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the server it names';
  }
}

export interface ReachOptions {
  /** What to rebuild: the log is always needed. */
  readonly aggregates: boolean;
  readonly profiles: boolean;
  /** How long each store may take to answer. */
  readonly timeoutMs: number;
  /** Why a missing embedded log file is missing: what the user can do instead (e.g. start the system first). */
  readonly missingLogHint: string;
}

/** Throws `Unreachable` for the first store the replay needs and cannot reach. */
export async function reachStores(config: ProjectorConfig, options: ReachOptions): Promise<void> {
  const { timeoutMs } = options;
  const { eventLog, aggregates, profiles } = config;
  if (eventLog.kind === 'file') {
    if (!existsSync(eventLog.path)) {
      throw new Unreachable(`no event log at ${eventLog.path} (${eventLog.from}): ${options.missingLogHint}`);
    }
  } else {
    const kafka = createKafkaClient({
      clientId: `${config.KAFKA_CLIENT_ID}-replay-check`,
      brokers: eventLog.brokers,
      connectionTimeoutMs: Math.min(3000, timeoutMs),
      retry: { retries: 2, initialRetryTime: 300, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    const reached = await within(timeoutMs, async () => {
      await admin.connect();
      await admin.listTopics();
    });
    void admin.disconnect().catch(() => {});
    if (!reached.ok) {
      throw new Unreachable(`cannot reach the event log, Kafka at ${eventLog.brokers.join(',')} (${eventLog.from}): ${reached.reason}`);
    }
  }
  if (options.aggregates && !aggregates.url.startsWith('sqlite:')) {
    const client = new pg.Client({ connectionString: aggregates.url, connectionTimeoutMillis: timeoutMs });
    client.on('error', () => {});
    const reached = await within(timeoutMs, async () => {
      await client.connect();
      await client.query('SELECT 1');
    });
    void client.end().catch(() => {});
    if (!reached.ok) {
      throw new Unreachable(
        `cannot reach the aggregate store, PostgreSQL at ${postgresTarget(aggregates.url)} (${aggregates.from}): ${reached.reason}`,
      );
    }
  }
  if (options.profiles && profiles.aerospikeHosts !== undefined && profiles.aerospikeHosts !== '') {
    const reached = await within(timeoutMs, async () => {
      const versioning = await openProfileVersioning(profiles);
      try {
        await versioning.catalog.read();
      } finally {
        await versioning.catalog.close().catch(() => {});
      }
    });
    if (!reached.ok) {
      throw new Unreachable(
        `cannot reach the profile store, Aerospike at ${profiles.aerospikeHosts} (${profiles.from}): ${reached.reason}`,
      );
    }
  }
}
