import { describe, expect, it, vi } from 'vitest';
import { DEMO_API_KEY } from '@tokenfetch/mock-upstream';
import { createTokenManager, LoginFailedError, type LoginResult } from '../src/index.js';
import {
  clientFor,
  collectEvents,
  deferred,
  pause,
  rejectionOf,
  startMock,
  startRecorder,
} from './helpers.js';

describe('cancellation (guarantee 7)', () => {
  it("a caller's AbortSignal rejects that caller only; the login others wait on completes", async () => {
    const mock = await startMock();
    const release = deferred();
    mock.setLoginResponse(async () => {
      await release.promise;
      return undefined;
    });
    const client = clientFor(mock);
    const controller = new AbortController();
    const reason = new Error('the downstream client went away');

    const aborted = rejectionOf(client.fetch('/aborted', { signal: controller.signal }));
    const others = Promise.all([client.fetch('/kept/1'), client.fetch('/kept/2')]);
    await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(1));
    controller.abort(reason);

    expect(await aborted).toBe(reason);
    release.resolve();
    const responses = await others;
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(mock.stats.successfulLogins).toBe(1);
    expect(mock.requests.map((request) => request.path)).toEqual(['/api/kept/1', '/api/kept/2']);
  });

  it('an already aborted signal rejects the call without sending it', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();
    const reason = new Error('gone');

    const error = await rejectionOf(client.fetch('/data', { signal: AbortSignal.abort(reason) }));

    expect(error).toBe(reason);
    expect(mock.stats.calls).toBe(0);
  });

  it('a caller whose signal is already aborted starts no login', async () => {
    let logins = 0;
    const manager = createTokenManager({
      login: () => {
        logins += 1;
        return Promise.resolve({ token: 'token-1' });
      },
    });
    const reason = new Error('gone before it started');

    const error = await rejectionOf(manager.getToken({ signal: AbortSignal.abort(reason) }));
    await pause(20);

    expect(error).toBe(reason);
    expect(logins).toBe(0);
    manager.close();
  });

  it('aborting getToken() ends that wait only', async () => {
    const mock = await startMock();
    mock.setLoginDelay(60);
    const client = clientFor(mock);
    const controller = new AbortController();

    const aborted = rejectionOf(client.getToken({ signal: controller.signal }));
    const kept = client.getToken();
    controller.abort();

    expect((await aborted) as Error).toMatchObject({ name: 'AbortError' });
    expect(typeof (await kept)).toBe('string');
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('the login timeout ends a hanging login with a LoginFailedError', async () => {
    const mock = await startMock();
    mock.setLoginResponse(() => 'hang');
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { loginTimeoutMs: 100, onEvent });

    const started = performance.now();
    const errors = await Promise.all([
      rejectionOf(client.fetch('/data')),
      rejectionOf(client.getToken()),
    ]);

    expect(errors[0]).toBeInstanceOf(LoginFailedError);
    expect(errors[1]).toBe(errors[0]);
    expect((errors[0] as Error).message).toMatch(/timed out after 100 ms/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(ofType('login_failed')).toMatchObject([
      { type: 'login_failed', code: 'E_LOGIN_FAILED', background: false },
    ]);
    // The hanging login request was aborted, not left open.
    await expect.poll(() => mock.stats.inFlightLogins).toBe(0);
  });

  it('the login timeout covers the retries too', async () => {
    let attempts = 0;
    const manager = createTokenManager({
      loginTimeoutMs: 100,
      loginRetries: 10,
      random: () => 0,
      login: async () => {
        attempts++;
        await pause(60);
        throw new LoginFailedError('login answered 503', { status: 503, retryable: true });
      },
    });

    const started = performance.now();
    const error = await rejectionOf(manager.getToken());
    const elapsed = performance.now() - started;
    manager.close();

    // Eleven 60 ms attempts would take 660 ms; the 100 ms budget ends the login by the second
    // (timed out, or the last 503 when no retry fits in what is left).
    expect(error).toBeInstanceOf(LoginFailedError);
    expect(attempts).toBeLessThanOrEqual(3);
    expect(elapsed).toBeLessThan(450);
  });

  it('timeoutMs ends a call that waits too long for its token, and the login goes on for the others', async () => {
    const mock = await startMock();
    mock.setLoginDelay(150);
    const client = clientFor(mock, { timeoutMs: 50 });

    const error = await rejectionOf(client.fetch('/data'));
    expect(error).toMatchObject({ name: 'TimeoutError' });

    await expect.poll(() => mock.stats.successfulLogins).toBe(1);
    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('timeoutMs ends a call whose upstream answer hangs, at timeoutMs and not before', async () => {
    const upstream = await startRecorder((request) => (request.url === '/api/slow' ? 'hang' : {}));
    const client = clientFor(
      { baseUrl: `${upstream.origin}/api` },
      { auth: { apiKey: DEMO_API_KEY }, timeoutMs: 3_000 },
    );
    // A first call on real timers: undici's own coarse timeout clock starts on them, so it
    // cannot end the call below (it would, about 3 real seconds on).
    expect((await client.fetch('/warm')).status).toBe(200);
    // Then fake timers: only the clock moved here ends the call. Sockets and the turns of
    // the event loop awaited below stay real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let outcome: unknown = 'pending';
      void client.fetch('/slow').then(
        () => (outcome = 'answered'),
        (error: unknown) => (outcome = error),
      );
      // (vi.waitFor would move the fake clock.)
      const deadline = performance.now() + 5_000;
      while (upstream.requests.length < 2 && performance.now() < deadline) await loopTurns(1);
      expect(upstream.requests).toHaveLength(2);

      await vi.advanceTimersByTimeAsync(2_999);
      await loopTurns(50);
      expect(outcome).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      for (let turns = 0; outcome === 'pending' && turns < 50; turns++) await loopTurns(1);
      expect(outcome).toMatchObject({ name: 'TimeoutError' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a login that throws a non-tokenfetch error is a retryable LoginFailedError with that cause', async () => {
    const cause = new Error('socket hang up');
    let calls = 0;
    const manager = createTokenManager({
      random: () => 0,
      login: () => {
        calls++;
        return calls < 3 ? Promise.reject(cause) : Promise.resolve<LoginResult>({ token: 'tok' });
      },
    });

    expect(await manager.getToken()).toBe('tok');
    expect(calls).toBe(3);

    const failing = createTokenManager({
      random: () => 0,
      loginRetries: 0,
      login: () => Promise.reject(cause),
    });
    const error = await rejectionOf(failing.getToken());
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as LoginFailedError).cause).toBe(cause);
    manager.close();
    failing.close();
  });
});

/** Waits `turns` turns of the event loop (real ones: setImmediate is never faked here). */
async function loopTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
