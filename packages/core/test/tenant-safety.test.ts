// Issue 20: tenant-safe by construction. A shared store serves a token only to a client that
// holds the same secret (engine/store-key.ts), over real HTTP against the mock upstream.
import { describe, expect, it } from 'vitest';
import {
  createApiClient,
  createClientPool,
  InvalidCredentialsError,
  MemoryTokenStore,
} from '../src/index.js';
import { storeKey } from '../src/engine/store-key.js';
import { rejectionOf, startMock, track } from './helpers.js';

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
