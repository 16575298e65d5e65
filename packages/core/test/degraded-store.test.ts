// Issue 22 (items 1, 4, 6), the engine's side: a store that stalls does not make the fleet
// log in; a login answer that came late is used, not refused; a pool does not re-read a
// token it already knew. Over real HTTP against the mock upstream, with injected clocks.
import { describe, expect, it, vi } from 'vitest';
import {
  createClientPool,
  createTokenManager,
  MemoryTokenStore,
  type TokenStore,
} from '../src/index.js';
import { clientFor, collectEvents, createClock, startMock, T0, track } from './helpers.js';

/** `store`, whose operations fail while `down` is set (a Redis stall or outage). */
function stallable(store: TokenStore = new MemoryTokenStore()) {
  const state = { down: false, gets: 0 };
  const guard = <T>(run: () => Promise<T>): Promise<T> =>
    state.down ? Promise.reject(new Error('redis get timed out after 250 ms')) : run();
  const wrapped: TokenStore = {
    get: (key) => {
      state.gets++;
      return guard(() => store.get(key));
    },
    acquire: (key) => guard(() => store.acquire(key)),
    commit: (lease, token) => guard(() => store.commit(lease, token)),
    release: (lease, failure) => guard(() => store.release(lease, failure)),
    invalidate: (key, generation) => guard(() => store.invalidate(key, generation)),
    getFailure: (key) => guard(() => store.getFailure(key)),
  };
  return { store: wrapped, state };
}

const LIFETIME = 900_000;
const USE_UNTIL = T0 + LIFETIME - 1_000;

describe('a store that stalls (issue 22, item 1)', () => {
  it('a refresh in the first half of the window keeps the token: no login while the store is down', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { store, state } = stallable();
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, store, onEvent });
    const first = await client.getToken();

    state.down = true;
    clock.set(USE_UNTIL - 100_000); // early in the window: a refresh starts, the store fails
    expect(await client.getToken()).toBe(first);
    await vi.waitFor(() => expect(ofType('store_error').length).toBeGreaterThan(0));
    clock.advance(30_000); // still the first half: the next try keeps it too
    expect(await client.getToken()).toBe(first);
    await vi.waitFor(() => expect(ofType('store_error').length).toBeGreaterThan(1));
    expect(mock.stats.loginAttempts).toBe(1);
    expect(ofType('login_failed')).toEqual([]);
  });

  it('in the last half of the window, with the store still down, it logs in on its own, calls going on meanwhile', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { store, state } = stallable();
    const client = clientFor(mock, { now: clock.now, store });
    const first = await client.getToken();

    state.down = true;
    clock.set(USE_UNTIL - 30_000); // the last half of a window of 108–120 s
    expect(await client.getToken()).toBe(first);
    await vi.waitFor(async () => expect(await client.getToken()).not.toBe(first));
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it('with no usable token and the store down, it logs in on its own: no call fails', async () => {
    const mock = await startMock();
    const { store, state } = stallable();
    state.down = true;
    const client = clientFor(mock, { store });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.fetch(`/data/object/${i}`)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    expect(mock.stats.successfulLogins).toBe(1);
  });
});

describe('a login answer that came late (issue 22, item 4)', () => {
  it('is used by the calls waiting for it, is no failure, and the next call logs in again', async () => {
    const clock = createClock();
    const { onEvent, ofType } = collectEvents();
    let logins = 0;
    const manager = createTokenManager({
      now: clock.now,
      onEvent,
      login: async () => {
        logins++;
        // The answer (a 15-minute token) is read 15 minutes late: the process was starved.
        clock.advance(LIFETIME);
        return { token: `tok-${logins}`, expiresInMs: LIFETIME };
      },
    });
    const waiting = await Promise.all([manager.getToken(), manager.getToken()]);
    expect(waiting).toEqual(['tok-1', 'tok-1']);
    expect(ofType('login_failed')).toEqual([]);
    // Not remembered as a failure: the next call logs in at once.
    expect(await manager.getToken()).toBe('tok-2');
    manager.close();
  });

  it('one that had expired before the login was sent is unusable in itself', async () => {
    const clock = createClock();
    const manager = createTokenManager({
      now: clock.now,
      login: () => Promise.resolve({ token: 'old', expiresAt: T0 - 1 }),
    });
    await expect(manager.getToken()).rejects.toThrow(/already expired/);
    manager.close();
  });
});

describe('a pool that drops a client it makes again (issue 22, item 6)', () => {
  it('does not read the store again for a token it already knew', async () => {
    const users = ['a', 'b'].map((name, i) => ({
      email: `svc@${name}.test`,
      password: `pw-${name}`,
      orgs: [1],
      id: i + 1,
    }));
    const mock = await startMock({ users });
    const { store, state } = stallable();
    const pool = track(
      createClientPool({
        store,
        maxClients: 1,
        resolve: (tenant) => {
          const user = users[tenant === 'a' ? 0 : 1]!;
          return {
            baseUrl: mock.baseUrl,
            auth: { email: user.email, password: user.password, orgId: 1 },
          };
        },
      }),
    );
    const round = async () => {
      for (const tenant of ['a', 'b']) {
        await (await pool.client(tenant).fetch('/data/object/1')).text();
      }
    };
    await round();
    const atLogins = state.gets; // each login reads the store, and again under its lock
    for (let again = 0; again < 4; again++) await round();
    expect(mock.stats.successfulLogins).toBe(2);
    // Every client made again (8 of them) found its token in memory: no read of the store.
    expect(state.gets).toBe(atLogins);
  });

  it('without a store, its tenants share one in memory: a client made again logs in no more', async () => {
    const users = ['a', 'b'].map((name, i) => ({
      email: `svc@${name}.test`,
      password: `pw-${name}`,
      orgs: [1],
      id: i + 1,
    }));
    const mock = await startMock({ users });
    const pool = track(
      createClientPool({
        maxClients: 1,
        resolve: (tenant) => {
          const user = users[tenant === 'a' ? 0 : 1]!;
          return {
            baseUrl: mock.baseUrl,
            auth: { email: user.email, password: user.password, orgId: 1 },
          };
        },
      }),
    );
    for (let round = 0; round < 5; round++) {
      for (const tenant of ['a', 'b']) {
        await (await pool.client(tenant).fetch('/data/object/1')).text();
      }
    }
    expect(mock.stats.successfulLogins).toBe(2);
  });
});
