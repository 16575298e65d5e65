import { createApiClient, type StoredToken, type TokenFetchEvent } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, libraries, type Connection } from './helpers/clients.js';
import { countingStore } from './helpers/counting-store.js';
import {
  assertAvailable,
  deletePrefix,
  keysOf,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  uniquePrefix,
} from './helpers/redis.js';

// Keys a store did not write, or wrote and someone changed: each must cost no waiting and
// at most the one login a miss costs, and the next write repairs it. Before, each made a
// script fail after it had taken the login lock (every instance then waited for it), or
// refused the lock for as long as the value stayed.

const up = await probeRedis(redisUrl);
const key = 'c'.repeat(64);

type Keys = ReturnType<typeof keysOf>;

/** One way a key can be bad; `apply` runs after the stored token was dropped. */
interface Poison {
  name: string;
  apply(raw: Redis, keys: Keys): Promise<unknown>;
}

const poisons: Poison[] = [
  {
    name: 'a non-numeric generation in the token hash',
    apply: (raw, keys) => raw.hset(keys.token, 'g', 'abc'),
  },
  {
    name: 'a generation in the token hash too large to be one',
    apply: (raw, keys) => raw.hset(keys.token, 'g', '99999999999999999999'),
  },
  {
    name: 'a token key that is not a hash',
    apply: async (raw, keys) => {
      await raw.del(keys.token);
      await raw.set(keys.token, 'not a hash');
    },
  },
  {
    name: 'text in the generation counter',
    apply: (raw, keys) => raw.set(keys.gen, 'abc'),
  },
  {
    name: 'a generation counter that INCR would overflow',
    apply: (raw, keys) => raw.set(keys.gen, '9223372036854775807'),
  },
  {
    name: 'a generation counter that is not a string',
    apply: async (raw, keys) => {
      await raw.del(keys.gen);
      await raw.hset(keys.gen, 'x', '1');
    },
  },
  {
    name: 'an unparseable value at :fail, without a TTL',
    apply: (raw, keys) => raw.set(keys.fail, 'not json'),
  },
  {
    name: 'a record without a code at :fail',
    apply: (raw, keys) => raw.set(keys.fail, '{"until":1}', 'PX', 60_000),
  },
  {
    name: 'a :fail key that is not a string',
    apply: (raw, keys) => raw.hset(keys.fail, 'code', 'E_INVALID_CREDENTIALS'),
  },
  {
    name: 'a refusal at :fail that never expires',
    apply: (raw, keys) =>
      raw.set(keys.fail, JSON.stringify({ code: 'E_INVALID_CREDENTIALS', until: 1 })),
  },
  {
    name: 'a login lock that never expires',
    apply: (raw, keys) => raw.set(keys.lock, 'nobody'),
  },
];

const named = poisons.map((poison) => [poison.name, poison] as const);

function token(value: string): Omit<StoredToken, 'generation'> {
  const issuedAt = Date.now();
  return { token: value, issuedAt, expiresAt: issuedAt + 60_000 };
}

/** What a repaired set of keys looks like: a token, its generation, no lock, no failure. */
async function expectRepaired(raw: Redis, keys: Keys): Promise<void> {
  const generation = await raw.hget(keys.token, 'g');
  expect(generation).toMatch(/^[1-9]\d*$/);
  expect(await raw.get(keys.gen)).toBe(generation);
  expect(await raw.hexists(keys.token, 'v')).toBe(1);
  expect(await raw.exists(keys.lock)).toBe(0);
  expect(await raw.exists(keys.fail)).toBe(0);
}

describe.runIf(redisGate('@tokenfetch/redis poisoned-key tests', up, missingRedis))(
  'poisoned keys',
  () => {
    let raw: Redis;
    const connections: Connection[] = [];
    const prefixes: string[] = [];

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      raw = new Redis(redisUrl);
      for (const library of libraries) connections.push(await connect(library, redisUrl));
    });

    afterAll(async () => {
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
      for (const connection of connections) connection.close();
      raw?.disconnect();
    });

    function newPrefix(label: string): string {
      const prefix = uniquePrefix(label);
      prefixes.push(prefix);
      return prefix;
    }

    describe.each(libraries.map((library, index) => [library, index] as const))(
      'in the store, with %s',
      (_library, index) => {
        it.each(named)(
          '%s: the lock is lent at once, the write is accepted and repairs it',
          async (_name, poison) => {
            const prefix = newPrefix('poison');
            const keys = keysOf(prefix, key);
            const store = new RedisTokenStore({ redis: connections[index]!.redis, prefix });
            const first = await store.acquire(key);
            expect(first).toBeDefined();
            await store.commit(first!, token('first-token'));
            await raw.hdel(keys.token, 'v'); // the token is gone: the next caller logs in
            await poison.apply(raw, keys);

            expect(await store.get(key)).toBeUndefined();
            expect(await store.getFailure(key)).toBeUndefined();
            const lease = await store.acquire(key);
            expect(lease).toBeDefined();
            expect(lease!.generation).toBeGreaterThan(first!.generation);
            expect(await store.commit(lease!, token('next-token'))).toBe(true);

            expect(await store.get(key)).toMatchObject({
              token: 'next-token',
              generation: lease!.generation,
            });
            await expectRepaired(raw, keys);
          },
        );
      },
    );

    describe('through createApiClient', () => {
      let mock: MockUpstream;
      beforeAll(async () => {
        mock = await startMockUpstream();
      });
      afterAll(() => mock?.close());

      it.each(named)(
        '%s costs no waiting and one login, and the next instance reads the repaired token',
        async (_name, poison) => {
          const prefix = newPrefix('poison-client');
          const instance = () => {
            const counted = countingStore(
              // Generous: a loaded machine must not pass for a slow Redis here.
              new RedisTokenStore({
                redis: connections[0]!.redis,
                prefix,
                commandTimeoutMs: 2_000,
              }),
            );
            const events: TokenFetchEvent[] = [];
            const client = createApiClient({
              baseUrl: mock.baseUrl,
              auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
              store: counted.store,
              // A client that waited for the lock would give up after 1 s + 2 s.
              loginTimeoutMs: 1_000,
              onEvent: (event) => events.push(event),
            });
            return { client, events, calls: counted.calls };
          };

          const first = instance();
          expect((await first.client.fetch('/user/users/me')).status).toBe(200);
          await first.client.close();
          const [tokenKey = ''] = await raw.keys(`{${prefix}:*}:token`);
          const keys = keysOf(prefix, tokenKey.slice(prefix.length + 2, -'}:token'.length));
          await raw.hdel(keys.token, 'v');
          await poison.apply(raw, keys);
          mock.resetStats();

          const second = instance();
          const third = instance();
          try {
            expect((await second.client.fetch('/user/users/me')).status).toBe(200);
            expect((await third.client.fetch('/user/users/me')).status).toBe(200);

            expect(mock.stats.loginAttempts).toBe(1);
            expect(second.calls.acquire).toBe(1); // the lock at once: no polling
            expect(third.calls.acquire).toBe(0);
            expect(third.events).toContainEqual(
              expect.objectContaining({ type: 'login', source: 'store' }),
            );
            const storeErrors = [...second.events, ...third.events].filter(
              (event) => event.type === 'store_error',
            );
            expect(storeErrors).toEqual([]);
            await expectRepaired(raw, keys);
          } finally {
            await second.client.close();
            await third.client.close();
          }
        },
      );
    });
  },
);
