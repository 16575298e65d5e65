import { describe, expect, it, vi } from 'vitest';
import { createTokenManager, MemoryTokenStore } from '../src/index.js';
import { bearerOf, clientFor, collectEvents, deferred, startMock } from './helpers.js';
import { LocklessStore } from './lockless-store.js';

describe('re-authentication (guarantee 4)', () => {
  it('a 403 on the current token causes one login and one replay with the new token', async () => {
    const mock = await startMock();
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { onEvent });
    const first = await client.getToken();
    mock.revokeTokens();
    mock.resetStats();

    const response = await client.fetch('/data/1');

    expect(response.status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(1);
    const sent = mock.requests.map((request) => bearerOf(request.headers));
    expect(sent).toHaveLength(2);
    expect(sent[0]).toBe(first);
    expect(sent[1]).toBe(await client.getToken());
    expect(sent[1]).not.toBe(first);
    expect(ofType('reauth')).toMatchObject([{ type: 'reauth', status: 403, replayed: true }]);
  });

  it('a 401 on the current token also causes one login and one replay', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();
    mock.resetStats();

    const response = await client.fetch('/status/401');

    // The replay got 401 again and was returned: one login, two sends.
    expect(response.status).toBe(401);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(mock.requests.filter((r) => r.path === '/api/status/401')).toHaveLength(2);
  });

  it('N concurrent 403s on one token cause exactly one login', async () => {
    const mock = await startMock();
    // No login lock in the store: the one login is the token manager's single-flight.
    const client = clientFor(mock, { store: new LocklessStore() });
    const first = await client.getToken();
    mock.revokeTokens();
    mock.resetStats();

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.fetch(`/data/${i}`)),
    );

    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    expect(mock.stats.loginAttempts).toBe(1);
    const replays = mock.requests.filter((request) => bearerOf(request.headers) !== first);
    expect(new Set(replays.map((request) => bearerOf(request.headers))).size).toBe(1);
    expect(mock.requests).toHaveLength(100);
  });

  it('403s on an already-replaced token cause no login', async () => {
    const mock = await startMock();
    const held = deferred();
    // Holds back the answers to /slow so that they arrive after the token was replaced.
    const gatedFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).includes('/slow')) await held.promise;
      return response;
    };
    const client = clientFor(mock, { fetch: gatedFetch });
    const first = await client.getToken();
    mock.revokeTokens();

    const stale = Array.from({ length: 5 }, () => client.fetch('/slow'));
    await vi.waitFor(() =>
      expect(mock.requests.filter((r) => r.path === '/api/slow')).toHaveLength(5),
    );
    const fresh = await client.fetch('/data');
    const second = await client.getToken();
    held.resolve();
    const late = await Promise.all(stale);

    expect(fresh.status).toBe(200);
    expect(second).not.toBe(first);
    expect(late.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    // One login at the start, one for /data; the late 403s on `first` caused none.
    expect(mock.stats.loginAttempts).toBe(2);
    const replays = mock.requests.filter(
      (r) => r.path === '/api/slow' && bearerOf(r.headers) === second,
    );
    expect(replays).toHaveLength(5);
  });

  it('a second failure is returned to the caller as the Response: no loop', async () => {
    const mock = await startMock();
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { onEvent });
    await client.getToken();
    mock.resetStats();

    const response = await client.fetch('/status/403');

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ status: 403, message: 'Forbidden' });
    expect(mock.requests).toHaveLength(2);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(ofType('reauth')).toHaveLength(1);
  });

  it('custom reauthStatuses: only the listed statuses trigger a re-login and replay', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { reauthStatuses: [419] });
    await client.getToken();
    mock.resetStats();

    const custom = await client.fetch('/status/419');
    expect(custom.status).toBe(419);
    expect(mock.requests).toHaveLength(2);
    expect(mock.stats.loginAttempts).toBe(1);

    mock.revokeTokens();
    mock.resetStats();
    const forbidden = await client.fetch('/data');
    expect(forbidden.status).toBe(403);
    expect(mock.requests).toHaveLength(1);
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('a status outside reauthStatuses is returned as is, without a login', async () => {
    const mock = await startMock();
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { onEvent });
    await client.getToken();
    mock.resetStats();

    const response = await client.fetch('/status/500');

    expect(response.status).toBe(500);
    expect(mock.requests).toHaveLength(1);
    expect(mock.stats.loginAttempts).toBe(0);
    expect(ofType('reauth')).toEqual([]);
  });

  it('invalidate() drops only the current token and says whether it did', async () => {
    let n = 0;
    const manager = createTokenManager({
      login: () => Promise.resolve({ token: `tok-${++n}` }),
    });

    const first = await manager.getToken();
    expect(manager.invalidate('not-the-token')).toBe(false);
    expect(await manager.getToken()).toBe(first);
    expect(manager.invalidate(first)).toBe(true);
    const second = await manager.getToken();
    expect(second).toBe('tok-2');
    expect(manager.invalidate(first)).toBe(false);
    expect(await manager.getToken()).toBe(second);
    expect(n).toBe(2);
    manager.close();
  });

  describe('permission answers (guarantee 4)', () => {
    /** A store that counts the deletions of the shared token. */
    function countingStore() {
      const store = new MemoryTokenStore();
      const invalidate = vi.spyOn(store, 'invalidate');
      return { store, deletions: () => invalidate.mock.calls.length };
    }

    it('25 forbidden calls interleaved with normal traffic cost one login beyond the first', async () => {
      const mock = await startMock();
      const { store, deletions } = countingStore();
      const { onEvent, ofType } = collectEvents();
      const client = clientFor(mock, { store, onEvent });

      for (let i = 0; i < 25; i++) {
        const [forbidden, me, widgets] = await Promise.all([
          client.fetch('/status/403'),
          client.fetch('/user/users/me'),
          client.fetch('/widgets'),
        ]);
        expect([forbidden.status, me.status, widgets.status]).toEqual([403, 200, 200]);
        await Promise.all([forbidden.text(), me.text(), widgets.text()]);
      }

      // The first login, and one to learn that a new token gets the same 403.
      expect(mock.stats.loginAttempts).toBe(2);
      expect(deletions()).toBe(1);
      expect(ofType('reauth')).toHaveLength(1);
      // Each later forbidden call was sent once.
      expect(mock.requests.filter((r) => r.path === '/api/status/403')).toHaveLength(26);
    });

    it('a revocation storm after a remembered 403 still costs one login and fails no call', async () => {
      const mock = await startMock();
      const client = clientFor(mock, { store: new LocklessStore() });
      expect((await client.fetch('/status/403')).status).toBe(403);
      expect((await client.fetch('/status/403')).status).toBe(403);
      expect(mock.stats.loginAttempts).toBe(2);
      const before = await client.getToken();
      mock.revokeTokens();
      mock.resetStats();

      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => client.fetch(`/data/${i}`)),
      );

      expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
      expect(mock.stats.loginAttempts).toBe(1);
      expect(await client.getToken()).not.toBe(before);
    });

    it('what a token showed is forgotten with it: its successor learns the 403 again, once', async () => {
      const mock = await startMock();
      const client = clientFor(mock);
      await client.fetch('/status/403');
      mock.revokeTokens();
      await client.fetch('/user/users/me');
      mock.resetStats();

      expect((await client.fetch('/status/403')).status).toBe(403);
      expect((await client.fetch('/status/403')).status).toBe(403);

      expect(mock.stats.loginAttempts).toBe(1);
      expect(mock.requests.filter((r) => r.path === '/api/status/403')).toHaveLength(3);
    });

    it('a remembered 403 is per method and path: another forbidden path makes its own replay', async () => {
      const mock = await startMock();
      const client = clientFor(mock);
      await client.fetch('/status/403');
      mock.resetStats();

      expect((await client.fetch('/status/403', { method: 'POST', body: 'x' })).status).toBe(403);
      expect((await client.fetch('/status/403?page=2')).status).toBe(403);

      // POST is another call: one replay and one login; the query does not make another.
      expect(mock.stats.loginAttempts).toBe(1);
      expect(mock.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'POST /api/status/403',
        'POST /api/status/403',
        'GET /api/status/403?page=2',
      ]);
    });
  });
});
