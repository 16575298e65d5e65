import { createApiClient, type ApiClient, type TokenFetchEvent } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, libraries, type Connection } from './helpers/clients.js';
import {
  assertAvailable,
  commandStats,
  deletePrefix,
  freePort,
  hasRedisServer,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  startPrivateRedis,
  startSlowProxy,
  type PrivateRedis,
  type SlowProxy,
  uniquePrefix,
} from './helpers/redis.js';

const up = await probeRedis(redisUrl);
const privateMissing = 'no redis-server on PATH for a private Redis to count commands on';
const timeoutMs = 250;

describe.runIf(redisGate('@tokenfetch/redis latency tests', up, missingRedis))(
  'a slow, hung or missing Redis',
  () => {
    let mock: MockUpstream;
    let proxy: SlowProxy;
    const cleanup: Array<() => unknown> = [];
    const prefixes: string[] = [];

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      mock = await startMockUpstream();
      proxy = await startSlowProxy(Number(new URL(redisUrl).port || 6379));
    });

    afterAll(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
      await proxy?.close();
      await mock?.close();
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
    });

    function clientOn(
      connection: Connection,
      options: { fetch?: typeof globalThis.fetch; commandTimeoutMs?: number } = {},
    ): { client: ApiClient; events: TokenFetchEvent[] } {
      const prefix = uniquePrefix('slow');
      prefixes.push(prefix);
      const events: TokenFetchEvent[] = [];
      const client = createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
        store: new RedisTokenStore({
          redis: connection.redis,
          prefix,
          commandTimeoutMs: options.commandTimeoutMs,
        }),
        onEvent: (event) => events.push(event),
        fetch: options.fetch ?? globalThis.fetch,
      });
      cleanup.push(() => client.close());
      return { client, events };
    }

    async function timedCall(client: ApiClient): Promise<number> {
      const started = performance.now();
      const response = await client.fetch('/data/1');
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      return performance.now() - started;
    }

    describe.each(libraries)('with %s', (library) => {
      it('a Redis that answers late costs a cold call one command timeout, never a hang, and the next call sends Redis nothing', async () => {
        proxy.delayMs = 0;
        const connection = await connect(library, proxy.url);
        cleanup.push(() => connection.close());

        const healthy = clientOn(connection);
        const withRedisMs = await timedCall(healthy.client);
        expect(healthy.events.filter((event) => event.type === 'store_error')).toEqual([]);

        proxy.delayMs = 5_000; // every answer from now on comes 5 s late
        const slow = clientOn(connection);
        const beforeCold = proxy.evals;
        const slowMs = await timedCall(slow.client);
        const beforeHot = proxy.evals;
        const hotMs = await timedCall(slow.client);
        const afterHot = proxy.evals;
        proxy.delayMs = 0;

        // One command, given up after the timeout; then a login without Redis.
        expect(beforeHot - beforeCold).toBe(1);
        expect(slow.events).toContainEqual(
          expect.objectContaining({
            type: 'store_error',
            operation: 'get',
            message: `redis get timed out after ${timeoutMs} ms`,
          }),
        );
        expect(slow.events).toContainEqual(
          expect.objectContaining({ type: 'login', source: 'login' }),
        );
        expect(slowMs).toBeGreaterThanOrEqual(timeoutMs - 5);
        // Waiting for the answer would take 5 s.
        expect(slowMs).toBeLessThan(withRedisMs + timeoutMs + 1_500);
        expect(afterHot - beforeHot).toBe(0); // the token is at hand: Redis is not asked
        console.info(
          `[${library}] cold call: ${Math.round(withRedisMs)} ms with Redis, ${Math.round(slowMs)} ms with Redis answering 5 s late; next call ${Math.round(hotMs)} ms`,
        );
      });

      it('gives back a login lock whose acquire answered after the timeout', async () => {
        proxy.delayMs = 0;
        const connection = await connect(library, proxy.url);
        cleanup.push(() => connection.close());
        const prefix = uniquePrefix('late');
        prefixes.push(prefix);
        const store = new RedisTokenStore({ redis: connection.redis, prefix });
        const lockKey = `{${prefix}:k}:lock`;
        const raw = new Redis(redisUrl);
        cleanup.push(() => raw.disconnect());

        proxy.delayMs = 600; // Redis runs the command at once; its answer comes too late
        await expect(store.acquire('k')).rejects.toThrow(
          `redis acquire timed out after ${timeoutMs} ms`,
        );
        expect(await raw.pttl(lockKey)).toBeGreaterThan(20_000); // taken, for lockTtlMs
        const deadline = Date.now() + 5_000;
        while ((await raw.exists(lockKey)) === 1 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        proxy.delayMs = 0;
        expect(await raw.exists(lockKey)).toBe(0); // released as soon as the answer came
      });

      it('a Redis that is down costs a cold call no command timeout: nothing is sent, the client logs in on its own', async () => {
        // Nothing listens on this port: the client keeps reconnecting in the background.
        const down = await connect(library, `redis://127.0.0.1:${await freePort()}`, false);
        cleanup.push(() => down.close());

        // A store that sent (or queued) a command would wait a minute for it.
        const { client, events } = clientOn(down, { commandTimeoutMs: 60_000 });
        const downMs = await timedCall(client);

        expect(events[0]).toMatchObject({ type: 'store_error', operation: 'get' });
        expect(String((events[0] as { message?: string }).message)).toMatch(
          /^redis get failed: redis is not connected/,
        );
        expect(events).toContainEqual(expect.objectContaining({ type: 'login', source: 'login' }));
        expect(downMs).toBeLessThan(5_000);
        console.info(`[${library}] cold call with Redis down: ${Math.round(downMs)} ms`);
      });
    });

    describe.runIf(redisGate('the hot-path command count', hasRedisServer, privateMissing))(
      'the hot path',
      () => {
        let server: PrivateRedis;
        beforeAll(async () => {
          assertAvailable(hasRedisServer, privateMissing);
          server = await startPrivateRedis();
          cleanup.push(() => server.stop());
        });

        it.each(libraries)(
          '10,000 calls with a fresh token send no command to Redis (%s)',
          async (library) => {
            const connection = await connect(library, server.url);
            cleanup.push(() => connection.close());
            // The login goes to the mock upstream; the 10,000 calls are answered in-process,
            // so the test measures tokenfetch and Redis, not an HTTP server.
            const { client } = clientOn(connection, {
              fetch: (input, init) =>
                String(input).endsWith('/user/authenticate')
                  ? fetch(input, init)
                  : Promise.resolve(new Response('{}', { status: 200 })),
            });
            await timedCall(client); // logs in, through Redis

            const before = await commandStats(server.url);
            let ok = 0;
            for (let round = 0; round < 100; round++) {
              const responses = await Promise.all(
                Array.from({ length: 100 }, () => client.fetch('/data/1')),
              );
              for (const response of responses) {
                if (response.status === 200) ok++;
                await response.arrayBuffer();
              }
            }
            const after = await commandStats(server.url);

            const sent = [...after]
              .map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const)
              .filter(([name, calls]) => name !== 'info' && calls > 0);
            expect(ok).toBe(10_000);
            expect(sent).toEqual([]);
            console.info(`[${library}] Redis commands during 10,000 hot calls: ${sent.length}`);
          },
          60_000,
        );
      },
    );
  },
);
