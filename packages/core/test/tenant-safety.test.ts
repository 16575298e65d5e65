// Issue 20: tenant-safe by construction. A shared store serves a token only to a client that
// holds the same secret (engine/store-key.ts), over real HTTP against the mock upstream.
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  createApiClient,
  createClientPool,
  InvalidCredentialsError,
  MemoryTokenStore,
} from '../src/index.js';
import { storeKey } from '../src/engine/store-key.js';
import { pause, rejectionOf, startMock, track } from './helpers.js';

const user = { email: 'svc@victim.test', password: 'right-horse-battery', orgs: [42], id: 5 };
const wrong = 'wrong-horse-battery';

/** A pool on one shared store whose tenants `victim` and `intruder` name the same user and org. */
async function sharedPool(store = new MemoryTokenStore()) {
  const mock = await startMock({ users: [user] });
  const pool = track(
    createClientPool({
      store,
      resolve: (tenant) => ({
        baseUrl: mock.baseUrl,
        auth: {
          email: user.email,
          password: tenant === 'victim' ? user.password : wrong,
          orgId: 42,
        },
      }),
    }),
  );
  return { mock, pool };
}

describe('a shared store and a wrong password', () => {
  it('does not serve the stored token to a client with the same email and org but another password', async () => {
    const { mock, pool } = await sharedPool();
    expect((await pool.client('victim').fetch('/data/object/1')).status).toBe(200);
    const callsBefore = mock.stats.calls;

    const error = await rejectionOf(pool.client('intruder').fetch('/data/object/1'));

    expect(error).toBeInstanceOf(InvalidCredentialsError);
    // The intruder logged in itself (and was refused); it sent no call with the victim's token.
    expect(mock.stats.loginAttempts).toBe(2);
    expect(mock.stats.calls).toBe(callsBefore);
  });

  it('a refusal of the wrong password is not honoured by the client with the right one', async () => {
    const { mock, pool } = await sharedPool();
    expect(await rejectionOf(pool.client('intruder').fetch('/data/object/1'))).toBeInstanceOf(
      InvalidCredentialsError,
    );
    // Inside the intruder's cooldown, the victim logs in and calls as usual.
    expect((await pool.client('victim').fetch('/data/object/1')).status).toBe(200);
    expect(mock.stats.successfulLogins).toBe(1);
    // And the intruder's own cooldown holds: no second login for it.
    expect(await rejectionOf(pool.client('intruder').fetch('/data/object/2'))).toBeInstanceOf(
      InvalidCredentialsError,
    );
    expect(mock.stats.loginAttempts).toBe(2);
  });

  it('clients with the same secret still share one token and one cooldown', async () => {
    const mock = await startMock({ users: [user] });
    const store = new MemoryTokenStore();
    const auth = { email: user.email, password: user.password, orgId: 42 };
    const first = track(createApiClient({ baseUrl: mock.baseUrl, auth, store }));
    const second = track(createApiClient({ baseUrl: mock.baseUrl, auth: { ...auth }, store }));
    await Promise.all([first.fetch('/data/object/1'), second.fetch('/data/object/2')]);
    expect(mock.stats.successfulLogins).toBe(1);

    const badAuth = { ...auth, password: wrong };
    const refused = track(createApiClient({ baseUrl: mock.baseUrl, auth: badAuth, store }));
    const again = track(createApiClient({ baseUrl: mock.baseUrl, auth: { ...badAuth }, store }));
    await rejectionOf(refused.fetch('/data/object/1'));
    await rejectionOf(again.fetch('/data/object/1'));
    expect(mock.stats.loginAttempts).toBe(2); // the second wrong client honours the first's refusal
  });
});

describe('the store key', () => {
  it('is bound to the secret, the base URL and the identity, and holds none of them', async () => {
    const base = 'https://acme.example/api/';
    const key = await storeKey(base, 'svc@acme.test|42', ['pw']);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await storeKey(base, 'svc@acme.test|42', ['pw'])).toBe(key);
    expect(await storeKey(base, 'svc@acme.test|42', ['pw2'])).not.toBe(key);
    expect(await storeKey(base, 'svc@acme.test|43', ['pw'])).not.toBe(key);
    expect(await storeKey('https://other.example/api/', 'svc@acme.test|42', ['pw'])).not.toBe(key);
    // Not a bare hash of any of its parts: PBKDF2 stands between the password and the key.
    const { createHash } = await import('node:crypto');
    for (const text of [
      'pw',
      `${base}|svc@acme.test|42|pw`,
      `tokenfetch-v2|${base}|svc@acme.test|42|pw`,
    ]) {
      expect(createHash('sha256').update(text).digest('hex')).not.toBe(key);
    }
  });

  it('of a client made before this version (no binding) is a miss: the client logs in', async () => {
    const mock = await startMock({ users: [user] });
    const store = new MemoryTokenStore();
    const auth = { email: user.email, password: user.password, orgId: 42 };
    // What an older version stored: a token under the hash of base URL and identity.
    const { createHash } = await import('node:crypto');
    const oldKey = createHash('sha256').update(`${mock.baseUrl}/|${user.email}|42`).digest('hex');
    const lease = (await store.acquire(oldKey))!;
    await store.commit(lease, {
      token: 'from-the-old-version',
      issuedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });

    const client = track(createApiClient({ baseUrl: mock.baseUrl, auth, store }));
    expect((await client.fetch('/data/object/1')).status).toBe(200);
    expect(mock.stats.successfulLogins).toBe(1);
    expect(mock.stats.unknownCredentialCalls).toBe(0);
  });
});

describe('a busy pool past maxClients', () => {
  it('12 busy tenants through maxClients 5: no answer is cut while it is read', async () => {
    const tenants = Array.from({ length: 12 }, (_, i) => ({
      email: `svc@t${i}.test`,
      password: `pw-${i}`,
      orgs: [1],
      id: i + 1,
    }));
    const mock = await startMock({ users: tenants });
    const pool = track(
      createClientPool({
        maxClients: 5,
        resolve: (tenant) => {
          const user = tenants[Number(tenant)]!;
          return {
            baseUrl: mock.baseUrl,
            auth: { email: user.email, password: user.password, orgId: 1 },
          };
        },
      }),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, async (_, i) => {
        const tenant = String((i * 7) % 12);
        const response = await pool.client(tenant).fetch(`/data/object/${i}`);
        return (await response.json()) as unknown;
      }),
    );
    const failed = results.filter((result) => result.status === 'rejected');
    expect(failed.map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
    expect(pool.size).toBeLessThanOrEqual(5);
  });

  it('an answer read after its client was evicted is read whole, and the client closes after it', async () => {
    const users = [
      { email: 'svc@one.test', password: 'pw-1', orgs: [1], id: 1 },
      { email: 'svc@two.test', password: 'pw-2', orgs: [1], id: 2 },
    ];
    const mock = await startMock({ users });
    const events: { type: string; clientId?: string | undefined }[] = [];
    const pool = track(
      createClientPool({
        maxClients: 1,
        onEvent: (event) => events.push(event),
        resolve: (tenant) => {
          const user = users[Number(tenant)]!;
          return {
            baseUrl: mock.baseUrl,
            auth: { email: user.email, password: user.password, orgId: 1 },
          };
        },
      }),
    );
    const first = await pool.client('0').fetch('/data/object/1');
    // Tenant 1 evicts tenant 0 while tenant 0's answer is still unread.
    await pool.client('1').fetch('/data/object/2');
    expect(pool.size).toBe(1);
    await pause(20);
    expect(events.filter((event) => event.type === 'close')).toEqual([]); // still being read
    expect(await first.json()).toMatchObject({ path: '/api/data/object/1' });
    // Once read, the evicted client closes.
    await vi.waitFor(() =>
      expect(events.filter((event) => event.type === 'close')).toHaveLength(1),
    );
  });
});

describe('resolve() answers read inside the boundary', () => {
  it('a getter that throws is the tenant’s ConfigError, naming no text of it', async () => {
    const mock = await startMock({ users: [user] });
    const answers: Record<string, unknown> = {
      auth: {
        get auth() {
          throw new Error('vault: sealed secret-sauce-123');
        },
        baseUrl: mock.baseUrl,
      },
      password: {
        baseUrl: mock.baseUrl,
        auth: {
          email: user.email,
          orgId: 42,
          get password() {
            throw new Error('vault: sealed secret-sauce-456');
          },
        },
      },
    };
    const pool = track(createClientPool({ resolve: (tenant) => answers[tenant] as never }));
    for (const tenant of Object.keys(answers)) {
      const error = await rejectionOf(pool.client(tenant).fetch('/data/object/1'));
      expect(error, tenant).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).not.toContain('secret-sauce');
      expect(JSON.stringify(error)).not.toContain('secret-sauce');
    }
    expect(mock.stats.loginAttempts).toBe(0);
  });
});

describe('client.as({ orgId }) bounded', () => {
  it('a 401 for one org cools every org of that password down, without a login', async () => {
    const mock = await startMock({ users: [{ ...user, orgs: [42, 43, 44] }] });
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: wrong, orgId: 42 },
      }),
    );
    expect(await rejectionOf(client.as({ orgId: 43 }).fetch('/a'))).toBeInstanceOf(
      InvalidCredentialsError,
    );
    expect(await rejectionOf(client.as({ orgId: 44 }).fetch('/a'))).toBeInstanceOf(
      InvalidCredentialsError,
    );
    expect(await rejectionOf(client.fetch('/a'))).toBeInstanceOf(InvalidCredentialsError);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('keeps at most 1,000 org clients: the oldest is dropped, and made again (one login) at its next call', async () => {
    const orgs = Array.from({ length: 1_001 }, (_, i) => 1_000 + i);
    const mock = await startMock({ users: [{ ...user, orgs: [42, ...orgs] }] });
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    const oldest = client.as({ orgId: orgs[0]! });
    await (await oldest.fetch('/data/object/1')).text();
    for (let i = 1; i < orgs.length; i += 50) {
      await Promise.all(
        orgs
          .slice(i, i + 50)
          .map(async (org) => (await client.as({ orgId: org }).fetch('/a')).text()),
      );
    }
    expect(mock.stats.successfulLogins).toBe(1_001);
    // The oldest was dropped: its facade still works, with a login of its own again.
    expect((await oldest.fetch('/data/object/2')).status).toBe(200);
    expect(mock.stats.successfulLogins).toBe(1_002);
  }, 60_000);
});
