import {
  createApiClient,
  InvalidCredentialsError,
  type ApiClient,
  type TokenFetchEvent,
} from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingStore } from './helpers/counting-store.js';
import {
  assertAvailable,
  deletePrefix,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  uniquePrefix,
} from './helpers/redis.js';

// Instances of a fleet whose clocks disagree by minutes. Each client and its store get one
// injected clock, as they share the machine's in production; Redis keeps its own. What the
// fleet shares (a refusal's cooldown, a token's remaining life) is judged on Redis's
// clock, so the skew changes nothing.

const up = await probeRedis(redisUrl);
const minute = 60_000;
const cooldownMs = 30_000;
const tokenLifeMs = 15 * minute;

describe.runIf(redisGate('@tokenfetch/redis clock-skew tests', up, missingRedis))(
  'instances whose clocks disagree',
  () => {
    let raw: Redis;
    let mock: MockUpstream;
    const clients: ApiClient[] = [];
    const prefixes: string[] = [];

    beforeAll(async () => {
      assertAvailable(up, missingRedis);
      raw = new Redis(redisUrl);
      await raw.ping();
      mock = await startMockUpstream();
    });

    afterAll(async () => {
      await Promise.all(clients.map((client) => client.close()));
      await mock?.close();
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
      raw?.disconnect();
    });

    /** A fleet on one prefix; each instance's clock runs `skewMs` off the machine's. */
    function fleet(password = DEMO_USER.password) {
      const prefix = uniquePrefix('skew');
      prefixes.push(prefix);
      return (skewMs: number) => {
        const now = () => Date.now() + skewMs;
        const counted = countingStore(
          // Generous: a loaded machine must not pass for a slow Redis here.
          new RedisTokenStore({ redis: raw, prefix, commandTimeoutMs: 2_000, now }),
        );
        const events: TokenFetchEvent[] = [];
        const client = createApiClient({
          baseUrl: mock.baseUrl,
          auth: { email: DEMO_USER.email, password, orgId: 1 },
          store: counted.store,
          loginCooldownMs: cooldownMs,
          // A client that waited for the lock would give up after 1 s + 2 s.
          loginTimeoutMs: 1_000,
          onEvent: (event) => events.push(event),
          now,
        });
        clients.push(client);
        return { client, counted, calls: counted.calls, events, now };
      };
    }

    /** When the token an instance took from the store expires, on its clock. */
    function adoptedExpiry(events: TokenFetchEvent[]): number {
      const adopted = events.find((event) => event.type === 'login' && event.source === 'store');
      expect(adopted).toBeDefined();
      return (adopted as { expiresAt: number }).expiresAt;
    }

    const storeErrors = (events: TokenFetchEvent[]) =>
      events.filter((event) => event.type === 'store_error');

    it('a wrong password recorded by an instance 5 minutes behind holds on one 5 minutes ahead: one attempt, no wait', async () => {
      const instance = fleet('wrong-password');
      const behind = instance(-5 * minute);
      const ahead = instance(5 * minute);
      mock.resetStats();

      await expect(behind.client.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);
      await expect(ahead.client.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);

      expect(mock.stats.loginAttempts).toBe(1);
      expect(ahead.calls.acquire).toBe(0); // refused at once: it never polled for the lock
      expect(storeErrors(ahead.events)).toEqual([]);
    });

    it('a refusal recorded by an instance ahead lasts its cooldown on the clock of one behind', async () => {
      const instance = fleet('wrong-password');
      const ahead = instance(5 * minute);
      const behind = instance(-5 * minute);

      await expect(ahead.client.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);
      const shared = await behind.counted.store.getFailure(ahead.counted.key ?? '');
      expect(shared?.code).toBe('E_INVALID_CREDENTIALS');
      const left = shared!.until - behind.now();
      expect(left).toBeGreaterThan(cooldownMs - 5_000);
      expect(left).toBeLessThanOrEqual(cooldownMs);
    });

    it('a token written by an instance 20 minutes behind serves one 20 minutes ahead until its real expiry: one login', async () => {
      const instance = fleet();
      const behind = instance(-20 * minute);
      const ahead = instance(20 * minute);
      mock.resetStats();

      await behind.client.getToken();
      await ahead.client.getToken();

      expect(mock.stats.loginAttempts).toBe(1);
      const expiresAt = adoptedExpiry(ahead.events);
      expect(expiresAt - ahead.now()).toBeGreaterThan(tokenLifeMs - minute);
      expect(expiresAt - ahead.now()).toBeLessThanOrEqual(tokenLifeMs);
      expect(storeErrors(ahead.events)).toEqual([]);
    });

    it('a token written by an instance 20 minutes ahead ends on the clock of one behind at its real expiry', async () => {
      const instance = fleet();
      const ahead = instance(20 * minute);
      const behind = instance(-20 * minute);

      await ahead.client.getToken();
      await behind.client.getToken();

      const expiresAt = adoptedExpiry(behind.events);
      expect(expiresAt - behind.now()).toBeGreaterThan(tokenLifeMs - minute);
      expect(expiresAt - behind.now()).toBeLessThanOrEqual(tokenLifeMs);
    });
  },
);
