// Deno up to 2.7 (and Workers) give timers as numbers, which have no unref(): the store
// lets its command timer (and a Cluster's PING timer) go through core's unrefTimer, and keeps
// working there. Here Node's
// timers are handed out as their numeric ids (which Node's clearTimeout also takes), as
// those runtimes hand them out. The runtime matrix runs the store on Deno 2.0 itself.
import { type StoredToken } from '@tokenfetch/core';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  assertAvailable,
  deletePrefix,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  uniquePrefix,
} from './helpers/redis.js';
import { scriptRunnerFor } from '../src/redis-client.js';

const up = await probeRedis(redisUrl);

describe.runIf(redisGate('@tokenfetch/redis number-timer test', up, missingRedis))(
  'RedisTokenStore where timers are numbers',
  () => {
    let redis: Redis;
    const prefix = uniquePrefix('number-timers');

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      redis = new Redis(redisUrl);
      await new Promise((resolve) => redis.once('ready', resolve));
    });

    afterAll(async () => {
      vi.unstubAllGlobals();
      redis?.disconnect();
      await deletePrefix(redisUrl, prefix);
    });

    it('acquires, commits and reads a token, every command timer a number', async () => {
      const realSetTimeout = globalThis.setTimeout;
      const handedOut: unknown[] = [];
      vi.stubGlobal('setTimeout', (...args: Parameters<typeof setTimeout>) => {
        const id = Number(realSetTimeout(...args));
        handedOut.push(id);
        return id;
      });
      const store = new RedisTokenStore({ redis, prefix });
      const key = 'b'.repeat(64);
      const lease = await store.acquire(key);
      expect(lease).toBeDefined();
      const issuedAt = Date.now();
      const token: Omit<StoredToken, 'generation'> = {
        token: 'tok-number-timers',
        issuedAt,
        expiresAt: issuedAt + 60_000,
      };
      expect(await store.commit(lease!, token)).toBe(true);
      expect(await store.get(key)).toMatchObject({ token: 'tok-number-timers' });
      vi.unstubAllGlobals();
      expect(handedOut.length).toBeGreaterThanOrEqual(3);
      expect(handedOut.every((id) => typeof id === 'number')).toBe(true);
    });

    it('a node-redis Cluster whose script stalled still reads its slot map again (its PING timer a number)', async () => {
      // A node-redis v5 cluster as the store sees it: its masters' clients (a real one,
      // on the test's Redis) and `_slots.rediscover`, asked with the first that answers a PING.
      const master = await createClient({ url: redisUrl }).connect();
      try {
        const rediscovered: unknown[] = [];
        const cluster = {
          isOpen: true,
          eval: () => Promise.resolve(null),
          masters: [{ client: master }],
          _slots: { rediscover: (client: unknown) => rediscovered.push(client) },
        };
        const realSetTimeout = globalThis.setTimeout;
        vi.stubGlobal('setTimeout', (...args: Parameters<typeof setTimeout>) =>
          Number(realSetTimeout(...args)),
        );
        scriptRunnerFor(cluster)!.stalled();
        vi.unstubAllGlobals();
        await vi.waitFor(() => expect(rediscovered).toEqual([master]));
      } finally {
        vi.unstubAllGlobals();
        master.destroy();
      }
    });
  },
);
