import { describe, expect, it, vi } from 'vitest';
import { createTokenManager, LoginFailedError, sessionTokenAuth } from '../src/index.js';
import {
  clientFor,
  collectEvents,
  createClock,
  deferred,
  demoAuth,
  pause,
  startMock,
  T0,
  watchUnhandledRejections,
} from './helpers.js';
import { LocklessStore } from './lockless-store.js';

// The default lifetime is 15 min and the default window 120 s, shortened by up to 10 %
// per-instance jitter: 100 s before the last usable moment is inside the window for any
// jitter, 125 s before it is outside for any jitter.
const LIFETIME = 900_000;
const USE_UNTIL = T0 + LIFETIME - 1_000;

describe('reuse and refresh-ahead (guarantee 2)', () => {
  it('a token is reused until its refresh window: no second login', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent });

    const first = await client.getToken();
    clock.set(USE_UNTIL - 125_000);
    const response = await client.fetch('/data');

    expect(response.status).toBe(200);
    expect(await client.getToken()).toBe(first);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(ofType('refresh_ahead')).toEqual([]);
  });

  it('a call inside the refresh window gets the current token at once and one background refresh starts', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent });
    const first = await client.getToken();

    clock.set(USE_UNTIL - 100_000);
    const release = deferred();
    mock.setLoginResponse(async () => {
      await release.promise;
      return undefined;
    });
    const during = await Promise.all(Array.from({ length: 20 }, () => client.getToken()));
    const responses = await Promise.all(Array.from({ length: 5 }, () => client.fetch('/data')));

    // Answered with the current token while the refresh is still in flight.
    expect(new Set(during)).toEqual(new Set([first]));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(mock.stats.successfulLogins).toBe(1);
    release.resolve();
    await vi.waitFor(() => expect(mock.stats.successfulLogins).toBe(2));
    await vi.waitFor(async () => expect(await client.getToken()).not.toBe(first));
    expect(mock.stats.loginAttempts).toBe(2);
    expect(ofType('refresh_ahead')).toMatchObject([
      { type: 'refresh_ahead', expiresAt: T0 + LIFETIME },
    ]);
    expect(ofType('login').map((event) => event.source)).toEqual(['login', 'login']);
  });

  it('a failing background refresh is reported through onEvent, never as an unhandled rejection', async () => {
    const unhandled = watchUnhandledRejections();
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent, loginRetries: 0 });
    const first = await client.getToken();

    clock.set(USE_UNTIL - 100_000);
    mock.failNextLogins(503, 1);
    expect(await client.getToken()).toBe(first);
    await vi.waitFor(() => expect(ofType('login_failed')).toHaveLength(1));
    await pause(20);

    expect(ofType('login_failed')).toMatchObject([
      { type: 'login_failed', code: 'E_LOGIN_FAILED', status: 503, background: true },
    ]);
    expect(unhandled.reasons).toEqual([]);
    // The current token stays in use and no new attempt is made at once.
    expect(await client.getToken()).toBe(first);
    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(2);
  });

  it('after a failed background refresh the next one waits 2 s, then runs', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent, loginRetries: 0 });
    const first = await client.getToken();

    clock.set(USE_UNTIL - 100_000);
    mock.failNextLogins(500, 1);
    await client.getToken();
    await vi.waitFor(() => expect(ofType('login_failed')).toHaveLength(1));
    clock.advance(1_900);
    expect(await client.getToken()).toBe(first);
    expect(ofType('refresh_ahead')).toHaveLength(1);

    clock.advance(200);
    expect(await client.getToken()).toBe(first);
    await vi.waitFor(() => expect(mock.stats.successfulLogins).toBe(2));
    expect(ofType('refresh_ahead')).toHaveLength(2);
    await vi.waitFor(async () => expect(await client.getToken()).not.toBe(first));
  });

  it('the refresh window is capped at a third of the token lifetime', async () => {
    const clock = createClock();
    // 60 s tokens: the 120 s default window is capped at 20 s (18–20 s with jitter).
    const mock = await startMock({ now: clock.now, tokenTtlMs: 60_000 });
    const { onEvent, ofType } = collectEvents();
    const capped = clientFor(mock, {
      now: clock.now,
      onEvent,
      auth: sessionTokenAuth({ ...demoAuth, ttlMs: 60_000 }),
    });

    await capped.getToken();
    const useUntil = T0 + 60_000 - 1_000;
    clock.set(useUntil - 21_000);
    await capped.getToken();
    expect(ofType('refresh_ahead')).toHaveLength(0);

    clock.set(useUntil - 17_000);
    await capped.getToken();
    expect(ofType('refresh_ahead')).toHaveLength(1);
    await vi.waitFor(() => expect(mock.stats.successfulLogins).toBe(2));
  });

  it('each instance gives up random() × 10 % of its refresh window (per-instance jitter)', async () => {
    // The 120 s window before the last usable moment, less random() × 10 % of it: the
    // instance's background refresh starts exactly there, not a millisecond before.
    for (const [random, window] of [
      [0, 120_000],
      [0.5, 114_000],
      [0.999, 108_012],
    ] as const) {
      const clock = createClock();
      const { onEvent, ofType } = collectEvents();
      const manager = createTokenManager({
        login: () => Promise.resolve({ token: 'tok' }),
        now: clock.now,
        random: () => random,
        onEvent,
      });
      await manager.getToken();

      clock.set(USE_UNTIL - window - 1);
      manager.peekToken();
      expect(ofType('refresh_ahead'), `random() = ${random}, before`).toHaveLength(0);
      clock.set(USE_UNTIL - window);
      manager.peekToken();
      expect(ofType('refresh_ahead'), `random() = ${random}, at`).toHaveLength(1);
      manager.close();
    }
  });

  it('refreshAheadMs sets the window', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent, refreshAheadMs: 10_000 });
    await client.getToken();

    clock.set(USE_UNTIL - 11_000);
    await client.getToken();
    expect(ofType('refresh_ahead')).toHaveLength(0);
    clock.set(USE_UNTIL - 8_000);
    await client.getToken();
    expect(ofType('refresh_ahead')).toHaveLength(1);
    await vi.waitFor(() => expect(mock.stats.successfulLogins).toBe(2));
  });

  it('a token within 1 s of expiry is not used: calls wait for the single-flight login', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    // No refresh window, so only the 1 s margin decides. No login lock in the store: the
    // one login is the token manager's single-flight.
    const client = clientFor(mock, {
      now: clock.now,
      onEvent,
      refreshAheadMs: 0,
      store: new LocklessStore(),
    });
    const first = await client.getToken();

    clock.set(T0 + LIFETIME - 1_001);
    expect(await client.getToken()).toBe(first);
    expect(mock.stats.loginAttempts).toBe(1);

    clock.set(T0 + LIFETIME - 1_000);
    mock.setLoginDelay(20);
    const tokens = await Promise.all(Array.from({ length: 10 }, () => client.getToken()));
    const response = await client.fetch('/data');

    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);
    expect(response.status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(2);
    expect(ofType('refresh_ahead')).toEqual([]);
  });

  it('a failed blocking login leaves no token behind: the next call logs in again', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const client = clientFor(mock, { now: clock.now, refreshAheadMs: 0, loginRetries: 0 });
    await client.getToken();
    clock.set(T0 + LIFETIME);
    mock.failNextLogins(500, 1);

    await expect(client.getToken()).rejects.toBeInstanceOf(LoginFailedError);
    expect(typeof (await client.getToken())).toBe('string');
    expect(mock.stats.loginAttempts).toBe(3);
  });
});
