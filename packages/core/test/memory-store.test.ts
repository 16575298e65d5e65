import { describe, expect, it, vi } from 'vitest';
import {
  createTokenManager,
  InvalidCredentialsError,
  MemoryTokenStore,
  type TokenStore,
} from '../src/index.js';
import {
  clientFor,
  collectEvents,
  createClock,
  demoAuth,
  rejectionOf,
  startMock,
} from './helpers.js';

const token = (value: string, issuedAt = 0) => ({
  token: value,
  issuedAt,
  expiresAt: issuedAt + 60_000,
});

describe('MemoryTokenStore shared by clients', () => {
  it('a failed commit gives the login lock up at once: a sharer does not wait out its TTL', async () => {
    const mock = await startMock();
    const store = new MemoryTokenStore({ lockTtlMs: 600_000 });
    let failCommit = true;
    const flaky: TokenStore = {
      get: (key) => store.get(key),
      acquire: (key) => store.acquire(key),
      commit: (lease, value) => {
        if (!failCommit) return store.commit(lease, value);
        failCommit = false;
        return Promise.reject(new Error('write lost'));
      },
      release: (lease, failure) => store.release(lease, failure),
      invalidate: (key, generation) => store.invalidate(key, generation),
      getFailure: (key) => store.getFailure(key),
    };
    const events = collectEvents();
    const first = clientFor(mock, { store: flaky, onEvent: events.onEvent });
    const second = clientFor(mock, { store: flaky, timeoutMs: 2_000 });

    await first.getToken();
    // Without the release the lock would be held for 10 minutes and this call would time out.
    const response = await second.fetch('/after-a-lost-write');

    expect(response.status).toBe(200);
    expect(events.events).toContainEqual(
      expect.objectContaining({ type: 'store_error', operation: 'commit' }),
    );
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it('two clients sharing a MemoryTokenStore make one login', async () => {
    const mock = await startMock();
    mock.setLoginDelay(30);
    const store = new MemoryTokenStore();
    const a = collectEvents();
    const b = collectEvents();
    const first = clientFor(mock, { store, onEvent: a.onEvent });
    const second = clientFor(mock, { store, onEvent: b.onEvent });

    const [ta, tb] = await Promise.all([first.getToken(), second.getToken()]);
    const responses = await Promise.all([first.fetch('/a'), second.fetch('/b')]);

    expect(ta).toBe(tb);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(a.ofType('login').map((event) => event.source)).toEqual(['login']);
    expect(b.ofType('login').map((event) => event.source)).toEqual(['store']);
  });

  it('a client started later takes the stored token without a login', async () => {
    const mock = await startMock();
    const store = new MemoryTokenStore();
    const token1 = await clientFor(mock, { store }).getToken();

    const late = clientFor(mock, { store });

    expect(await late.getToken()).toBe(token1);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('a token rejected here is not taken from the store again while the store still holds it', async () => {
    const mock = await startMock();
    const store = new MemoryTokenStore();
    // An invalidate that has not landed yet (Redis is a round trip away) or was lost.
    const lagging: TokenStore = {
      get: (key) => store.get(key),
      acquire: (key) => store.acquire(key),
      commit: (lease, value) => store.commit(lease, value),
      release: (lease, failure) => store.release(lease, failure),
      invalidate: () => Promise.resolve(),
      getFailure: (key) => store.getFailure(key),
    };
    const client = clientFor(mock, { store: lagging });
    const old = await client.getToken();
    mock.revokeTokens();

    expect((await client.fetch('/data')).status).toBe(200);

    expect(mock.stats.loginAttempts).toBe(2);
    expect(await client.getToken()).not.toBe(old);
    expect((await store.get('default'))?.token).not.toBe(old);
  });

  it('a token one sharer saw rejected is replaced once for all sharers', async () => {
    const mock = await startMock();
    const store = new MemoryTokenStore();
    const first = clientFor(mock, { store });
    const second = clientFor(mock, { store });
    const old = await first.getToken();
    expect(await second.getToken()).toBe(old);
    mock.revokeTokens();

    expect((await first.fetch('/data')).status).toBe(200);
    expect((await second.fetch('/data')).status).toBe(200);

    expect(mock.stats.loginAttempts).toBe(2);
    expect(await second.getToken()).toBe(await first.getToken());
  });

  it('the holder of the login lock re-reads the store and takes a token stored meanwhile', async () => {
    const store = new MemoryTokenStore();
    let reads = 0;
    // The first read misses; by the re-read under the lock another instance has stored a token.
    const racing: TokenStore = {
      get: async (key) => {
        reads++;
        if (reads === 1) {
          const other = await store.acquire(key);
          await store.commit(other!, {
            token: 'from-other',
            issuedAt: Date.now(),
            expiresAt: Date.now() + 600_000,
          });
          return undefined;
        }
        return store.get(key);
      },
      acquire: (key) => store.acquire(key),
      commit: (lease, t) => store.commit(lease, t),
      release: (lease, f) => store.release(lease, f),
      invalidate: (key, generation) => store.invalidate(key, generation),
      getFailure: (key) => store.getFailure(key),
    };
    const { onEvent, ofType } = collectEvents();
    let logins = 0;
    const manager = createTokenManager({
      store: racing,
      onEvent,
      login: () => {
        logins++;
        return Promise.resolve({ token: 'own' });
      },
    });

    expect(await manager.getToken()).toBe('from-other');
    manager.close();

    expect(logins).toBe(0);
    expect(reads).toBe(2);
    expect(ofType('login')).toEqual([expect.objectContaining({ source: 'store' })]);
    // The lock was given back.
    expect(await store.acquire('default')).toBeDefined();
  });

  it('a 401 refusal is shared through the store for the cooldown', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const store = new MemoryTokenStore({ now: clock.now });
    const auth = { ...demoAuth, password: 'wrong' };
    const first = clientFor(mock, { store, auth, now: clock.now });
    const second = clientFor(mock, { store, auth, now: clock.now });

    expect(await rejectionOf(first.getToken())).toBeInstanceOf(InvalidCredentialsError);
    expect(await rejectionOf(second.getToken())).toBeInstanceOf(InvalidCredentialsError);
    expect(mock.stats.loginAttempts).toBe(1);

    clock.advance(30_000);
    await rejectionOf(second.getToken());
    expect(mock.stats.loginAttempts).toBe(2);
  });
});

describe('MemoryTokenStore', () => {
  it('one lease at a time per key, with increasing generations', async () => {
    const store = new MemoryTokenStore();
    const lease = await store.acquire('k');
    expect(lease).toMatchObject({ key: 'k', generation: 1 });
    expect(await store.acquire('k')).toBeUndefined();
    expect(await store.acquire('other')).toMatchObject({ key: 'other', generation: 1 });

    expect(await store.commit(lease!, token('t1'))).toBe(true);
    expect(await store.get('k')).toEqual({ ...token('t1'), generation: 1 });
    expect(await store.acquire('k')).toMatchObject({ generation: 2 });
  });

  it('a lease expires after lockTtlMs, so a dead holder does not block forever', async () => {
    const clock = createClock(0);
    const store = new MemoryTokenStore({ now: clock.now, lockTtlMs: 1_000 });
    const dead = await store.acquire('k');
    clock.advance(999);
    expect(await store.acquire('k')).toBeUndefined();
    clock.advance(1);
    const next = await store.acquire('k');
    expect(next?.generation).toBe(2);

    // The late commit of the dead holder is refused once a newer one is stored.
    expect(await store.commit(next!, token('new'))).toBe(true);
    expect(await store.commit(dead!, token('stale'))).toBe(false);
    expect((await store.get('k'))?.token).toBe('new');
    expect(store.lockTtlMs).toBe(1_000);
  });

  it('release() by a holder whose lease was taken over leaves the new lease alone', async () => {
    const clock = createClock(0);
    const store = new MemoryTokenStore({ now: clock.now, lockTtlMs: 10 });
    const old = await store.acquire('k');
    clock.advance(10);
    const current = await store.acquire('k');
    await store.release(old!);
    expect(await store.acquire('k')).toBeUndefined();
    await store.release(current!);
    expect(await store.acquire('k')).toBeDefined();
  });

  it('invalidate() deletes the token only while it is still that generation', async () => {
    const store = new MemoryTokenStore();
    await store.commit((await store.acquire('k'))!, token('t1'));
    await store.commit((await store.acquire('k'))!, token('t2'));

    await store.invalidate('k', 1);
    expect((await store.get('k'))?.token).toBe('t2');
    await store.invalidate('k', 2);
    expect(await store.get('k')).toBeUndefined();
  });

  it('a shared failure lasts until its time and is cleared by a successful commit', async () => {
    const clock = createClock(0);
    const store = new MemoryTokenStore({ now: clock.now });
    const failure = { code: 'E_INVALID_CREDENTIALS', until: 500 } as const;
    await store.release((await store.acquire('k'))!, failure);

    expect(await store.getFailure('k')).toEqual(failure);
    clock.advance(500);
    expect(await store.getFailure('k')).toBeUndefined();

    await store.release((await store.acquire('k'))!, { ...failure, until: 10_000 });
    await store.commit((await store.acquire('k'))!, token('t'));
    expect(await store.getFailure('k')).toBeUndefined();
  });

  it('uses Date.now and a 30 s lock by default', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const store = new MemoryTokenStore();
      expect(store.lockTtlMs).toBe(30_000);
      expect(await store.acquire('k')).toBeDefined();
      vi.advanceTimersByTime(29_999);
      expect(await store.acquire('k')).toBeUndefined();
      vi.advanceTimersByTime(1);
      expect(await store.acquire('k')).toBeDefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
