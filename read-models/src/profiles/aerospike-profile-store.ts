import { type Action, ContractError, errorMessage } from '@usertags/contracts';
import { lazyConnection } from '@usertags/runtime';
import Aerospike from 'aerospike';
import { jsonOfPayload, PROFILE_KEEP, type ProfileEntry, type ProfileStore, type StorePosition } from './profile-store.ts';
import { decodeLive, encodeLive, FIRST_VERSION, type ProfileVersioning } from './profile-versions.ts';

export interface AerospikeProfileStoreConfig {
  /** `host:port[,host:port…]` seed nodes. */
  readonly hosts: string;
  readonly namespace: string;
  readonly set: string;
}

/** Map bins, one per action. */
const BIN: Record<Action, string> = { VIEW: 'views', BUY: 'buys' };
/**
 * Event times are made non-negative so their fixed-width hex sorts as the
 * numbers do. 2^52 keeps every biased time of years 0000–9999 exact (below 2^53).
 */
const TIME_BIAS = 2 ** 52;

/**
 * The map key of an entry: 14 hex digits of the biased event time, then the
 * entry's digest in hex. String order is (time, digest) order, which is what a
 * KEY_ORDERED map sorts by, so the newest tags are the last keys.
 */
export function mapKeyOf(timeMs: number, digest: Buffer): string {
  return `${timeKey(timeMs)}${digest.toString('hex')}`;
}

function timeKey(timeMs: number): string {
  return (timeMs + TIME_BIAS).toString(16).padStart(14, '0');
}

function unavailable(error: unknown): ContractError {
  const reason = errorMessage(error);
  return new ContractError('STORE_UNAVAILABLE', `the Aerospike profile store is unavailable (${reason})`, { cause: error });
}

/**
 * The production profile store: one Aerospike record per cookie, keyed by the
 * cookie's UTF-8 bytes (namespace and set configurable), with two KEY_ORDERED
 * map bins, `views` and `buys`, from the map key above to the tag's JSON text
 * (records written before held the event's Avro bytes there; those values
 * are still read, by decoding them). A batch becomes one `batchWrite` with a record per cookie; each
 * record's operations put its entries and then trim each touched map to the
 * newest PROFILE_KEEP by index
 * (`removeByIndexRange(bin, -PROFILE_KEEP, PROFILE_KEEP, INVERTED)`), atomically.
 * Putting an existing key again rewrites the same value, so re-applying is
 * harmless. A read takes the key range of the time range from both bins in one request.
 */
/** A lazily made, shared connection; a failed attempt is forgotten so the next call tries again. */
function connector(hosts: string): { connect(): Promise<Aerospike.Client>; close(): Promise<void> } {
  const client = lazyConnection(() => Aerospike.connect({ hosts }));
  return {
    connect: () => client.get(),
    async close() {
      const c = client.peek();
      client.forget();
      if (c !== undefined) await (await c.catch(() => undefined))?.close();
    },
  };
}

export function createAerospikeProfileStore(config: AerospikeProfileStoreConfig): ProfileStore {
  const connection = connector(config.hosts);
  const connect = () => connection.connect();
  const mapPolicy = new Aerospike.MapPolicy({ order: Aerospike.maps.order.KEY_ORDERED });
  // The user key is the cookie's UTF-8 bytes as a Buffer (a blob key), not the string: the client
  // copies a string key as a C string (strdup), so a cookie with a NUL would lose everything after it
  // and share a record with its prefix ('a\u0000b' with 'a'). A Buffer key is sent with its length.
  const userKey = (cookie: string) => Buffer.from(cookie, 'utf8');
  const keyOf = (cookie: string) => new Aerospike.Key(config.namespace, config.set, userKey(cookie));
  // A batch's position: one record per topic in `<set>_positions`, a map from partition to next offset.
  const positionKey = (topic: string) => ({ ns: config.namespace, set: `${config.set}_positions`, key: topic });
  // Profiles never expire by age: the newest 200 tags are kept however old they are.
  const writePolicy = new Aerospike.BatchWritePolicy({ ttl: Aerospike.ttl.NEVER_EXPIRE });

  return {
    async migrate() {
      try {
        await connect();
      } catch (error) {
        throw unavailable(error);
      }
    },

    async apply(entries: readonly ProfileEntry[], position?: StorePosition) {
      if (entries.length > 0) await writeEntries(entries);
      // After the entries, never before: the recorded position is never ahead of what the store holds.
      if (position !== undefined) {
        try {
          await (await connect()).operate(
            positionKey(position.topic),
            [Aerospike.maps.put('next', String(position.partition), position.nextOffset.toString())],
            { ttl: Aerospike.ttl.NEVER_EXPIRE },
          );
        } catch (error) {
          throw unavailable(error);
        }
      }
    },

    async positions(topic) {
      try {
        const record = await (await connect()).get(positionKey(topic));
        const next = (record.bins.next ?? {}) as Record<string, string> | Map<string, string>;
        const entries = next instanceof Map ? [...next] : Object.entries(next);
        return new Map(entries.map(([partition, offset]) => [Number(partition), BigInt(offset)]));
      } catch (error) {
        if ((error as { code?: number }).code === Aerospike.status.ERR_RECORD_NOT_FOUND) return new Map();
        throw unavailable(error);
      }
    },

    async read(cookie, fromMs, toMs, limit) {
      let bins: Record<string, unknown>;
      try {
        // Both bins' ranges in one request.
        const range = (bin: string) => Aerospike.maps.getByKeyRange(bin, timeKey(fromMs), timeKey(toMs), Aerospike.maps.returnType.VALUE);
        const record = await (await connect()).operate({ ns: config.namespace, set: config.set, key: userKey(cookie) }, [
          range(BIN.VIEW),
          range(BIN.BUY),
        ]);
        bins = record.bins;
      } catch (error) {
        if ((error as { code?: number }).code === Aerospike.status.ERR_RECORD_NOT_FOUND) return { views: [], buys: [] };
        throw unavailable(error);
      }
      // The map returns the range in key order (oldest first); answers are newest first. An old value that does
      // not decode fails as the codec says (not as an unavailable store), as in the embedded store.
      const texts = (action: Action) => {
        const values = (bins[BIN[action]] ?? []) as Array<string | Buffer>;
        const out: string[] = [];
        for (let i = values.length - 1; i >= 0 && out.length < limit; i--) {
          const value = values[i] as string | Buffer;
          out.push(typeof value === 'string' ? value : jsonOfPayload(value));
        }
        return out;
      };
      return { views: texts('VIEW'), buys: texts('BUY') };
    },

    async checkReady() {
      try {
        const c = await connect();
        if (!c.isConnected()) throw new Error('not connected to the cluster');
      } catch (error) {
        throw unavailable(error);
      }
    },

    close: () => connection.close(),
  };

  async function writeEntries(entries: readonly ProfileEntry[]): Promise<void> {
    const byCookie = new Map<string, ProfileEntry[]>();
    for (const e of entries) {
      const list = byCookie.get(e.cookie);
      if (list === undefined) byCookie.set(e.cookie, [e]);
      else list.push(e);
    }
    const records = [...byCookie].map(([cookie, list]) => {
      const ops: Aerospike.operations.Operation[] = [];
      const touched = new Set<Action>();
      for (const e of list) {
        ops.push(Aerospike.maps.put(BIN[e.action], mapKeyOf(e.timeMs, e.digest), e.json, mapPolicy));
        touched.add(e.action);
      }
      for (const action of touched) {
        // The last PROFILE_KEEP by index are the newest; INVERTED removes everything else.
        ops.push(Aerospike.maps.removeByIndexRange(BIN[action], -PROFILE_KEEP, PROFILE_KEEP, Aerospike.maps.returnType.INVERTED));
      }
      return { type: Aerospike.batchType.BATCH_WRITE, key: keyOf(cookie), ops, policy: writePolicy };
    });
    let results: Aerospike.BatchResult[];
    try {
      results = await (await connect()).batchWrite(records);
    } catch (error) {
      throw unavailable(error);
    }
    const failed = results.find((r) => r.status !== Aerospike.status.OK);
    if (failed !== undefined)
      throw unavailable(new Error(`batch write status ${failed.status} for cookie ${String(failed.record.key.key)}`));
  }
}

/**
 * Versions of the profiles in Aerospike: version 1 is the configured set, a
 * replay builds version n in `<set>_v<n>`; the live version is one record
 * (`live`) in `<set>_catalog`. Dropping a version truncates its set.
 */
export function createAerospikeProfileVersioning(config: AerospikeProfileStoreConfig): ProfileVersioning {
  const connection = connector(config.hosts);
  const connect = () => connection.connect();
  const setOf = (version: number) => (version === 1 ? config.set : `${config.set}_v${version}`);
  const catalogKey = { ns: config.namespace, set: `${config.set}_catalog`, key: 'live' };
  return {
    catalog: {
      async read() {
        try {
          const record = await (await connect()).get(catalogKey);
          return decodeLive(String(record.bins.live));
        } catch (error) {
          if ((error as { code?: number }).code === Aerospike.status.ERR_RECORD_NOT_FOUND) return FIRST_VERSION;
          throw unavailable(error);
        }
      },
      async write(live) {
        await (await connect()).put(catalogKey, { live: encodeLive(live) }, { ttl: Aerospike.ttl.NEVER_EXPIRE });
      },
      close: () => connection.close(),
    },
    open: async (version) => createAerospikeProfileStore({ ...config, set: setOf(version) }),
    async drop(version) {
      const client = await connect();
      await client.truncate(config.namespace, setOf(version), 0);
      await client.truncate(config.namespace, `${setOf(version)}_positions`, 0);
    },
  };
}
