import { RedisTokenStore } from '@tokenfetch/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClient, clusterLibraries } from './helpers/clients.js';
import { assertAvailable, hasRedisServer, redisGate, uniquePrefix } from './helpers/redis.js';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.js';
import { call } from './helpers/redis-process.js';

// A real Cluster of 3 masters and 3 replicas (the one-node Cluster of
// redis-token-store.test.ts owns every slot, so it cannot show a script sent to the wrong
// master).

const missing = 'no redis-server on PATH for a private Redis Cluster';

/** Calls of `command` (an `INFO commandstats` name) on every node since the last reset. */
async function callsOf(cluster: RedisCluster, command: string): Promise<number> {
  let calls = 0;
  for (const node of cluster.nodes) {
    const stats = String(await call(node.port, ['INFO', 'commandstats']));
    const match = new RegExp(`^cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`, 'm').exec(
      stats,
    );
    calls += Number(match?.[1] ?? 0);
  }
  return calls;
}

describe.runIf(redisGate('the Redis Cluster tests', hasRedisServer, missing))(
  'RedisTokenStore on a Redis Cluster of 3 masters and 3 replicas',
  { timeout: 60_000 },
  () => {
    let cluster: RedisCluster;

    beforeAll(async () => {
      assertAvailable(hasRedisServer, missing);
      cluster = await startRedisCluster();
    }, 60_000);

    afterAll(() => cluster?.stop());

    it.each(clusterLibraries)(
      'with %s, each script goes to its key’s master: every operation succeeds, none is redirected',
      async (kind) => {
        const { redis, close } = await clusterClient(kind, cluster);
        try {
          const prefix = uniquePrefix('slots');
          const store = new RedisTokenStore({ redis, prefix, commandTimeoutMs: 2_000 });
          // Keys whose slots fall on every master.
          const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
          const masters = new Set(
            await Promise.all(keys.map((key) => cluster.masterOf(`{${prefix}:${key}}:token`))),
          );
          expect(masters.size).toBe(3);
          for (const node of cluster.nodes) await call(node.port, ['CONFIG', 'RESETSTAT']);

          for (const key of keys) {
            const lease = await store.acquire(key);
            expect(lease, key).toBeDefined();
            const issuedAt = Date.now();
            expect(
              await store.commit(lease!, {
                token: `t-${key}`,
                issuedAt,
                expiresAt: issuedAt + 60_000,
              }),
            ).toBe(true);
            expect(await store.get(key)).toMatchObject({ token: `t-${key}` });
          }

          // One EVAL per operation: none came back MOVED to be sent again…
          expect(await callsOf(cluster, 'eval')).toBe(keys.length * 3);
          // …and the slot map was not read again.
          expect(await callsOf(cluster, 'cluster|slots')).toBe(0);
        } finally {
          close();
        }
      },
    );
  },
);
