// What core keeps for OAuth strategies (DESIGN "OAuth 2.0, isolates, tenant-safe stores"): a
// dead grant (`InvalidGrantError`) remembered and shared like a refused password; the state
// a login keeps with its token (a rotated refresh token) handed to the next login of any
// sharer of the store; `as({ scope, resource })` for a strategy whose derive() takes them.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createApiClient,
  createTokenManager,
  InvalidGrantError,
  MemoryTokenStore,
  type LoginResult,
  type SessionAuthStrategy,
} from '../src/index.js';
import { rejectionOf, startRecorder, track } from './helpers.js';

/** A strategy whose login answers what `answer` says, counting its logins and their states. */
function countingStrategy(answer: (n: number) => LoginResult | Error) {
  const states: (string | undefined)[] = [];
  const strategy: SessionAuthStrategy = {
    kind: 'session',
    headerNames: ['authorization'],
    ttlMs: 60_000,
    identity: 'refresh-client',
    loginPath: '/login',
    login: ({ state }) => {
      states.push(state);
      const result = answer(states.length);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
    secrets: () => ['rt-initial-7c1d'],
  };
  return { strategy, states };
}

describe('a dead grant (InvalidGrantError)', () => {
  it('is one login for a burst, the same error for every waiter, remembered, and shared through the store', async () => {
    const api = await startRecorder();
    const store = new MemoryTokenStore();
    const { strategy, states } = countingStrategy(() => new InvalidGrantError());
    const options = { baseUrl: `${api.origin}/api`, auth: strategy, store };
    const client = track(createApiClient(options));
    const errors = await Promise.all(
      Array.from({ length: 50 }, () => rejectionOf(client.fetch('/a'))),
    );
    expect(states).toHaveLength(1);
    for (const error of errors) expect(error).toBe(errors[0]);
    expect(errors[0]).toBeInstanceOf(InvalidGrantError);
    expect((errors[0] as InvalidGrantError).code).toBe('E_INVALID_GRANT');
    // Remembered: the next call does not try the grant again.
    expect(await rejectionOf(client.fetch('/b'))).toBeInstanceOf(InvalidGrantError);
    // Shared: another instance with the same grant does not try it either.
    const other = track(createApiClient(options));
    expect(await rejectionOf(other.fetch('/c'))).toBeInstanceOf(InvalidGrantError);
    expect(states).toHaveLength(1);
    expect(api.requests).toHaveLength(0);
  });
});

describe('a configuration the login server refused (a ConfigError from login)', () => {
  it('is not retried, and not tried again before the cooldown', async () => {
    const api = await startRecorder();
    const refusal = new ConfigError([{ path: 'auth.scope', message: 'refused (invalid_scope)' }]);
    const { strategy, states } = countingStrategy(() => refusal);
    const client = track(createApiClient({ baseUrl: `${api.origin}/api`, auth: strategy }));
    const errors = await Promise.all(
      Array.from({ length: 20 }, () => rejectionOf(client.fetch('/a'))),
    );
    for (const error of errors) expect(error).toBe(refusal);
    expect(await rejectionOf(client.fetch('/b'))).toBe(refusal);
    expect(states).toHaveLength(1);
  });
});

describe('the state a login keeps with its token', () => {
  it('goes to the next login of whichever sharer of the store logs in', async () => {
    const store = new MemoryTokenStore();
    const states: (string | undefined)[] = [];
    let logins = 0;
    const login = ({ state }: { state: string | undefined }) => {
      states.push(state);
      logins++;
      return Promise.resolve({ token: `t${logins}`, state: `s${logins}` });
    };
    const first = createTokenManager({ login, store, key: 'k' });
    const second = createTokenManager({ login, store, key: 'k' });
    expect(await first.getToken()).toBe('t1');
    expect(await second.getToken()).toBe('t1'); // from the store: no login
    expect(second.invalidate('t1')).toBe(true);
    expect(await second.getToken()).toBe('t2');
    expect(first.invalidate('t1')).toBe(true);
    expect(await first.getToken()).toBe('t2'); // the newer one, from the store
    expect(first.invalidate('t2')).toBe(true);
    expect(await first.getToken()).toBe('t3');
    // Each login got the state of the one before it, whoever made that one.
    expect(states).toEqual([undefined, 's1', 's2']);
    first.close();
    second.close();
  });

  it('a durable state outlives its token: a sharer that saw nothing logs in with the newest', async () => {
    const store = new MemoryTokenStore();
    const keys = new Set<string>();
    const watched = {
      ...store,
      get: (key: string) => (keys.add(key), store.get(key)),
      acquire: (key: string) => (keys.add(key), store.acquire(key)),
      commit: store.commit.bind(store),
      release: store.release.bind(store),
      invalidate: store.invalidate.bind(store),
      getFailure: store.getFailure.bind(store),
    };
    const states: (string | undefined)[] = [];
    let logins = 0;
    const login = ({ state }: { state: string | undefined }) => {
      states.push(state);
      logins++;
      return Promise.resolve({ token: `t${logins}`, state: `s${logins}` });
    };
    const first = createTokenManager({ login, store: watched, key: 'k', durableState: true });
    expect(await first.getToken()).toBe('t1');
    first.invalidate('t1'); // the token is gone from the store, as when it expires there
    const second = createTokenManager({ login, store: watched, key: 'k', durableState: true });
    expect(await second.getToken()).toBe('t2');
    expect(states).toEqual([undefined, 's1']);
    expect(keys).toEqual(new Set(['k', 'k:state']));
    // Without durableState, nothing is written beside the token.
    keys.clear();
    const plain = createTokenManager({ login, store: watched, key: 'p' });
    expect(await plain.getToken()).toBe('t3');
    expect(keys).toEqual(new Set(['p']));
    for (const manager of [first, second, plain]) manager.close();
  });

  it('a durable state the store could not take stays this instance’s own, ahead of the stored one', async () => {
    const store = new MemoryTokenStore();
    let stateWritesFail = false;
    const flaky = {
      get: store.get.bind(store),
      acquire: (key: string) =>
        stateWritesFail && key.endsWith(':state')
          ? Promise.reject(new Error('store down'))
          : store.acquire(key),
      commit: store.commit.bind(store),
      release: store.release.bind(store),
      invalidate: store.invalidate.bind(store),
      getFailure: store.getFailure.bind(store),
    };
    const states: (string | undefined)[] = [];
    const events: string[] = [];
    let logins = 0;
    const manager = createTokenManager({
      login: ({ state }) => {
        states.push(state);
        logins++;
        return Promise.resolve({ token: `t${logins}`, state: `s${logins}` });
      },
      store: flaky,
      key: 'k',
      durableState: true,
      onEvent: (event) => events.push(event.type),
    });
    expect(await manager.getToken()).toBe('t1'); // s1 kept under k:state
    stateWritesFail = true;
    manager.invalidate('t1');
    expect(await manager.getToken()).toBe('t2'); // s2 could not be kept
    manager.invalidate('t2');
    expect(await manager.getToken()).toBe('t3');
    expect(states).toEqual([undefined, 's1', 's2']); // not s1 again from the store
    expect(events).toContain('store_error');
    manager.close();
  });

  it('is kept when the token is dropped: the login after a rejected token gets it', async () => {
    let revoked = '';
    const api = await startRecorder((request) =>
      request.headers.authorization === `Bearer ${revoked}` ? { status: 401 } : { body: 'ok' },
    );
    const { strategy, states } = countingStrategy((n) => ({ token: `t${n}`, state: `s${n}` }));
    const client = track(
      createApiClient({
        baseUrl: `${api.origin}/api`,
        auth: strategy,
        store: new MemoryTokenStore(),
      }),
    );
    expect((await client.fetch('/a')).status).toBe(200);
    revoked = 't1';
    expect((await client.fetch('/b')).status).toBe(200);
    expect(states).toEqual([undefined, 's1']);
  });
});

describe('close() of a strategy', () => {
  it('runs once when the client closes, before its transport; its failure does not fail close()', async () => {
    const { strategy } = countingStrategy(() => ({ token: 't' }));
    let closed = 0;
    const client = createApiClient({
      baseUrl: 'https://api.example.com',
      auth: {
        ...strategy,
        close: () => {
          closed++;
          return Promise.reject(new Error('revocation endpoint down'));
        },
      },
    });
    await client.close();
    await client.close();
    expect(closed).toBe(1);
  });
});

describe('as({ scope, resource })', () => {
  it('is a ConfigError for a strategy without derive(), naming the option and never its value', () => {
    const { strategy } = countingStrategy(() => ({ token: 't' }));
    const client = track(createApiClient({ baseUrl: 'https://api.example.com', auth: strategy }));
    const error = (() => {
      try {
        client.as({ scope: 'secret-scope-name' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]!.path).toBe('as.scope');
    expect((error as ConfigError).message).not.toContain('secret-scope-name');
    expect(() => client.as({ resource: 'https://r.example' })).toThrow(/as\.resource/);
  });
});
