import { RedisTokenStore } from '@tokenfetch/redis';
import { describe, it } from 'vitest';
import { clusterClient, sentinelClient, type ClusterLibrary } from './helpers/clients.js';
import { assertAvailable, hasRedisServer, redisGate, uniquePrefix } from './helpers/redis.js';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.js';
import { info, waitFor, type RedisProcess } from './helpers/redis-process.js';
import { startRedisSentinel, type RedisSentinelGroup } from './helpers/redis-sentinel.js';

// The README's Cluster and Sentinel clients, with the store's defaults, follow a failover
// within 5 s of the replica's promotion: the token's master is frozen (SIGSTOP: it keeps
// its connections and answers nothing) or killed, a replica takes over, and the store's
// scripts must reach the new master. The servers' failure detection (cluster-node-timeout,
// down-after-milliseconds: 1 s here) is the operator's; what is measured starts at the
// promotion.

const missing = 'no redis-server on PATH for a private Redis Cluster and Sentinel group';
const followWithinMs = 5_000;
const probeEveryMs = 50;

type Failure = 'frozen' | 'killed';

/**
 * Reads `key` through `store` every 50 ms, fails `master`, waits for `promotion`, and
 * answers how long after the promotion the store's reads succeeded again for good (the
 * first of 10 successes in a row), or undefined if they did not within 8 s.
 */
async function followFailover(
  store: RedisTokenStore,
  key: string,
  master: RedisProcess,
  failure: Failure,
  promotion: () => Promise<{ at: number }>,
): Promise<{ afterMs: number | undefined; failedReads: number; outcomes: string }> {
  const reads: Array<{ at: number; ok: boolean; outcome: string }> = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const outcome = await store.get(key).then(
        (token) => (token === undefined ? 'no token' : 'token'),
        (error: Error) => error.message,
      );
      reads.push({ at: Date.now(), ok: outcome === 'token', outcome });
      await new Promise((resolve) => setTimeout(resolve, probeEveryMs));
    }
  })();
  try {
    if (failure === 'frozen') master.freeze();
    else await master.kill();
    const { at } = await promotion();
    const deadline = at + 8_000;
    for (;;) {
      const after = reads.filter((read) => read.at >= at);
      const lastFailure = after.findLastIndex((read) => !read.ok);
      const streak = after.slice(lastFailure + 1);
      // What the reads after the promotion met, for the report: how many of each outcome.
      const outcomes = () => {
        const tally = new Map<string, number>();
        for (const read of after) tally.set(read.outcome, (tally.get(read.outcome) ?? 0) + 1);
        return [...tally].map(([outcome, count]) => `${outcome} ×${count}`).join(', ');
      };
      if (streak.length >= 10) {
        return {
          afterMs: streak[0]!.at - at,
          failedReads: after.filter((read) => !read.ok).length,
          outcomes: outcomes(),
        };
      }
      if (Date.now() > deadline) {
        return { afterMs: undefined, failedReads: lastFailure + 1, outcomes: outcomes() };
      }
      await new Promise((resolve) => setTimeout(resolve, probeEveryMs));
    }
  } finally {
    probing = false;
    await probe;
  }
}

/** A token committed under `key`, so that reads find one. */
async function seed(store: RedisTokenStore, key: string): Promise<void> {
  const lease = await store.acquire(key);
  if (lease === undefined) throw new Error('no lease');
  const issuedAt = Date.now();
  await store.commit(lease, { token: 'seeded', issuedAt, expiresAt: issuedAt + 600_000 });
}

/**
 * Waits until every one of `replicas` has applied everything `master` had written so far.
 * Replication is asynchronous: a master answers a write before its replicas have it, and
 * one frozen or killed a moment later takes the write with it. Seeding and failing the
 * master back to back lost the seeded token about once in four runs on a loaded machine:
 * the promoted replica answered every read, with no token (a lost write the fleet pays
 * for with one login, as it would in production; not what this test measures).
 */
async function replicated(master: RedisProcess, replicas: readonly RedisProcess[]) {
  if (replicas.length === 0) throw new Error(`no replica of :${master.port}`);
  const offset = Number((await info(master.port, 'replication')).get('master_repl_offset'));
  if (!Number.isSafeInteger(offset) || offset <= 0) throw new Error('no replication offset');
  await waitFor(`${replicas.length} replicas to reach offset ${offset}`, async () => {
    for (const replica of replicas) {
      const applied = Number(
        (await info(replica.port, 'replication', 500)).get('master_repl_offset'),
      );
      if (!(applied >= offset)) return false;
    }
    return true;
  });
}

// Each case has a Cluster or a Sentinel group of its own, and they run at the same time:
// what they wait on is the servers' failure detection, not the CPU.
describe.runIf(redisGate('the Redis failover tests', hasRedisServer, missing))(
  'a failover, followed by the store within 5 s of the promotion',
  { timeout: 60_000 },
  () => {
    const clusterCases: Array<[ClusterLibrary, Failure]> = [
      ['ioredis Cluster', 'frozen'],
      ['ioredis Cluster', 'killed'],
      ['node-redis createCluster', 'frozen'],
      ['node-redis createCluster', 'killed'],
    ];
    it.concurrent.for(clusterCases)(
      'Redis Cluster (3 masters, 3 replicas, cluster-node-timeout 1 s), %s with its defaults, a %s master',
      async ([library, failure], { expect }) => {
        assertAvailable(hasRedisServer, missing);
        const cluster: RedisCluster = await startRedisCluster({ nodeTimeoutMs: 1_000 });
        const { redis, close } = await clusterClient(library, cluster);
        try {
          const prefix = uniquePrefix('failover');
          const store = new RedisTokenStore({ redis, prefix });
          await seed(store, 'key');
          // Every key of one store key shares a slot: any of them names the token's master.
          const [anyKey = ''] = await cluster.keys(`{${prefix}:*`);
          const master = await cluster.masterOf(anyKey);
          await replicated(master, await cluster.replicasOf(master));

          const followed = await followFailover(store, 'key', master, failure, () =>
            cluster.waitForPromotion(master),
          );

          console.info(
            `[failover] ${library}, ${failure} master: reads succeed again ${followed.afterMs} ms after the promotion (${followed.failedReads} failed reads after it)`,
          );
          expect(followed.afterMs, `reads after the promotion: ${followed.outcomes}`).toBeDefined();
          expect(followed.afterMs).toBeLessThanOrEqual(followWithinMs);
        } finally {
          close();
          await cluster.stop();
        }
      },
    );

    it.concurrent.for(['frozen', 'killed'] as const)(
      'Redis Sentinel (a master, 2 replicas, 3 sentinels, down-after 1 s), ioredis with failoverDetector, a %s master',
      async (failure, { expect }) => {
        assertAvailable(hasRedisServer, missing);
        const group: RedisSentinelGroup = await startRedisSentinel();
        const { redis, close } = await sentinelClient(group);
        try {
          const store = new RedisTokenStore({ redis, prefix: uniquePrefix('sentinel') });
          await seed(store, 'key');
          const master = await group.currentMaster();
          await replicated(
            master,
            group.servers.filter((server) => server !== master),
          );

          const followed = await followFailover(store, 'key', master, failure, () =>
            group.waitForPromotion(master),
          );

          console.info(
            `[failover] ioredis Sentinel, ${failure} master: reads succeed again ${followed.afterMs} ms after the promotion (${followed.failedReads} failed reads after it)`,
          );
          expect(followed.afterMs, `reads after the promotion: ${followed.outcomes}`).toBeDefined();
          expect(followed.afterMs).toBeLessThanOrEqual(followWithinMs);
        } finally {
          close();
          await group.stop();
        }
      },
    );
  },
);
