import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { inspect } from 'node:util';
import {
  ConfigError,
  type SharedFailure,
  type StoredToken,
  type TokenLease,
} from '@tokenfetch/core';
import {
  RedisTokenStore,
  type RedisClientLike,
  type RedisTokenStoreOptions,
} from '@tokenfetch/redis';
import { Cluster, Redis } from 'ioredis';
import { Cluster as ClusterV6 } from 'ioredis-v6';
import { createCluster } from 'redis';
import { createCluster as createClusterV4 } from 'redis-v4';
import { createCluster as createClusterV6 } from 'redis-v6';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  libraries,
  unconnected,
  type Connection,
  type Library,
} from './helpers/clients.js';
import {
  assertAvailable,
  deletePrefix,
  hasRedisServer,
  keysOf,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  startPrivateRedis,
  type PrivateRedis,
  uniquePrefix,
} from './helpers/redis.js';

const up = await probeRedis(redisUrl);

const key = 'a'.repeat(64); // what core passes: a sha256 in hex
const secretToken = 'tok-SECRET-0123456789abcdef';

function token(lifeMs = 60_000, value = secretToken): Omit<StoredToken, 'generation'> {
  const issuedAt = Date.now();
  return { token: value, issuedAt, expiresAt: issuedAt + lifeMs };
}

const keyA = randomBytes(32);
const keyB = randomBytes(32);

describe.runIf(redisGate('@tokenfetch/redis store tests', up, missingRedis))(
  'RedisTokenStore',
  () => {
    // Inspects and rigs Redis directly, whatever client the store under test uses.
    let raw: Redis;
    const connections = new Map<Library, Connection>();
    const prefixes: string[] = [];

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      raw = new Redis(redisUrl);
      for (const library of libraries) connections.set(library, await connect(library, redisUrl));
    });

    afterAll(async () => {
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
      raw?.disconnect();
      for (const connection of connections.values()) connection.close();
    });

    function storeOn(
      library: Library,
      options: Partial<RedisTokenStoreOptions> = {},
    ): { store: RedisTokenStore; prefix: string; keys: ReturnType<typeof keysOf> } {
      const prefix = options.prefix ?? uniquePrefix(library);
      prefixes.push(prefix);
      const store = new RedisTokenStore({
        redis: connections.get(library)!.redis,
        ...options,
        prefix,
      });
      return { store, prefix, keys: keysOf(prefix, key) };
    }

    async function leaseOf(store: RedisTokenStore): Promise<TokenLease> {
      const lease = await store.acquire(key);
      if (lease === undefined) throw new Error('expected a lease');
      return lease;
    }

    describe.each(libraries)('with %s', (library) => {
      it('stores a token under {prefix:key}:token with its generation and remaining life', async () => {
        const { store, keys } = storeOn(library);
        expect(await store.get(key)).toBeUndefined();

        const lease = await leaseOf(store);
        expect(await store.commit(lease, token(60_000))).toBe(true);

        expect(await store.get(key)).toMatchObject({
          token: secretToken,
          generation: lease.generation,
        });
        const ttl = await raw.pttl(keys.token);
        expect(ttl).toBeGreaterThan(58_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
        expect(await raw.exists(keys.lock)).toBe(0); // commit released the lock
        expect(Number(await raw.get(keys.gen))).toBe(lease.generation);
      });

      it('reads a token’s times on its own clock, from the key’s TTL, not the writer’s clock', async () => {
        const {
          store: writer,
          prefix,
          keys,
        } = storeOn(library, { now: () => Date.now() - 3_600_000 });
        const reader = storeOn(library, { prefix, now: () => Date.now() + 3_600_000 }).store;
        const issuedAt = Date.now() - 3_600_000;
        await writer.commit(await leaseOf(writer), {
          token: secretToken,
          issuedAt,
          expiresAt: issuedAt + 60_000,
        });

        const read = await reader.get(key);
        const left = read!.expiresAt - (Date.now() + 3_600_000);
        expect(left).toBeGreaterThan(55_000);
        expect(left).toBeLessThanOrEqual(60_000);
        expect(read!.expiresAt - read!.issuedAt).toBe(60_000);

        await raw.persist(keys.token); // no store writes a token without its expiry
        expect(await reader.get(key)).toBeUndefined();
      });

      it('lends the login lock to one holder at a time, for lockTtlMs', async () => {
        const { store, keys } = storeOn(library, { lockTtlMs: 2_000 });
        const first = await leaseOf(store);
        expect(await store.acquire(key)).toBeUndefined();
        const ttl = await raw.pttl(keys.lock);
        expect(ttl).toBeGreaterThan(1_500);
        expect(ttl).toBeLessThanOrEqual(2_000);
        expect(await raw.get(keys.lock)).toBe(first.id);

        await store.release(first);
        const second = await leaseOf(store);
        expect(second.generation).toBeGreaterThan(first.generation);
        expect(second.id).not.toBe(first.id);
      });

      it('every key it writes expires: the counter with its lock, then with the token written under it', async () => {
        const { store, keys } = storeOn(library, { lockTtlMs: 2_000 });
        const lease = await leaseOf(store);
        const counterTtl = await raw.pttl(keys.gen);
        expect(counterTtl).toBeGreaterThan(1_500);
        expect(counterTtl).toBeLessThanOrEqual(2_000);

        await store.commit(lease, token(60_000));
        for (const name of [keys.token, keys.gen]) {
          const ttl = await raw.pttl(name);
          expect(ttl).toBeGreaterThan(58_000);
          expect(ttl).toBeLessThanOrEqual(60_000);
        }

        // The next lease keeps the counter for the stored token's life, not just its lock's.
        await store.release(await leaseOf(store), {
          code: 'E_INVALID_CREDENTIALS',
          until: Date.now() + 1_000,
        });
        expect(await raw.pttl(keys.gen)).toBeGreaterThan(58_000);
        expect(await raw.pttl(keys.fail)).toBeGreaterThan(0);
        expect(await raw.pttl(keys.fail)).toBeLessThanOrEqual(1_000);
        expect(await raw.exists(keys.lock)).toBe(0);
      });

      it('gives a counter left without a TTL (by an earlier version) one at the next lease and commit', async () => {
        const { store, keys } = storeOn(library, { lockTtlMs: 2_000 });
        await raw.set(keys.gen, '41');
        const lease = await leaseOf(store);
        expect(lease.generation).toBe(42);
        expect(await raw.pttl(keys.gen)).toBeGreaterThan(0);
        await raw.persist(keys.gen);
        await store.commit(lease, token(60_000));
        expect(await raw.pttl(keys.gen)).toBeGreaterThan(58_000);
      });

      it('refuses a stale leader’s late write after its counter and lock have both expired', async () => {
        const { store, keys } = storeOn(library, { lockTtlMs: 100 });
        const stale = await leaseOf(store);
        await new Promise((resolve) => setTimeout(resolve, 150));
        expect(await raw.exists(keys.gen, keys.lock)).toBe(0); // the counter starts over
        const fresh = await leaseOf(store);
        expect(fresh.generation).toBeGreaterThan(stale.generation);
        expect(await store.commit(fresh, token(60_000, 'fresh-token'))).toBe(true);

        expect(await store.commit(stale, token(60_000, 'stale-token'))).toBe(false);
        expect(await store.get(key)).toMatchObject({ token: 'fresh-token' });
      });

      it('gives a dead holder’s lock to another once it expires', async () => {
        const { store } = storeOn(library, { lockTtlMs: 100 });
        const dead = await leaseOf(store);
        expect(await store.acquire(key)).toBeUndefined();
        await new Promise((resolve) => setTimeout(resolve, 150));
        const next = await leaseOf(store);
        expect(next.generation).toBeGreaterThan(dead.generation);
      });

      it('releases only its own lock (compare-and-delete)', async () => {
        const { store, keys } = storeOn(library, { lockTtlMs: 100 });
        const stale = await leaseOf(store);
        await new Promise((resolve) => setTimeout(resolve, 150));
        const current = await leaseOf(store);

        await store.release(stale);
        expect(await raw.get(keys.lock)).toBe(current.id);
        expect(await store.commit(stale, token())).toBe(true); // nothing newer stored yet
        expect(await raw.get(keys.lock)).toBe(current.id);
      });

      it('refuses a stale leader’s late write: the newer generation stays', async () => {
        const { store } = storeOn(library, { lockTtlMs: 100 });
        const stale = await leaseOf(store);
        await new Promise((resolve) => setTimeout(resolve, 150)); // its lock expires
        const fresh = await leaseOf(store);
        expect(await store.commit(fresh, token(60_000, 'fresh-token'))).toBe(true);

        expect(await store.commit(stale, token(60_000, 'stale-token'))).toBe(false);
        expect(await store.get(key)).toMatchObject({
          token: 'fresh-token',
          generation: fresh.generation,
        });
      });

      it('invalidates a token only while it is still that generation', async () => {
        const { store } = storeOn(library);
        const first = await leaseOf(store);
        await store.commit(first, token(60_000, 'first-token'));
        const second = await leaseOf(store);
        await store.commit(second, token(60_000, 'second-token'));

        await store.invalidate(key, first.generation); // already replaced: no effect
        expect(await store.get(key)).toMatchObject({ token: 'second-token' });
        await store.invalidate(key, second.generation);
        expect(await store.get(key)).toBeUndefined();
      });

      it('after an invalidation, an older leader still cannot write; a newer one can', async () => {
        const { store } = storeOn(library, { lockTtlMs: 100 });
        const stale = await leaseOf(store);
        await new Promise((resolve) => setTimeout(resolve, 150));
        const rejected = await leaseOf(store);
        await store.commit(rejected, token());
        await store.invalidate(key, rejected.generation);

        expect(await store.commit(stale, token(60_000, 'stale-token'))).toBe(false);
        expect(await store.get(key)).toBeUndefined();
        const next = await leaseOf(store);
        expect(await store.commit(next, token(60_000, 'next-token'))).toBe(true);
        expect(await store.get(key)).toMatchObject({ token: 'next-token' });
      });

      it('keeps the strategy state written with a token (a sealed refresh token), and shares a dead grant (E_INVALID_GRANT)', async () => {
        const { store } = storeOn(library);
        await store.commit(await leaseOf(store), { ...token(), state: 'sealed-state-1' });
        expect(await store.get(key)).toMatchObject({ token: secretToken, state: 'sealed-state-1' });
        await store.release(await leaseOf(store), {
          code: 'E_INVALID_GRANT',
          until: Date.now() + 60_000,
        });
        expect(await store.getFailure(key)).toMatchObject({ code: 'E_INVALID_GRANT' });
        expect(await store.acquire(key)).toBeUndefined();
      });

      it('shares a 401/404 refusal for its cooldown and lends no lock meanwhile', async () => {
        const { store, keys } = storeOn(library);
        const lease = await leaseOf(store);
        const sentAt = Date.now();
        const until = sentAt + 1_000;
        await store.release(lease, { code: 'E_INVALID_CREDENTIALS', until });

        const shared = await store.getFailure(key);
        // Read back as now + the key's TTL: later than `until` by at most the time the two
        // commands spent on the way (a busy machine's event loop), plus Redis's rounding.
        const spent = Date.now() - sentAt;
        expect(shared).toEqual({ code: 'E_INVALID_CREDENTIALS', until: expect.any(Number) });
        expect(shared!.until).toBeGreaterThan(until - 200);
        expect(shared!.until).toBeLessThanOrEqual(until + spent + 1);
        const ttl = await raw.pttl(keys.fail);
        expect(ttl).toBeGreaterThan(800);
        expect(ttl).toBeLessThanOrEqual(1_000);
        expect(await raw.exists(keys.lock)).toBe(0);
        expect(await store.acquire(key)).toBeUndefined();

        await raw.del(keys.fail); // the cooldown is over
        const next = await leaseOf(store);
        await store.commit(next, token());
        expect(await store.getFailure(key)).toBeUndefined();
      });

      it('shares an E_LOGIN_FAILED failure (unusable answer, Retry-After) with its status and lends no lock meanwhile', async () => {
        const { store } = storeOn(library);
        const until = Date.now() + 60_000;
        await store.release(await leaseOf(store), {
          code: 'E_LOGIN_FAILED',
          until,
          status: 429,
          failures: 2,
        });

        expect(await store.getFailure(key)).toEqual({
          code: 'E_LOGIN_FAILED',
          until: expect.any(Number),
          status: 429,
          failures: 2,
        });
        expect(await store.acquire(key)).toBeUndefined();
      });

      it('ignores a refusal whose cooldown is already over, and deletes garbage in the fail key', async () => {
        const { store, keys } = storeOn(library);
        await store.release(await leaseOf(store), {
          code: 'E_NO_ACTIVE_ORG',
          until: Date.now() - 1,
        });
        expect(await raw.exists(keys.fail)).toBe(0);
        for (const garbage of ['not json', '[]', '{"code":"lowercase"}', '{"code":7}']) {
          await raw.set(keys.fail, garbage, 'PX', 60_000);
          expect(await store.getFailure(key)).toBeUndefined();
          expect(await raw.exists(keys.fail)).toBe(0);
        }
      });

      it('keeps a failure of a kind it does not share for the versions that do, and neither reports nor obeys it', async () => {
        const { store, keys } = storeOn(library);
        const later = JSON.stringify({ code: 'E_SOMETHING_NEW', status: 503, until: 1 });
        await raw.set(keys.fail, later, 'PX', 60_000);
        expect(await store.getFailure(key)).toBeUndefined();
        await store.release(await leaseOf(store));
        expect(await raw.get(keys.fail)).toBe(later);
      });

      it('records a failure with all its fields, and hands them back with the time left', async () => {
        const { store, keys } = storeOn(library);
        const until = Date.now() + 5_000;
        const failure = { code: 'E_NO_ACTIVE_ORG', until, detail: 'kept' } as SharedFailure;
        await store.release(await leaseOf(store), failure);
        // `until` stays in the value for instances of earlier versions, which read it.
        expect(JSON.parse((await raw.get(keys.fail)) ?? '')).toEqual(failure);
        expect(await store.getFailure(key)).toMatchObject({
          code: 'E_NO_ACTIVE_ORG',
          detail: 'kept',
        });
      });

      it('keeps generations newer than any before, even after Redis lost every key', async () => {
        const { store, prefix } = storeOn(library);
        const before = await leaseOf(store);
        await store.commit(before, token());
        await deletePrefix(redisUrl, prefix); // as a restart without persistence would

        const after = await leaseOf(store);
        expect(after.generation).toBeGreaterThan(before.generation);
      });

      it('keeps generations above the stored token’s if the counter alone was evicted', async () => {
        const { store, keys } = storeOn(library);
        const lease = await leaseOf(store);
        await store.commit(lease, token());
        await raw.set(keys.gen, '5');
        const next = await leaseOf(store);
        expect(next.generation).toBe(lease.generation + 1);
      });

      it('reads a malformed stored value, or a token key that is not a hash, as a miss', async () => {
        const { store, keys } = storeOn(library);
        const valid = { token: 'tok', issuedAt: 1, expiresAt: 2, generation: 3 };
        await raw.hset(keys.token, 'g', '3', 'v', JSON.stringify(valid));
        await raw.pexpire(keys.token, 60_000);
        expect(await store.get(key)).toMatchObject({ token: 'tok', generation: 3 });
        for (const value of [
          '',
          'nope',
          '{not json',
          '{"token":"tok"',
          '[]',
          '{"token":1}',
          JSON.stringify({ ...valid, token: 'a b' }),
          JSON.stringify({ ...valid, expiresAt: 1 }),
          JSON.stringify({ ...valid, issuedAt: -1 }),
          JSON.stringify({ ...valid, generation: 4 }),
          JSON.stringify({ ...valid, generation: 3.5 }),
        ]) {
          await raw.hset(keys.token, 'v', value);
          expect(await store.get(key)).toBeUndefined();
        }
        await raw.hset(keys.token, 'g', '0', 'v', JSON.stringify({ ...valid, generation: 0 }));
        expect(await store.get(key)).toBeUndefined();
        await raw.del(keys.token);
        await raw.set(keys.token, 'a string, not a hash');
        expect(await store.get(key)).toBeUndefined();
      });

      describe('with encryptionKeys', () => {
        it('stores AES-256-GCM ciphertext, not the token, with a fresh IV per write', async () => {
          const { store, keys } = storeOn(library, { encryptionKeys: { a: keyA } });
          await store.commit(await leaseOf(store), token());
          const first = (await raw.hget(keys.token, 'v')) ?? '';
          await store.commit(await leaseOf(store), token());
          const second = (await raw.hget(keys.token, 'v')) ?? '';

          for (const value of [first, second]) {
            expect(value).toMatch(/^enc1:a:[\w-]{16}:[\w-]+$/);
            expect(value).not.toContain(secretToken);
            expect(
              Buffer.from(value.split(':')[3] ?? '', 'base64url').toString('latin1'),
            ).not.toContain(secretToken);
          }
          expect(first.split(':')[2]).not.toBe(second.split(':')[2]);
          expect(await store.get(key)).toMatchObject({ token: secretToken });
        });

        it('reads a tampered value, an unknown key id or a value moved to another key as a miss', async () => {
          const { store, keys, prefix } = storeOn(library, { encryptionKeys: { a: keyA } });
          const lease = await leaseOf(store);
          await store.commit(lease, token());
          const value = (await raw.hget(keys.token, 'v')) ?? '';
          const [, , iv, sealed = ''] = value.split(':');
          const g = String(lease.generation);

          const flipped = `${sealed[0] === 'A' ? 'B' : 'A'}${sealed.slice(1)}`;
          await raw.hset(keys.token, 'v', `enc1:a:${iv}:${flipped}`);
          expect(await store.get(key)).toBeUndefined();

          await raw.hset(keys.token, 'v', value.replace('enc1:a:', 'enc1:zz:'));
          expect(await store.get(key)).toBeUndefined();

          const other = `{${prefix}:${'b'.repeat(64)}}:token`;
          await raw.hset(other, 'g', g, 'v', value);
          expect(await store.get('b'.repeat(64))).toBeUndefined();

          const stranger = storeOn(library, { prefix, encryptionKeys: { a: keyB } }).store;
          await raw.hset(keys.token, 'v', value);
          expect(await stranger.get(key)).toBeUndefined();
          expect(await store.get(key)).toMatchObject({ token: secretToken });
        });

        it('rotates keys: the new first key encrypts, the old one still decrypts', async () => {
          const { store: old, keys, prefix } = storeOn(library, { encryptionKeys: { a: keyA } });
          await old.commit(await leaseOf(old), token(60_000, 'written-with-a'));

          const rotated = storeOn(library, {
            prefix,
            encryptionKeys: { b: keyB.toString('base64'), a: keyA },
          }).store;
          expect(await rotated.get(key)).toMatchObject({ token: 'written-with-a' });

          await rotated.commit(await leaseOf(rotated), token(60_000, 'written-with-b'));
          expect(await raw.hget(keys.token, 'v')).toMatch(/^enc1:b:/);
          expect(await rotated.get(key)).toMatchObject({ token: 'written-with-b' });
          expect(await old.get(key)).toBeUndefined(); // an instance without key b misses
        });

        it('does not read plain values, and a plain store does not read sealed ones', async () => {
          const { store: plain, prefix } = storeOn(library);
          await plain.commit(await leaseOf(plain), token());
          const sealed = storeOn(library, { prefix, encryptionKeys: { a: keyA } }).store;
          expect(await sealed.get(key)).toBeUndefined();

          await sealed.commit(await leaseOf(sealed), token());
          expect(await plain.get(key)).toBeUndefined();
        });
      });
    });

    describe('waits only for a first connection, within the command timeout', () => {
      it('fails at once when an ioredis client is refused, without queueing', async () => {
        const offline = new Redis('redis://127.0.0.1:1', {
          lazyConnect: true,
          retryStrategy: () => null,
        });
        offline.on('error', () => {});
        const store = new RedisTokenStore({
          redis: offline,
          prefix: uniquePrefix('off'),
          commandTimeoutMs: 5_000,
        });
        const started = performance.now();
        // The lazy client is connected by the first command, refused, and not waited for.
        await expect(store.get(key)).rejects.toThrow(
          /^redis get failed: redis is not connected \((close|end)\)$/,
        );
        await expect(store.acquire(key)).rejects.toThrow(
          /redis acquire failed: redis is not connected/,
        );
        expect(performance.now() - started).toBeLessThan(1_000);
        offline.disconnect();
      });

      it('connects a lazyConnect ioredis client at its first command, and waits for it', async () => {
        const lazy = new Redis(redisUrl, { lazyConnect: true });
        lazy.on('error', () => {});
        const store = new RedisTokenStore({ redis: lazy, prefix: uniquePrefix('lazy') });
        expect(lazy.status).toBe('wait');
        expect(await store.get(key)).toBeUndefined();
        expect(lazy.status).toBe('ready');
        lazy.disconnect();
      });

      it.each(['ioredis', 'node-redis'] as const)(
        'a fresh %s client still connecting is waited for: the first command goes through',
        async (library) => {
          const { redis, close } = await connect(library, redisUrl, false);
          try {
            const store = new RedisTokenStore({ redis, prefix: uniquePrefix('fresh') });
            const ready = () =>
              'status' in redis ? redis.status === 'ready' : (redis.isReady ?? false);
            expect(ready()).toBe(false);
            const lease = await store.acquire(key);
            expect(lease?.generation).toBeGreaterThan(0);
            await store.release(lease!);
          } finally {
            close();
          }
        },
      );

      it.each(['ioredis', 'node-redis'] as const)(
        'with %s, a connection that never becomes ready is waited for no longer than the command timeout',
        async (library) => {
          // A server that accepts and never answers: the client's handshake never ends.
          const sockets = new Set<Socket>();
          const silent = createServer((socket) => void sockets.add(socket));
          await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
          const { port } = silent.address() as AddressInfo;
          const { redis, close } = await connect(library, `redis://127.0.0.1:${port}`, false);
          try {
            const store = new RedisTokenStore({
              redis,
              prefix: uniquePrefix('silent'),
              commandTimeoutMs: 300,
            });
            const started = performance.now();
            const outcomes = await Promise.allSettled([store.get(key), store.acquire(key)]);
            const elapsed = performance.now() - started;
            expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
            expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(
              /redis get failed: redis is not connected \(connect(ing)?\)/,
            );
            expect(elapsed).toBeGreaterThanOrEqual(290);
            expect(elapsed).toBeLessThan(3_000);
          } finally {
            close();
            for (const socket of sockets) socket.destroy();
            silent.close();
          }
        },
      );

      it.each(['node-redis', 'node-redis v4', 'node-redis v6'] as const)(
        'fails at once while a %s client is not connected, and leaves it unconnected',
        async (library) => {
          const closed = unconnected(library, redisUrl);
          const store = new RedisTokenStore({ redis: closed, prefix: uniquePrefix('off') });
          await expect(store.get(key)).rejects.toThrow(
            'redis get failed: redis is not connected (closed)',
          );
          expect((closed as { isOpen: boolean }).isOpen).toBe(false);
        },
      );

      it('says what failed without any value it sent', async () => {
        // A Redis error that quotes the script's arguments (the token travels in them), the
        // value across the point where the message is cut.
        const echoing = {
          status: 'ready',
          eval: (...args: unknown[]) =>
            Promise.reject(
              new Error(`ERR ${'x'.repeat(140)} ${args.slice(-3).join(' ')}\nsecond line`),
            ),
        };
        const store = new RedisTokenStore({ redis: echoing, prefix: uniquePrefix('echo') });
        const lease: TokenLease = { key: key, generation: 7, id: 'lease-id-0123456789' };
        const error: unknown = await store.commit(lease, token()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Error);
        const message = (error as Error).message;
        expect(message).toMatch(/^redis commit failed: ERR x+ \[redacted\]/);
        expect(message).not.toContain('second line');
        expect(inspect(error, { depth: 5 })).not.toMatch(/SECRET|tok-/);
        expect(inspect(error, { depth: 5 })).not.toContain(lease.id);
        expect((error as Error).cause).toBeUndefined();
      });
    });
  },
);

const clusterMissing = 'no redis-server on PATH for a one-node Redis Cluster';

describe.runIf(redisGate('the Redis Cluster test', hasRedisServer, clusterMissing))(
  'RedisTokenStore on Redis Cluster',
  () => {
    let server: PrivateRedis;
    beforeAll(async () => {
      assertAvailable(hasRedisServer, clusterMissing);
      server = await startPrivateRedis({ cluster: true });
    });
    afterAll(() => server?.stop());

    it('refuses scripts whose keys span slots (so the next test means something)', async () => {
      const redis = new Redis(server.url);
      await expect(redis.eval('return 1', 2, '{a}:x', '{b}:y')).rejects.toThrow(/CROSSSLOT/);
      redis.disconnect();
    });

    /** A connected cluster client of one library, and how to drop it. */
    async function clusterOf(kind: string): Promise<{ redis: RedisClientLike; close(): void }> {
      if (kind === 'ioredis Cluster' || kind === 'ioredis v6 Cluster') {
        const nodes = [{ host: '127.0.0.1', port: server.port }];
        const cluster = kind === 'ioredis Cluster' ? new Cluster(nodes) : new ClusterV6(nodes);
        await new Promise((resolve) => cluster.once('ready', resolve));
        return { redis: cluster, close: () => cluster.disconnect() };
      }
      if (kind === 'node-redis createCluster' || kind === 'node-redis v6 createCluster') {
        const options = { rootNodes: [{ url: server.url }] };
        const cluster =
          kind === 'node-redis createCluster' ? createCluster(options) : createClusterV6(options);
        cluster.on('error', () => {});
        await cluster.connect();
        return { redis: cluster, close: () => cluster.destroy() };
      }
      const cluster = createClusterV4({ rootNodes: [{ url: server.url }] });
      cluster.on('error', () => {});
      await cluster.connect();
      return { redis: cluster, close: () => void cluster.disconnect().catch(() => {}) };
    }

    it.each([
      'ioredis Cluster',
      'ioredis v6 Cluster',
      'node-redis createCluster',
      'node-redis v4 createCluster',
      'node-redis v6 createCluster',
    ])('runs every operation with its keys on one slot (%s)', async (kind) => {
      const { redis, close } = await clusterOf(kind);
      try {
        const store = new RedisTokenStore({
          redis,
          prefix: uniquePrefix('cluster'),
          encryptionKeys: { a: keyA },
        });
        const lease = await store.acquire(key);
        expect(lease).toBeDefined();
        expect(await store.commit(lease!, token())).toBe(true);
        expect(await store.get(key)).toMatchObject({
          token: secretToken,
          generation: lease!.generation,
        });
        await store.invalidate(key, lease!.generation);
        expect(await store.get(key)).toBeUndefined();
        const next = await store.acquire(key);
        await store.release(next!, { code: 'E_NO_ACTIVE_ORG', until: Date.now() + 1_000 });
        expect(await store.getFailure(key)).toMatchObject({ code: 'E_NO_ACTIVE_ORG' });
      } finally {
        close();
      }
    });
  },
);

describe('RedisTokenStore options', () => {
  const client = { status: 'ready', eval: () => Promise.resolve(null) } as unknown as Redis;

  it('lists every problem in one ConfigError, without key material', () => {
    const secretKey = Buffer.alloc(31, 7).toString('base64');
    let error: unknown;
    try {
      new RedisTokenStore({
        redis: {} as Redis,
        prefix: '{bad}',
        lockTtlMs: -1,
        commandTimeoutMs: 1.5,
        encryptionKeys: { short: secretKey, '2024': randomBytes(32), 'has space': randomBytes(32) },
        ttl: 5,
        now: 5,
      } as unknown as RedisTokenStoreOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((issue) => issue.path);
    expect(issues).toEqual([
      'ttl',
      'redis',
      'prefix',
      'lockTtlMs',
      'commandTimeoutMs',
      'encryptionKeys.2024',
      'encryptionKeys.short',
      'encryptionKeys.has space',
      'now',
    ]);
    expect((error as Error).message).toContain('redis: must be an ioredis instance');
    expect((error as Error).message).not.toContain(secretKey);
  });

  it('wants at least one key, and keys of 32 bytes', () => {
    expect(() => new RedisTokenStore({ redis: client, encryptionKeys: {} })).toThrow(
      'encryptionKeys: must hold at least one key',
    );
    expect(
      () => new RedisTokenStore({ redis: client, encryptionKeys: { a: new Uint8Array(16) } }),
    ).toThrow('encryptionKeys.a: must be a 32-byte key');
    expect(
      () => new RedisTokenStore({ redis: client, encryptionKeys: { a: new Uint8Array(32) } }),
    ).not.toThrow();
  });

  it('applies the defaults and keeps the client and keys out of inspect and JSON', () => {
    const store = new RedisTokenStore({ redis: client, encryptionKeys: { a: keyA } });
    expect(store.lockTtlMs).toBe(30_000);
    expect(JSON.stringify(store)).toBe('{"lockTtlMs":30000}');
    expect(inspect(store, { depth: 5 })).not.toContain(keyA.toString('hex').slice(0, 8));
    expect(inspect(store, { depth: 5 })).not.toContain('eval');
  });

  it('asks a Cluster client whose scripts stall to read its slot map again, at most once a second, and only while it is connected', async () => {
    let refreshes = 0;
    const cluster = {
      status: 'ready',
      eval: () => new Promise(() => {}), // a frozen master: no answer, ever
      refreshSlotsCache: () => refreshes++,
    };
    const store = new RedisTokenStore({ redis: cluster, commandTimeoutMs: 5 });
    for (let i = 0; i < 5; i++) {
      await expect(store.get(key)).rejects.toThrow('redis get timed out after 5 ms');
    }
    expect(refreshes).toBe(1);

    const failing = { ...cluster, eval: () => Promise.reject(new Error('Connection is closed.')) };
    await expect(new RedisTokenStore({ redis: failing }).get(key)).rejects.toThrow('closed');
    expect(refreshes).toBe(2);

    const reconnecting = { ...cluster, status: 'reconnecting' };
    await expect(new RedisTokenStore({ redis: reconnecting }).get(key)).rejects.toThrow(
      'not connected (reconnecting)',
    );
    expect(refreshes).toBe(2);
  });

  it('waits for a client that is connecting until it has been ready once, and never after', async () => {
    // A client that emits nothing: the store reads its status while it waits.
    const fresh = { status: 'connecting', eval: () => Promise.resolve(null) };
    const store = new RedisTokenStore({ redis: fresh, commandTimeoutMs: 5_000 });
    const connected = setTimeout(() => (fresh.status = 'ready'), 50);
    const started = performance.now();
    expect(await store.get(key)).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    clearTimeout(connected);

    // Connecting again after it was ready: Redis went away; nothing waits for it.
    fresh.status = 'connecting';
    const again = performance.now();
    await expect(store.get(key)).rejects.toThrow(
      'redis get failed: redis is not connected (connecting)',
    );
    expect(performance.now() - again).toBeLessThan(45);
  });

  it('accepts a node-redis client shape and an ioredis one, nothing else', () => {
    const nodeShaped = { isOpen: true, isReady: true, eval: () => Promise.resolve(null) };
    expect(() => new RedisTokenStore({ redis: nodeShaped })).not.toThrow();
    expect(() => new RedisTokenStore({ redis: client })).not.toThrow();
    expect(() => new RedisTokenStore({ redis: { eval() {} } as unknown as Redis })).toThrow(
      ConfigError,
    );
    expect(() => new RedisTokenStore(undefined as unknown as RedisTokenStoreOptions)).toThrow(
      ConfigError,
    );
  });
});
