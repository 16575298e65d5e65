import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetWorker } from './helpers/fleet.js';
import { startFleet, total, totalEvents } from './helpers/fleet.js';
import {
  assertAvailable,
  deletePrefix,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  startSlowProxy,
  type SlowProxy,
  uniquePrefix,
} from './helpers/redis.js';

// A deploy: every instance starts at once, and each makes its first call while its fresh
// Redis client is still connecting. The store waits for that first connection (within its
// command timeout) instead of logging in on its own (issue 21, item 6).
//
// Redis is reached through a proxy that holds each connection's first answer back 300 ms, as
// a Redis across a network (or behind TLS and AUTH) takes a while to be ready; each worker
// has derived its store key beforehand. On loopback, a client is otherwise ready within
// the 20-30 ms (seconds on a loaded machine) its first call spends deriving that key, and
// the race is not met.
const firstAnswerDelayMs = 300;

const fleetSize = 20;
const up = await probeRedis(redisUrl);

describe.runIf(redisGate('@tokenfetch/redis fleet start test', up, missingRedis))(
  `a fleet of ${fleetSize} processes starting together`,
  { timeout: 90_000 },
  () => {
    let fleet: FleetWorker[] = [];
    let mock: MockUpstream | undefined;
    let proxy: SlowProxy | undefined;
    const prefix = uniquePrefix('fleet-start');

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      fleet = await startFleet(fleetSize);
      mock = await startMockUpstream();
      proxy = await startSlowProxy(Number(new URL(redisUrl).port || 6379));
      proxy.firstAnswerDelayMs = firstAnswerDelayMs;
    }, 90_000);

    afterAll(async () => {
      await Promise.all(fleet.map((worker) => worker.kill()));
      await mock?.close();
      await proxy?.close();
      if (up) await deletePrefix(redisUrl, prefix);
    });

    it('20 processes whose fresh Redis clients are still connecting at their first call make 1 login', async () => {
      const upstream = mock as MockUpstream;
      // Half on ioredis (`new Redis(url)`), half on node-redis (`connect()` not awaited).
      // A generous command timeout, which also bounds the wait: twenty processes connecting
      // at once on a shared 2-core machine must not pass for a slow Redis. Without the
      // wait, the timeout makes no difference: each store fails at once and its instance
      // logs in.
      const results = await Promise.all(
        fleet.map((worker) =>
          worker.coldStart({
            baseUrl: upstream.baseUrl,
            redisUrl: (proxy as SlowProxy).url,
            prefix,
            email: DEMO_USER.email,
            password: DEMO_USER.password,
            commandTimeoutMs: 5_000,
            count: 5,
          }),
        ),
      );

      // Every instance's store was first asked while its client was still connecting.
      expect(results.map((result) => result.readyAtFirstStoreCall)).toEqual(
        Array.from({ length: fleetSize }, () => false),
      );
      expect(total(results)).toEqual({ 200: fleetSize * 5 });
      expect(upstream.stats.loginAttempts).toBe(1);
      const seen = totalEvents(await Promise.all(fleet.map((worker) => worker.events())));
      expect(Object.keys(seen).filter((name) => name.startsWith('store_error'))).toEqual([]);
      expect(seen).toMatchObject({ 'login:login': 1, 'login:store': fleetSize - 1 });
    });
  },
);
