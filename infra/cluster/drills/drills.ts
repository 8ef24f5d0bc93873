// The faults, one drill each. A drill's `inject` runs the fault and its
// repair and resolves when the repair is done (the fault's end); the runner
// keeps the load on before, during and after it.
import type kafkajs from 'kafkajs';
import pg from 'pg';
import type { Ports } from '../configs.ts';
import {
  activeController,
  busiestLeader,
  etcdLeader,
  patroniLeader,
  patroniMembers,
  postmasterPid,
  signalMember,
  startMember,
  startOtherKafka,
} from './members.ts';

export interface DrillContext {
  readonly admin: kafkajs.Admin;
  readonly kafka: kafkajs.Kafka;
  readonly ports: Ports;
  /** The command API through HAProxy. */
  readonly commandUrl: string;
  /** The programs' DATABASE_URL (through HAProxy's primary port). */
  readonly databaseUrl: string;
  /** Writes a line of the drill's timeline (seconds since the load started). */
  note(event: string): void;
  sleep(ms: number): Promise<void>;
  /** SIGKILLs a program replica (it stays down until `restart`). */
  killReplica(name: string): void;
  /** Starts a program replica again (with variables overridden, for a drill that deploys a wrong setting) and waits for /ready, unless `ready` is false. */
  restart(name: string, override?: Readonly<Record<string, string>>, ready?: boolean): Promise<void>;
  /** Stops a replica (SIGTERM) and waits until it has exited. */
  stopReplica(name: string): Promise<void>;
}

export interface Drill {
  readonly name: string;
  /** What is done, as the report's row title. */
  readonly title: string;
  /** How long the fault lasts, about (the load runs 15 s before and 45 s after it). */
  readonly faultS: number;
  /** The alerts this drill is expected to fire (the report says which did). */
  readonly alerts: readonly string[];
  inject(ctx: DrillContext): Promise<void>;
}

export const DRILLS: readonly Drill[] = [
  {
    name: 'baseline',
    title: 'no fault (baseline; CPU and bytes per tag for docs/capacity.md)',
    faultS: 30,
    alerts: [],
    async inject(ctx) {
      await ctx.sleep(30_000);
    },
  },
  {
    name: 'broker-kill',
    title: 'SIGKILL the broker leading most partitions; restart it 20 s later',
    faultS: 25,
    alerts: [],
    async inject(ctx) {
      const broker = await busiestLeader(ctx.admin);
      signalMember(broker, 'SIGKILL');
      ctx.note(`SIGKILL ${broker}`);
      await ctx.sleep(20_000);
      await startMember(broker);
      ctx.note(`${broker} restarted and ready`);
    },
  },
  {
    name: 'broker-pause',
    title: 'SIGSTOP the broker leading most partitions for 30 s, then SIGCONT',
    faultS: 30,
    alerts: [],
    async inject(ctx) {
      await pauseBroker(ctx, await busiestLeader(ctx.admin), '');
    },
  },
  {
    name: 'controller-pause',
    title: 'SIGSTOP the broker that is the active KRaft controller for 30 s, then SIGCONT',
    faultS: 30,
    alerts: [],
    async inject(ctx) {
      // In combined mode the controller is a broker too: its partitions wait for a new controller
      // to be elected before the hung broker can be fenced and they can move.
      const controller = activeController();
      await pauseBroker(
        ctx,
        controller ?? (await busiestLeader(ctx.admin)),
        controller === undefined ? ' (no broker log names the controller: the busiest leader instead)' : ' (the active controller)',
      );
    },
  },
  {
    name: 'pg-primary-kill',
    title: "SIGKILL the PostgreSQL primary's postmaster",
    faultS: 30,
    // Seconds of retries: shorter than the alert's `for: 1m`, as it should be (store-down fires it).
    alerts: [],
    async inject(ctx) {
      const leader = await patroniLeader(ctx.ports);
      if (leader === undefined) throw new Error('Patroni has no leader before the drill');
      const pid = postmasterPid(leader);
      process.kill(pid, 'SIGKILL');
      ctx.note(`SIGKILL the postmaster of ${leader} (pid ${pid})`);
      // Patroni either restarts it in place (it still holds the leader key) or fails over; either way
      // the fault ends when a primary takes writes through HAProxy again.
      await until(
        ctx,
        120_000,
        'no primary takes writes',
        async () => (await patroniLeader(ctx.ports)) !== undefined && (await primaryTakesWrites(ctx.databaseUrl)),
      );
      const now = await patroniLeader(ctx.ports);
      ctx.note(
        `primary ${now} takes writes through HAProxy${now === leader ? ' (Patroni restarted it in place: it still held the leader key)' : ' (failed over)'}`,
      );
    },
  },
  {
    name: 'pg-node-kill',
    title: 'SIGKILL the PostgreSQL primary and its Patroni (the node dies); start Patroni again 45 s later',
    faultS: 60,
    alerts: [],
    async inject(ctx) {
      const leader = await patroniLeader(ctx.ports);
      if (leader === undefined) throw new Error('Patroni has no leader before the drill');
      const postmaster = postmasterPid(leader);
      const killedAt = Date.now();
      signalMember(leader, 'SIGKILL');
      process.kill(postmaster, 'SIGKILL');
      ctx.note(`SIGKILL Patroni and the postmaster of ${leader}`);
      // The leader key expires after Patroni's ttl; the sync standby takes it and is promoted.
      await until(ctx, 120_000, 'no failover', async () => {
        const now = await patroniLeader(ctx.ports);
        return now !== undefined && now !== leader && (await primaryTakesWrites(ctx.databaseUrl));
      });
      ctx.note(
        `failed over: ${await patroniLeader(ctx.ports)} takes writes through HAProxy, ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
      );
      // Started again after the ttl, the old primary finds another leader and rejoins as its replica (pg_rewind).
      await ctx.sleep(Math.max(0, 45_000 - (Date.now() - killedAt)));
      await startMember(leader);
      await until(ctx, 120_000, `${leader} did not rejoin`, async () =>
        (await patroniMembers(ctx.ports)).some(
          (m) => m.name === leader && m.role !== 'leader' && ['running', 'streaming'].includes(m.state),
        ),
      );
      ctx.note(`${leader} rejoined as ${(await patroniMembers(ctx.ports)).find((m) => m.name === leader)?.role}`);
    },
  },
  {
    name: 'projector-kill',
    title: 'SIGKILL one projector replica of each projection; restart them 20 s later',
    faultS: 25,
    alerts: [],
    async inject(ctx) {
      ctx.killReplica('projector-aggregates-1');
      ctx.killReplica('projector-profiles-1');
      ctx.note('SIGKILL projector-aggregates-1, projector-profiles-1');
      await ctx.sleep(20_000);
      await Promise.all([ctx.restart('projector-aggregates-1'), ctx.restart('projector-profiles-1')]);
      ctx.note('both restarted and ready');
    },
  },
  {
    name: 'api-kill',
    title: 'SIGKILL one command-API and one query-API replica; restart them 100 s later',
    faultS: 105,
    alerts: ['TargetDown'],
    async inject(ctx) {
      ctx.killReplica('command-api-1');
      ctx.killReplica('query-api-1');
      ctx.note('SIGKILL command-api-1, query-api-1');
      // TargetDown needs `up == 0` for 1 min after the first failed scrape (every 10 s) and an evaluation.
      await ctx.sleep(100_000);
      await Promise.all([ctx.restart('command-api-1'), ctx.restart('query-api-1')]);
      ctx.note('both restarted and ready');
    },
  },
  {
    name: 'etcd-stop',
    title: 'stop the etcd leader for 30 s, then start it',
    faultS: 35,
    alerts: [],
    async inject(ctx) {
      const member = await etcdLeader(ctx.ports);
      signalMember(member, 'SIGTERM');
      ctx.note(`SIGTERM ${member} (the etcd leader)`);
      await ctx.sleep(30_000);
      await startMember(member);
      ctx.note(`${member} started`);
    },
  },
  {
    name: 'two-brokers-kill',
    title: 'SIGKILL two of the three brokers for 70 s (below min.insync.replicas: ingest must refuse, not lose)',
    faultS: 80,
    alerts: ['IngestUnavailable'],
    async inject(ctx) {
      const first = await busiestLeader(ctx.admin);
      const second = first === 'kafka-1' ? 'kafka-2' : 'kafka-1';
      signalMember(first, 'SIGKILL');
      signalMember(second, 'SIGKILL');
      ctx.note(`SIGKILL ${first}, ${second}`);
      await ctx.sleep(70_000);
      await Promise.all([startMember(first), startMember(second)]);
      ctx.note(`${first}, ${second} restarted and ready`);
    },
  },
  {
    name: 'store-down',
    title: 'stop both PostgreSQL nodes for 150 s (the aggregate store is gone), then start them',
    faultS: 165,
    alerts: ['AggregateStoreUnreachable', 'ProjectorLagGrowing'],
    async inject(ctx) {
      const leader = (await patroniLeader(ctx.ports)) ?? 'pg-1';
      const standby = leader === 'pg-1' ? 'pg-2' : 'pg-1';
      // The standby first, so the leader's clean stop causes no failover.
      signalMember(standby, 'SIGTERM');
      await ctx.sleep(3000);
      signalMember(leader, 'SIGTERM');
      ctx.note(`SIGTERM Patroni on ${standby}, then ${leader} (each stops its PostgreSQL)`);
      await ctx.sleep(150_000);
      await Promise.all([startMember(leader), startMember(standby)]);
      await until(ctx, 180_000, 'no primary after the restart', () => primaryTakesWrites(ctx.databaseUrl));
      ctx.note(`both started; ${(await patroniLeader(ctx.ports)) ?? '?'} takes writes`);
    },
  },
  {
    name: 'operator-mistakes',
    title:
      "a foreign producer writes a record that is not a tag; a tag older than the retention horizon; a projector replica deployed with another Kafka cluster's brokers for 60 s",
    faultS: 70,
    alerts: ['DeadLetters', 'ProjectorRefusesLog'],
    async inject(ctx) {
      const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      await producer.send({ topic: 'user-tags', acks: -1, messages: [{ key: 'not-a-cookie', value: 'this is not Avro' }] });
      await producer.disconnect();
      ctx.note('a record that is not a tag written to user-tags');
      // A tag from before the aggregates' retention horizon: stored in the log, not counted (projector_late_events_total).
      const late = await fetch(`${ctx.commandUrl}/user_tags`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          time: new Date(Date.now() - 30 * 86_400_000).toISOString(),
          cookie: 'drill-late-tag',
          country: 'PL',
          device: 'PC',
          action: 'BUY',
          origin: 'drill-late-tag',
          product_info: { product_id: 1, brand_id: 'late', category_id: 'late', price: 1 },
        }),
      });
      ctx.note(`a tag dated 30 days back posted (answered ${late.status})`);
      // Another Kafka cluster with a topic of the same name: a replica deployed with another environment's brokers.
      // The aggregate store is bound to this cluster's topic (cluster id, topic id), so the replica must refuse.
      const other = await startOtherKafka(ctx.ports);
      ctx.note(`another Kafka cluster on :${other.port} with its own user-tags topic`);
      await ctx.stopReplica('projector-aggregates-2');
      await ctx.restart('projector-aggregates-2', { KAFKA_BROKERS: `127.0.0.1:${other.port}` }, false);
      ctx.note('projector-aggregates-2 redeployed with the other cluster as KAFKA_BROKERS');
      await ctx.sleep(60_000);
      await ctx.stopReplica('projector-aggregates-2');
      await ctx.restart('projector-aggregates-2');
      await other.stop();
      ctx.note('projector-aggregates-2 redeployed with the right topic and ready');
    },
  },
];

/** Polls `done` every 500 ms; throws `what` when it is not true within `timeoutMs`. */
/** SIGSTOP `broker` (a hung broker that keeps its connections) for 30 s, then SIGCONT; `why` follows its name in the note. */
async function pauseBroker(ctx: DrillContext, broker: string, why: string): Promise<void> {
  signalMember(broker, 'SIGSTOP');
  ctx.note(`SIGSTOP ${broker}${why}`);
  await ctx.sleep(30_000);
  signalMember(broker, 'SIGCONT');
  ctx.note(`SIGCONT ${broker}`);
}

async function until(ctx: DrillContext, timeoutMs: number, what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await ctx.sleep(500);
  }
}

/** Whether HAProxy's primary port reaches a PostgreSQL that takes writes. */
async function primaryTakesWrites(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000, query_timeout: 2000 });
  try {
    await client.connect();
    const { rows } = await client.query('SELECT NOT pg_is_in_recovery() AS primary');
    return rows[0]?.primary === true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
