import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO_API_KEY } from '@tokenfetch/mock-upstream';
import { Agent } from 'undici';
import { AbortGroup } from '../src/shared/abort.js';
import { groupedFetchOf } from '../src/client/grouped-fetch.js';
import {
  ClientClosedError,
  createTokenManager,
  MemoryTokenStore,
  sessionTokenAuth,
  type ApiClient,
  type ApiClientOptions,
  type SessionAuthStrategy,
} from '../src/index.js';
import {
  clientFor,
  collectEvents,
  createClock,
  deferred,
  demoAuth,
  pause,
  rejectionOf,
  startMock,
  startRecorder,
  T0,
  track,
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

  it('close() stops a token manager that waits for another holder of the store lock, at once', async () => {
    // Fake timers: the wait polls the store on a timer that never fires by itself here, so
    // only close() can end it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const store = new MemoryTokenStore();
      const holder = await store.acquire('default');
      expect(holder).toBeDefined();
      const acquire = vi.spyOn(store, 'acquire');
      let logins = 0;
      const manager = createTokenManager({
        store,
        login: () => {
          logins++;
          return Promise.resolve({ token: 'tok' });
        },
      });

      const waiting = rejectionOf(manager.getToken());
      await vi.advanceTimersByTimeAsync(300);
      expect(acquire.mock.calls.length).toBeGreaterThan(1); // it polls the lock meanwhile
      manager.close();

      // Settled before any timer has fired: close() ended the wait, not its next poll.
      const outcome = await Promise.race([
        waiting,
        new Promise((resolve) => setImmediate(() => resolve('still waiting'))),
      ]);
      expect(outcome).toBeInstanceOf(ClientClosedError);
      expect(logins).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a login that completes after close() does not revive the client; close() aborted its signal', async () => {
    let finish!: (value: { token: string }) => void;
    let loginSignal: AbortSignal | undefined;
    const manager = createTokenManager({
      login: ({ signal }) => {
        loginSignal = signal;
        return new Promise((resolve) => {
          finish = resolve;
        });
      },
    });

    const waiting = rejectionOf(manager.getToken());
    await pause(5);
    expect(loginSignal?.aborted).toBe(false);
    manager.close();
    expect(loginSignal?.aborted).toBe(true);
    expect(loginSignal?.reason).toBeInstanceOf(ClientClosedError);
    finish({ token: 'late' });

    expect(await waiting).toBeInstanceOf(ClientClosedError);
    await expect(manager.getTokenInfo()).rejects.toBeInstanceOf(ClientClosedError);
    expect(manager.invalidate('late')).toBe(false);
  });

  describe('close() ends calls in flight', () => {
    type Wiring = 'its own dispatcher' | 'a dispatcher of the caller' | 'the fetch option';
    const wirings: Wiring[] = [
      'its own dispatcher',
      'a dispatcher of the caller',
      'the fetch option',
    ];
    const signals = ['no signal', "the caller's signal", "a request's abort group"] as const;

    function start(client: ApiClient, kind: (typeof signals)[number]): Promise<Response> {
      if (kind === 'no signal') return client.fetch('/hang');
      if (kind === "the caller's signal") {
        return client.fetch('/hang', { signal: new AbortController().signal });
      }
      return groupedFetchOf(client)!('/hang', undefined, new AbortGroup());
    }

    for (const wiring of wirings) {
      for (const kind of signals) {
        it(`${wiring}, ${kind}: a call hanging upstream rejects with ClientClosedError at once, and close() resolves after it`, async () => {
          const upstream = await startRecorder(() => 'hang');
          const dispatcher =
            wiring === 'a dispatcher of the caller' ? track(new Agent()) : undefined;
          const options: Partial<ApiClientOptions> = {
            auth: { apiKey: 'k' },
            ...(dispatcher === undefined ? {} : { dispatcher }),
            ...(wiring === 'the fetch option' ? { fetch } : {}),
          };
          const client = clientFor({ baseUrl: `${upstream.origin}/api` }, options);
          const timers = watchCoreTimers();
          const order: string[] = [];
          const call = start(client, kind).then(
            () => order.push('answered'),
            (error: unknown) => {
              order.push('rejected');
              return error;
            },
          );
          await vi.waitFor(() => expect(upstream.requests).toHaveLength(1));

          // Bounded here, not by the test's timeout: a close() that waited for the hanging
          // call would never resolve (the upstream is then closed, so the test can end).
          const closed = await Promise.race([
            client.close().then(() => order.push('closed')),
            pause(1_000).then(() => 'still closing'),
          ]);
          if (closed === 'still closing') await upstream.close();

          expect(closed).not.toBe('still closing');
          expect(order).toEqual(['rejected', 'closed']);
          expect(await call).toBeInstanceOf(ClientClosedError);
          expect(timers.pending(), 'timers left after close()').toHaveLength(0);
          if (dispatcher !== undefined) {
            // The caller's dispatcher is left open: another client of it still works.
            expect(dispatcher.destroyed).toBe(false);
            const answering = await startRecorder();
            const other = clientFor({ baseUrl: `${answering.origin}/api` }, options);
            expect((await other.fetch('/ok')).status).toBe(200);
          }
        });
      }
    }

    it('a call still preparing its request (a proof being signed) settles before close() resolves', async () => {
      const mock = await startMock();
      const signing = deferred();
      const signingStarted = deferred();
      const strategy: SessionAuthStrategy = {
        ...sessionTokenAuth(demoAuth),
        authorize: async (token) => {
          signingStarted.resolve();
          await signing.promise;
          return { authorization: `Bearer ${token}` };
        },
      };
      const client = clientFor(mock, { auth: strategy });
      const order: string[] = [];
      const call = client.fetch('/data').then(
        () => order.push('answered'),
        (error: unknown) => {
          order.push('rejected');
          return error;
        },
      );
      await signingStarted.promise;

      const closing = client.close().then(() => order.push('closed'));
      // Nothing ends a proof being signed: close() waits for the call instead.
      await Promise.race([closing, pause(100)]);
      expect(order).toEqual([]);
      signing.resolve();
      await closing;

      expect(order).toEqual(['rejected', 'closed']);
      expect(await call).toBeInstanceOf(ClientClosedError);
      expect(mock.stats.calls).toBe(0);
    });

    it('a call waiting for a re-login ends with ClientClosedError before close() resolves', async () => {
      const mock = await startMock();
      const client = clientFor(mock);
      await client.getToken();
      mock.revokeTokens();
      mock.setLoginResponse(() => 'hang');
      const order: string[] = [];
      const settled = (name: string) => (error: unknown) => {
        order.push(name);
        return error;
      };
      const replaying = client.fetch('/data').then(undefined, settled('replaying'));
      await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(1));

      await client.close();
      order.push('closed');

      expect(await replaying).toBeInstanceOf(ClientClosedError);
      expect(order).toEqual(['replaying', 'closed']);
    });
  });
});
