import { DEMO_USER } from '@tokenfetch/mock-upstream';
import { describe, expect, it, vi } from 'vitest';
import { MemoryTokenStore, createTokenManager, type TokenStore } from '../src/index.js';
import {
  clientFor,
  demoAuth,
  collectEvents,
  createClock,
  pause,
  startMock,
  T0,
  watchUnhandledRejections,
} from './helpers.js';

/** A store whose listed methods throw (or reject). */
function brokenStore(broken: Array<keyof TokenStore>, inner = new MemoryTokenStore()): TokenStore {
  const fail = (name: string) => () => Promise.reject(new Error(`store ${name} is down`));
  return {
    get: broken.includes('get') ? fail('get') : (key) => inner.get(key),
    acquire: broken.includes('acquire') ? fail('acquire') : (key) => inner.acquire(key),
    commit: broken.includes('commit') ? fail('commit') : (lease, t) => inner.commit(lease, t),
    release: broken.includes('release') ? fail('release') : (lease, f) => inner.release(lease, f),
    invalidate: broken.includes('invalidate')
      ? fail('invalidate')
      : (key, generation) => inner.invalidate(key, generation),
    getFailure: broken.includes('getFailure') ? fail('failure') : (key) => inner.getFailure(key),
  };
}

/** What every event of a client of the mock upstream carries. */
const fromClient = {
  serverAddress: '127.0.0.1',
  clientId: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown as string,
};

describe('events', () => {
  it('a login reports type login, source login, its duration and expiry', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.setLoginResponse(() => {
      clock.advance(250);
      return undefined;
    });
    const { onEvent, events } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent });

    await client.fetch('/data');

    expect(events).toEqual([
      {
        type: 'login',
        source: 'login',
        startedAt: T0,
        durationMs: 250,
        expiresAt: T0 + 900_000,
        background: false,
        ...fromClient,
      },
    ]);
  });

  it('every event of a client carries its server address and a client id that tells clients apart', async () => {
    const mock = await startMock({ users: [{ ...DEMO_USER, orgs: [1, 2] }] });
    const other = await startMock();
    const { onEvent, ofType } = collectEvents();
    await clientFor(mock, { onEvent }).getToken();
    await clientFor(mock, { onEvent }).getToken();
    await clientFor(mock, { onEvent, auth: { ...demoAuth, orgId: 2 } }).getToken();
    await clientFor(other, { onEvent }).getToken();

    const logins = ofType('login');
    expect(logins.map((event) => event.serverAddress)).toEqual(Array(4).fill('127.0.0.1'));
    const ids = logins.map((event) => event.clientId);
    // The same credentials against the same base URL: the same id (on every instance, too).
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a login retried after 503s reports login_retry per failed attempt; the login reports its whole duration', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    let attempts = 0;
    mock.setLoginResponse(() => {
      clock.advance(100);
      attempts++;
      return attempts <= 2 ? { status: 503, body: '{}' } : undefined;
    });
    const { onEvent, events } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent });

    await client.getToken();

    const retry = { type: 'login_retry', code: 'E_LOGIN_FAILED', status: 503, delayMs: 0 };
    const common = { startedAt: T0, background: false, ...fromClient };
    expect(events).toEqual([
      { ...retry, attempt: 1, ...common },
      { ...retry, attempt: 2, ...common },
      {
        type: 'login',
        source: 'login',
        durationMs: 300,
        expiresAt: T0 + 200 + 900_000,
        ...common,
      },
    ]);
  });

  it('a failed login reports when it began and how long it took, retries included', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.setLoginResponse(() => {
      clock.advance(100);
      return { status: 500, body: '{}' };
    });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent, loginRetries: 1 });

    await expect(client.getToken()).rejects.toMatchObject({ code: 'E_LOGIN_FAILED' });

    expect(ofType('login_retry')).toHaveLength(1);
    expect(ofType('login_failed')).toEqual([
      {
        type: 'login_failed',
        code: 'E_LOGIN_FAILED',
        status: 500,
        startedAt: T0,
        durationMs: 200,
        background: false,
        ...fromClient,
      },
    ]);
  });

  it('a token read from the shared store reports source store; a background refresh says background', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const store = new MemoryTokenStore({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    await clientFor(mock, { now: clock.now, store }).getToken();
    const second = clientFor(mock, { now: clock.now, store, onEvent });

    await second.getToken();
    clock.set(T0 + 900_000 - 1_000 - 100_000);
    await second.getToken();
    await vi.waitFor(() => expect(ofType('login')).toHaveLength(2));

    expect(ofType('login')).toMatchObject([
      { source: 'store', startedAt: T0, durationMs: 0, background: false },
      { source: 'login', startedAt: T0 + 799_000, background: true },
    ]);
  });

  it('a re-login reports reauth with the status, then the login', async () => {
    const mock = await startMock();
    const { onEvent, events } = collectEvents();
    const client = clientFor(mock, { onEvent });
    await client.getToken();
    mock.revokeTokens();

    await client.fetch('/data');

    expect(events.map((event) => event.type)).toEqual(['login', 'reauth', 'login']);
    expect(events[1]).toEqual({ type: 'reauth', status: 403, replayed: true, ...fromClient });
  });

  it('a store whose methods all throw reports store_error and calls still succeed with a local login', async () => {
    const mock = await startMock();
    const { onEvent, ofType } = collectEvents();
    const store = brokenStore(['get', 'acquire', 'commit', 'release', 'invalidate', 'getFailure']);
    const client = clientFor(mock, { store, onEvent });

    const responses = await Promise.all([client.fetch('/a'), client.fetch('/b')]);

    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(ofType('store_error')).toEqual([
      { type: 'store_error', operation: 'get', message: 'store get is down', ...fromClient },
    ]);
    expect(ofType('login')).toHaveLength(1);
  });

  for (const [method, operation] of [
    ['acquire', 'acquire'],
    ['commit', 'commit'],
    ['getFailure', 'failure'],
  ] as const) {
    it(`a store whose ${method} throws reports store_error ${operation} and the call succeeds`, async () => {
      const mock = await startMock();
      const { onEvent, ofType } = collectEvents();
      const client = clientFor(mock, { store: brokenStore([method]), onEvent });

      expect((await client.fetch('/data')).status).toBe(200);
      expect(ofType('store_error').map((event) => event.operation)).toEqual([operation]);
      expect(mock.stats.loginAttempts).toBe(1);
    });
  }

  it('a store whose invalidate and release throw reports them and re-login still works', async () => {
    const mock = await startMock();
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { store: brokenStore(['invalidate', 'release']), onEvent });
    await client.getToken();
    mock.revokeTokens();

    expect((await client.fetch('/data')).status).toBe(200);
    await vi.waitFor(() =>
      expect(ofType('store_error').map((event) => event.operation)).toEqual(['invalidate']),
    );
    expect(mock.stats.loginAttempts).toBe(2);

    const refused = clientFor(mock, {
      store: brokenStore(['release']),
      onEvent,
      auth: { email: 'demo@example.com', password: 'wrong', orgId: 1 },
    });
    await expect(refused.getToken()).rejects.toMatchObject({ code: 'E_INVALID_CREDENTIALS' });
    expect(ofType('store_error').map((event) => event.operation)).toEqual([
      'invalidate',
      'release',
    ]);
  });

  it('a login lock held past the login timeout (plus a margin) is presumed dead: this instance logs in alone', async () => {
    const clock = createClock(0);
    const store = new MemoryTokenStore({ now: clock.now, lockTtlMs: 1_000 });
    await store.acquire('default');
    let polls = 0;
    const stuck: TokenStore = {
      get: (key) => store.get(key),
      getFailure: (key) => store.getFailure(key),
      // Each poll of the lock finds it taken, 3 s later. Past 10 polls it fails instead, so
      // that an instance that never gives up fails this test rather than hang it.
      acquire: () => {
        clock.advance(3_000);
        if (++polls > 10) return Promise.reject(new Error('still polling the lock'));
        return Promise.resolve(undefined);
      },
      commit: (lease, t) => store.commit(lease, t),
      release: (lease, f) => store.release(lease, f),
      invalidate: (key, generation) => store.invalidate(key, generation),
    };
    const { onEvent, ofType } = collectEvents();
    const manager = createTokenManager({
      store: stuck,
      now: clock.now,
      loginTimeoutMs: 2_000,
      onEvent,
      login: () => Promise.resolve({ token: 'alone' }),
    });

    expect(await manager.getToken()).toBe('alone');
    manager.close();

    // Given up at the first poll past loginTimeoutMs + 2 s (at 6 s).
    expect(polls).toBe(2);
    expect(ofType('store_error')).toEqual([expect.objectContaining({ operation: 'lock_wait' })]);
  });

  it('a listener that throws never breaks a call', async () => {
    const mock = await startMock();
    const onEvent = vi.fn(() => {
      throw new Error('broken logger');
    });
    const client = clientFor(mock, { onEvent });
    await client.getToken();
    mock.revokeTokens();

    expect((await client.fetch('/data')).status).toBe(200);
    expect(onEvent).toHaveBeenCalledTimes(3);
  });

  it('an array of listeners: each gets every event, in order, even after one before it threw', async () => {
    const mock = await startMock();
    const seen: string[] = [];
    const client = clientFor(mock, {
      onEvent: [
        (event) => seen.push(`a:${event.type}`),
        () => {
          throw new Error('broken logger');
        },
        (event) => seen.push(`c:${event.type}`),
      ],
    });
    await client.getToken();
    mock.revokeTokens();

    expect((await client.fetch('/data')).status).toBe(200);
    expect(seen).toEqual(['a:login', 'c:login', 'a:reauth', 'c:reauth', 'a:login', 'c:login']);
  });

  it('an async listener that rejects never breaks a call nor leaves an unhandled rejection', async () => {
    const unhandled = watchUnhandledRejections();
    const mock = await startMock();
    const seen: string[] = [];
    const client = clientFor(mock, {
      onEvent: async (event) => {
        seen.push(event.type);
        await Promise.resolve();
        throw new Error('broken async logger');
      },
    });
    await client.getToken();
    mock.revokeTokens();

    expect((await client.fetch('/data')).status).toBe(200);
    await pause(20);
    expect(seen).toEqual(['login', 'reauth', 'login']);
    expect(unhandled.reasons).toEqual([]);
  });

  it('events are plain objects that survive JSON', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, events } = collectEvents();
    const client = clientFor(mock, { onEvent, now: clock.now, loginRetries: 0 });
    await client.getToken();
    clock.set(T0 + 900_000 - 1_000 - 100_000);
    mock.failNextLogins(500);
    await client.getToken();
    await vi.waitFor(() => expect(events.map((event) => event.type)).toContain('login_failed'));

    expect(JSON.parse(JSON.stringify(events))).toStrictEqual(events);
    expect(events.map((event) => event.type)).toEqual(['login', 'refresh_ahead', 'login_failed']);
  });
});
