import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FleetWorker,
  startFleet,
  total,
  totalEvents,
  type CallsResult,
  type WorkerSetup,
} from './helpers/fleet.js';
import {
  assertAvailable,
  deletePrefix,
  hasRedisServer,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  startPrivateRedis,
  type PrivateRedis,
  uniquePrefix,
} from './helpers/redis.js';

// Each test is a fleet of 8 separate processes (4 on ioredis, 4 on node-redis) running the
// built packages, against one mock upstream in this process.

const fleetSize = 8;
const up = await probeRedis(redisUrl);
const privateMissing = 'no redis-server on PATH for a private, stoppable Redis';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe.runIf(redisGate('@tokenfetch/redis fleet tests', up, missingRedis))(
  'a fleet of 8 processes sharing one Redis',
  { timeout: 60_000 },
  () => {
    let fleet: FleetWorker[] = [];
    let redis: Redis;
    const mocks: MockUpstream[] = [];
    const prefixes: string[] = [];
    const privates: PrivateRedis[] = [];

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      redis = new Redis(redisUrl);
      fleet = await startFleet(fleetSize);
    }, 60_000);

    afterAll(async () => {
      await Promise.all(fleet.map((worker) => worker.kill()));
      await Promise.all(mocks.map((mock) => mock.close()));
      await Promise.all(privates.map((server) => server.stop()));
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
      redis?.disconnect();
    });

    async function startFleetOn(
      overrides: Partial<WorkerSetup> = {},
    ): Promise<{ mock: MockUpstream; prefix: string }> {
      const mock = await startMockUpstream();
      mocks.push(mock);
      const prefix = uniquePrefix('fleet');
      prefixes.push(prefix);
      await Promise.all(
        fleet.map((worker) =>
          worker.setup({
            baseUrl: mock.baseUrl,
            redisUrl,
            prefix,
            email: DEMO_USER.email,
            password: DEMO_USER.password,
            // Generous: an event loop busy starting 8 processes on 2 cores must not pass
            // for a slow Redis here. The default timeout is tested on its own.
            commandTimeoutMs: 2_000,
            ...overrides,
          }),
        ),
      );
      await Promise.all(fleet.map((worker) => worker.events()));
      return { mock, prefix };
    }

    const burst = (workers: FleetWorker[], count: number): Promise<CallsResult[]> =>
      Promise.all(workers.map((worker) => worker.calls(count)));

    const events = async (workers = fleet) =>
      totalEvents(await Promise.all(workers.map((worker) => worker.events())));

    it('8 processes × 100 concurrent calls at cold start make exactly 1 login; the others read the token from Redis', async () => {
      const encryptionKey = randomBytes(32).toString('base64');
      const { mock, prefix } = await startFleetOn({ encryptionKey });

      const results = await burst(fleet, 100);

      expect(total(results)).toEqual({ 200: 800 });
      expect(mock.stats.successfulLogins).toBe(1);
      expect(mock.stats.loginAttempts).toBe(1);
      const seen = await events();
      expect(seen).toMatchObject({ 'login:login': 1, 'login:store': fleetSize - 1 });
      expect(Object.keys(seen).filter((name) => name.startsWith('store_error'))).toEqual([]);

      // What Redis holds is not the token: it is sealed with the fleet's key.
      const token = mock.requests.at(-1)?.headers.authorization?.toString().slice(7) ?? '';
      expect(token.length).toBeGreaterThan(10);
      const [tokenKey] = await redis.keys(`{${prefix}:*}:token`);
      const stored = await redis.hget(tokenKey ?? '', 'v');
      expect(stored).toMatch(/^enc1:fleet:/);
      expect(stored).not.toContain(token);
    });

    it('a revoked token costs the whole fleet exactly 1 more login and no failed call', async () => {
      const encryptionKey = randomBytes(32).toString('base64');
      const { mock } = await startFleetOn({ encryptionKey });
      await burst(fleet, 10);
      expect(mock.stats.successfulLogins).toBe(1);
      await events();

      mock.revokeTokens();
      mock.resetStats();
      const results = await burst(fleet, 100);

      expect(total(results)).toEqual({ 200: 800 });
      expect(mock.stats.rejectedCalls).toBe(800);
      expect(mock.stats.successfulLogins).toBe(1);
      const seen = await events();
      expect(seen).toMatchObject({ 'login:login': 1, 'login:store': fleetSize - 1 });
    });

    it('when the lock holder is SIGKILLed mid-login, another process logs in once the lock expires; no call fails', async () => {
      const lockTtlMs = 1_500;
      const { mock, prefix } = await startFleetOn({ lockTtlMs });
      const [holder, ...others] = fleet as [FleetWorker, ...FleetWorker[]];
      const answeredAt: number[] = [];
      mock.setLoginResponse(() => {
        answeredAt.push(Date.now());
        return undefined;
      });
      mock.setLoginDelay(60_000);
      try {
        const holderCalls = holder.calls(10).catch((error: Error) => error);
        await until(() => mock.stats.inFlightLogins === 1);
        const [lockKey = ''] = await redis.keys(`{${prefix}:*}:lock`);
        const askedAt = Date.now();
        const lockTtl = await redis.pttl(lockKey);
        const lockExpiresAt = askedAt + lockTtl; // at the earliest
        expect(lockTtl).toBeGreaterThan(0);
        expect(lockTtl).toBeLessThanOrEqual(lockTtlMs);

        const waiting = burst(others, 100);
        await sleep(200);
        await holder.kill();
        mock.setLoginDelay(0);
        const results = await waiting;

        expect(await holderCalls).toBeInstanceOf(Error);
        expect(total(results)).toEqual({ 200: 700 });
        expect(mock.stats.loginAttempts).toBe(2);
        expect(mock.stats.successfulLogins).toBe(1);
        // The takeover waited for the dead holder's lock to expire, and no longer than that.
        expect(answeredAt).toHaveLength(1);
        expect(answeredAt[0]).toBeGreaterThanOrEqual(lockExpiresAt - 2);
        expect(await events(others)).toMatchObject({ 'login:login': 1, 'login:store': 6 });
      } finally {
        const replacement = new FleetWorker(holder.library);
        await replacement.started;
        fleet[0] = replacement;
      }
    });

    it('a Retry-After on a 429 login holds the whole fleet back: 1 attempt, every call fails at once', async () => {
      const { mock } = await startFleetOn();
      mock.failNextLogins(429, 100, { 'retry-after': '60' });

      const first = await burst(fleet, 50);
      const again = await burst(fleet, 50);

      expect(total(first)).toEqual({ E_LOGIN_FAILED: 400 });
      expect(total(again)).toEqual({ E_LOGIN_FAILED: 400 });
      expect(mock.stats.loginAttempts).toBe(1);
    });

    it('a wrong password costs the whole fleet 1 login attempt per cooldown', async () => {
      const loginCooldownMs = 1_500;
      const { mock, prefix } = await startFleetOn({ password: 'wrong-password', loginCooldownMs });

      const first = await burst(fleet, 50);
      expect(total(first)).toEqual({ E_INVALID_CREDENTIALS: 400 });
      expect(mock.stats.loginAttempts).toBe(1);

      const again = await burst(fleet, 50);
      expect(total(again)).toEqual({ E_INVALID_CREDENTIALS: 400 });
      expect(mock.stats.loginAttempts).toBe(1);

      // The shared refusal ends with its cooldown; then one process tries once more.
      const failKey = `${(await redis.keys(`{${prefix}:*}:fail`))[0] ?? ''}`;
      expect(await redis.pttl(failKey)).toBeGreaterThan(0);
      await until(async () => (await redis.exists(failKey)) === 0);
      await sleep(20);
      const later = await burst(fleet, 50);
      expect(total(later)).toEqual({ E_INVALID_CREDENTIALS: 400 });
      expect(mock.stats.loginAttempts).toBe(2);
    });

    it.runIf(redisGate('the Redis outage test', hasRedisServer, privateMissing))(
      'with Redis stopped, calls keep succeeding (local logins, store_error); once it is back the fleet shares again',
      async () => {
        assertAvailable(hasRedisServer, privateMissing);
        const server = await startPrivateRedis();
        privates.push(server);
        const { mock } = await startFleetOn({ redisUrl: server.url });

        const before = await burst(fleet, 50);
        expect(total(before)).toEqual({ 200: 400 });
        expect(mock.stats.successfulLogins).toBe(1);
        await events();

        await server.stop();
        await Promise.all(fleet.map((worker) => worker.connection(false)));
        mock.revokeTokens();
        mock.resetStats();
        const during = await burst(fleet, 50);
        expect(total(during)).toEqual({ 200: 400 });
        // Every instance logged in on its own, once, and said why.
        expect(mock.stats.successfulLogins).toBe(fleetSize);
        const seen = await events();
        expect(seen['login:login']).toBe(fleetSize);
        expect(seen['store_error:get']).toBe(fleetSize);

        await server.start();
        await Promise.all(fleet.map((worker) => worker.connection(true)));
        mock.revokeTokens();
        mock.resetStats();
        const after = await burst(fleet, 50);
        expect(total(after)).toEqual({ 200: 400 });
        expect({ logins: mock.stats.successfulLogins, events: await events() }).toMatchObject({
          logins: 1,
          events: { 'login:login': 1, 'login:store': fleetSize - 1 },
        });
        console.info(
          `[redis outage] slowest burst of 50 calls per process: up ${max(before)} ms, down ${max(during)} ms, back ${max(after)} ms`,
        );
      },
    );
  },
);

const max = (results: CallsResult[]) => Math.round(Math.max(...results.map((r) => r.durationMs)));
