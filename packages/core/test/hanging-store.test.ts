// A token store that never answers (a custom store, a network store without its own
// timeout) must not hold calls, nor close(): core bounds every store operation by
// loginTimeoutMs and goes on as with a store that is down (found by the attack on issue 22).
import { describe, expect, it } from 'vitest';
import {
  createApiClient,
  MemoryTokenStore,
  type TokenFetchEvent,
  type TokenLease,
  type TokenStore,
} from '../src/index.js';
import { deferred, demoAuth, startMock, track } from './helpers.js';

const never = () => new Promise<never>(() => {});

/** A MemoryTokenStore whose named operations never answer. */
function hangingStore(hang: (keyof TokenStore)[]): { store: TokenStore; inner: MemoryTokenStore } {
  const inner = new MemoryTokenStore();
  const store: TokenStore = {
    get: (key) => (hang.includes('get') ? never() : inner.get(key)),
    acquire: (key) => (hang.includes('acquire') ? never() : inner.acquire(key)),
    commit: (lease, token) => (hang.includes('commit') ? never() : inner.commit(lease, token)),
    release: (lease, failure) => inner.release(lease, failure),
    invalidate: (key, generation) => inner.invalidate(key, generation),
    getFailure: (key) => inner.getFailure(key),
  };
  return { store, inner };
}

describe('a store that never answers', () => {
  it('holds a call no longer than loginTimeoutMs: the client logs in on its own and says why', async () => {
    const mock = await startMock();
    const { store } = hangingStore(['get']);
    const events: TokenFetchEvent[] = [];
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: demoAuth,
        store,
        loginTimeoutMs: 300,
        onEvent: (event) => events.push(event),
      }),
    );

    expect((await client.fetch('/user/users/me')).status).toBe(200);

    expect(mock.stats.successfulLogins).toBe(1);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'store_error',
        operation: 'get',
        message: 'no answer within 300 ms',
      }),
    );
  });

  it('a lease that arrives after its caller gave up is released, not held to its TTL', async () => {
    const mock = await startMock();
    const inner = new MemoryTokenStore();
    const lateLease = deferred<TokenLease | undefined>();
    const released: TokenLease[] = [];
    const store: TokenStore = {
      get: (key) => inner.get(key),
      acquire: () => lateLease.promise,
      commit: (lease, token) => inner.commit(lease, token),
      release: async (lease, failure) => {
        released.push(lease);
        await inner.release(lease, failure);
      },
      invalidate: (key, generation) => inner.invalidate(key, generation),
      getFailure: (key) => inner.getFailure(key),
    };
    const client = track(
      createApiClient({ baseUrl: mock.baseUrl, auth: demoAuth, store, loginTimeoutMs: 300 }),
    );
    expect((await client.fetch('/data')).status).toBe(200);

    const lease = await inner.acquire('late-key');
    expect(lease).toBeDefined();
    lateLease.resolve(lease);
    await expect.poll(() => released).toEqual([lease]);
  });

  it('close() ends the wait at once', async () => {
    const mock = await startMock();
    const { store } = hangingStore(['get', 'acquire', 'commit']);
    const client = createApiClient({
      baseUrl: mock.baseUrl,
      auth: demoAuth,
      store,
      loginTimeoutMs: 60_000,
    });
    const call = client.fetch('/data').then(
      () => 'answered',
      (error: Error) => error.name,
    );
    const closed = client.close().then(() => 'closed');
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((resolve) => (timer = setTimeout(resolve, 2_000, 'still closing')));

    expect(await Promise.race([closed, hung])).toBe('closed');
    clearTimeout(timer);
    expect(await call).toBe('ClientClosedError');
    expect(mock.stats.loginAttempts).toBe(0);
  });
});
