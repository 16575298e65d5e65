import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO_API_KEY } from '@tokenfetch/mock-upstream';
import { ClientClosedError, createTokenManager, MemoryTokenStore } from '../src/index.js';
import {
  clientFor,
  collectEvents,
  createClock,
  pause,
  rejectionOf,
  startMock,
  T0,
  watchUnhandledRejections,
} from './helpers.js';
import { watchCoreTimers } from './core-timers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('no leaks: close() (guarantee 11)', () => {
  it('calls after close() reject with ClientClosedError and send nothing', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();
    mock.resetStats();

    await client.close();
    await client.close();

    await expect(client.fetch('/data')).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.json('/data')).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.getToken()).rejects.toBeInstanceOf(ClientClosedError);
    expect(mock.stats.calls).toBe(0);
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('an API key client rejects calls after close() too', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { apiKey: DEMO_API_KEY } });
    await client.close();

    const error = await rejectionOf(client.fetch('/data'));

    expect(error).toBeInstanceOf(ClientClosedError);
    expect((error as ClientClosedError).code).toBe('E_CLOSED');
    expect(mock.stats.calls).toBe(0);
  });

  it('waiters of an in-flight login reject with ClientClosedError and the login is aborted', async () => {
    const unhandled = watchUnhandledRejections();
    const mock = await startMock();
    mock.setLoginResponse(() => 'hang');
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { onEvent });

    const waiters = Array.from({ length: 10 }, (_, i) =>
      rejectionOf(i % 2 === 0 ? client.fetch(`/data/${i}`) : client.getToken()),
    );
    await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(1));
    await client.close();

    const errors = await Promise.all(waiters);
    expect(errors.every((error) => error instanceof ClientClosedError)).toBe(true);
    await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(0));
    await pause(20);
    expect(ofType('login_failed')).toEqual([]);
    expect(mock.stats.calls).toBe(0);
    expect(unhandled.reasons).toEqual([]);
  });

  it('close() during the backoff between login attempts ends the login: no further attempt', async () => {
    // Backoff before the first retry: 0.4 × 200 ms = 80 ms.
    vi.spyOn(Math, 'random').mockReturnValue(0.4);
    const mock = await startMock();
    mock.failNextLogins(503, 3);
    const client = clientFor(mock);

    const waiting = rejectionOf(client.getToken());
    await vi.waitFor(() => expect(mock.stats.loginAttempts).toBe(1));
    await client.close();

    expect(await waiting).toBeInstanceOf(ClientClosedError);
    await pause(120);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('a closed client with a pending background refresh ends its work and holds no timer', async () => {
    const unhandled = watchUnhandledRejections();
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent });
    const token = await client.getToken();
    const timers = watchCoreTimers();

    mock.setLoginResponse(() => 'hang');
    clock.set(T0 + 900_000 - 1_000 - 100_000);
    expect(await client.getToken()).toBe(token);
    await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(1));
    // The background login's timers (its timeout, at least) are unref'd: none keeps the
    // process up.
    expect(timers.pending().length).toBeGreaterThan(0);
    expect(
      timers.pending().filter((timer) => timer.hasRef()),
      'timers that keep the process up',
    ).toHaveLength(0);

    await client.close();

    await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(0));
    await pause(20);
    expect(ofType('refresh_ahead')).toHaveLength(1);
    expect(ofType('login_failed')).toEqual([]);
    expect(timers.pending(), 'timers left after close()').toHaveLength(0);
    expect(unhandled.reasons).toEqual([]);
    await expect(client.getToken()).rejects.toBeInstanceOf(ClientClosedError);
  });

  it('close() stops a token manager that waits for another holder of the store lock', async () => {
    const store = new MemoryTokenStore();
    const holder = await store.acquire('default');
    expect(holder).toBeDefined();
    let logins = 0;
    const manager = createTokenManager({
      store,
      login: () => {
        logins++;
        return Promise.resolve({ token: 'tok' });
      },
    });

    const waiting = rejectionOf(manager.getToken());
    await pause(30);
    manager.close();

    expect(await waiting).toBeInstanceOf(ClientClosedError);
    expect(logins).toBe(0);
  });

  it('a login that completes after close() does not revive the client', async () => {
    let finish!: (value: { token: string }) => void;
    const manager = createTokenManager({
      login: () =>
        new Promise((resolve) => {
          finish = resolve;
        }),
    });

    const waiting = rejectionOf(manager.getToken());
    await pause(5);
    manager.close();
    finish({ token: 'late' });

    expect(await waiting).toBeInstanceOf(ClientClosedError);
    await expect(manager.getTokenInfo()).rejects.toBeInstanceOf(ClientClosedError);
    expect(manager.invalidate('late')).toBe(false);
  });
});
