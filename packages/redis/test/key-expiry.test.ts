import { createClientPool, sessionTokenAuth, type TokenFetchEvent } from '@tokenfetch/core';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertAvailable,
  deletePrefix,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  uniquePrefix,
} from './helpers/redis.js';

// Tenants come and go: a key the store wrote for one that never logs in again must not
// stay in Redis. Tokens here live 800 ms, the lock 500 ms and a refusal 2 s (long enough to
// be listed on a busy machine), so every key is gone 2 s after the last call.

const up = await probeRedis(redisUrl);
const tenants = 20;
const tokenLifeMs = 800;
const lockTtlMs = 500;
const cooldownMs = 2_000;

describe.runIf(redisGate('@tokenfetch/redis key expiry test', up, missingRedis))(
  'what the store leaves in Redis',
  () => {
    let raw: Redis;
    let mock: MockUpstream;
    const prefix = uniquePrefix('expiry');

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      raw = new Redis(redisUrl);
      mock = await startMockUpstream({
        users: Array.from({ length: tenants }, (_, i) => ({
          email: `tenant-${i}@expiry.test`,
          password: `pw-${i}`,
          orgs: [i + 1],
        })),
      });
    });

    afterAll(async () => {
      await mock?.close();
      await deletePrefix(redisUrl, prefix);
      raw?.disconnect();
    });

    it('after every token has expired, no key is left: not the tokens, counters, locks or refusals of tenants that logged in, were revoked or were refused', async () => {
      const redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      const events: TokenFetchEvent[] = [];
      const pool = createClientPool({
        store: new RedisTokenStore({ redis, prefix, lockTtlMs }),
        loginCooldownMs: cooldownMs,
        onEvent: (event) => events.push(event),
        resolve: (tenant) => {
          const i = Number(tenant);
          // The last tenant's password is wrong: its refusal is shared for the cooldown.
          const password = i === tenants - 1 ? 'wrong' : `pw-${i}`;
          const auth = { email: `tenant-${i}@expiry.test`, password, orgId: i + 1 };
          return { baseUrl: mock.baseUrl, auth: sessionTokenAuth({ ...auth, ttlMs: tokenLifeMs }) };
        },
      });
      const callAll = () =>
        Promise.all(
          Array.from({ length: tenants }, async (_, i) => {
            try {
              const response = await pool.client(String(i)).fetch('/data/1');
              await response.arrayBuffer();
              return String(response.status);
            } catch (error) {
              return (error as { code?: string }).code ?? 'error';
            }
          }),
        );
      try {
        expect(await callAll()).toEqual([
          ...Array(tenants - 1).fill('200'),
          'E_INVALID_CREDENTIALS',
        ]);
        // Every token is revoked: each tenant's token is invalidated and replaced once.
        mock.revokeTokens();
        expect(await callAll()).toEqual([
          ...Array(tenants - 1).fill('200'),
          'E_INVALID_CREDENTIALS',
        ]);
        expect(mock.stats.successfulLogins).toBe((tenants - 1) * 2);
        expect(events.filter((event) => event.type === 'store_error')).toEqual([]);
      } finally {
        await pool.close();
        redis.disconnect();
      }

      const written = await raw.keys(`{${prefix}:*`);
      const kinds = new Set(written.map((name) => name.slice(name.lastIndexOf(':') + 1)));
      expect(kinds).toContain('fail'); // the wrong password's refusal, for its cooldown
      expect(kinds).toContain('token');
      expect(kinds).toContain('gen');
      const bound = Math.max(tokenLifeMs, lockTtlMs, cooldownMs);
      for (const name of written) {
        // -2: expired since KEYS listed it; -1 would be a key without a TTL.
        const ttl = await raw.pttl(name);
        expect(ttl === -2 || ttl > 0, `${name}: ${ttl}`).toBe(true);
        expect(ttl, name).toBeLessThanOrEqual(bound);
      }

      const deadline = Date.now() + bound + 2_000;
      let left = written;
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        left = await raw.keys(`{${prefix}:*`);
      }
      expect(left).toEqual([]);
    });
  },
);
