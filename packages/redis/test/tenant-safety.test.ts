// Issue 20 on a real Redis: a token or a shared failure is used only by a client holding the
// same secret, and nothing the store writes helps someone who reads Redis guess a password.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { createClientPool, InvalidCredentialsError, type ClientPool } from '@tokenfetch/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisTokenStore } from '../src/index.js';
import {
  assertAvailable,
  deletePrefix,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  uniquePrefix,
} from './helpers/redis.js';

const up = await probeRedis(redisUrl);
const user = { email: 'svc@victim.test', password: 'right-horse-battery', orgs: [42], id: 5 };
const wrong = 'wrong-horse-battery';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.runIf(redisGate('@tokenfetch/redis tenant safety', up, missingRedis))(
  'a Redis store shared by tenants with the same email and org',
  () => {
    const redis = new Redis(redisUrl);
    const prefixes: string[] = [];
    const cleanups: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    afterAll(async () => {
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
      redis.disconnect();
    });

    async function setUp(): Promise<{ mock: MockUpstream; pool: ClientPool; prefix: string }> {
      assertAvailable(up, missingRedis);
      const mock = await startMockUpstream({ users: [user] });
      const prefix = uniquePrefix('tenant-safety');
      prefixes.push(prefix);
      const pool = createClientPool({
        store: new RedisTokenStore({ redis, prefix }),
        resolve: (tenant) => ({
          baseUrl: mock.baseUrl,
          auth: {
            email: user.email,
            password: tenant === 'victim' ? user.password : wrong,
            orgId: 42,
          },
        }),
      });
      cleanups.push(
        () => mock.close(),
        () => pool.close(),
      );
      return { mock, pool, prefix };
    }

    it('the intruder with a wrong password is not served the victim’s token', async () => {
      const { mock, pool } = await setUp();
      expect((await pool.client('victim').fetch('/data/object/1')).status).toBe(200);
      const calls = mock.stats.calls;
      await expect(pool.client('intruder').fetch('/data/object/1')).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
      expect(mock.stats.calls).toBe(calls);
      expect(mock.stats.loginAttempts).toBe(2);
    });

    it('the intruder’s 401, shared through Redis, does not lock the victim out', async () => {
      const { mock, pool } = await setUp();
      await expect(pool.client('intruder').fetch('/data/object/1')).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
      expect((await pool.client('victim').fetch('/data/object/1')).status).toBe(200);
      expect(mock.stats.successfulLogins).toBe(1);
    });

    it('writes no password, no hash of it and no email: keys and values hold nothing to guess from fast', async () => {
      const { pool, prefix } = await setUp();
      await pool.client('victim').fetch('/data/object/1');
      await pool
        .client('intruder')
        .fetch('/data/object/1')
        .catch(() => {});
      const keys = await redis.keys(`{${prefix}:*`);
      expect(keys.length).toBeGreaterThanOrEqual(4); // token, gen, and a failure of the intruder
      const contents = [...keys];
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') contents.push((await redis.get(key)) ?? '');
        if (type === 'hash') contents.push(...Object.values(await redis.hgetall(key)));
      }
      const text = contents.join('\n');
      for (const secret of [user.password, wrong]) {
        for (const leak of [
          secret,
          sha256(secret),
          sha256(`${user.email}:${secret}`),
          user.email,
        ]) {
          expect(text).not.toContain(leak);
        }
      }
    });

    it('an entry written before the binding (the old key) is a miss, not an error', async () => {
      const { mock, pool, prefix } = await setUp();
      const oldKey = sha256(`${mock.baseUrl}/|${user.email}|42`);
      const tag = `{${prefix}:${oldKey}}`;
      await redis.hset(
        `${tag}:token`,
        'g',
        '7',
        'v',
        JSON.stringify({
          token: 'old',
          issuedAt: 1,
          expiresAt: Date.now() + 60_000,
          generation: 7,
        }),
      );
      await redis.pexpire(`${tag}:token`, 60_000);
      expect((await pool.client('victim').fetch('/data/object/1')).status).toBe(200);
      expect(mock.stats.successfulLogins).toBe(1);
      expect(mock.stats.unknownCredentialCalls).toBe(0);
    });
  },
);
