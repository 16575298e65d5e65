import { describe, expect, it } from 'vitest';
import {
  createTokenManager,
  InvalidCredentialsError,
  LoginFailedError,
  type LoginResult,
} from '../src/index.js';
import {
  bearerOf,
  clientFor,
  collectEvents,
  deferred,
  demoAuth,
  rejectionOf,
  startMock,
} from './helpers.js';
import { LocklessStore } from './lockless-store.js';

// The "one login" tests give the client a store without a login lock: a store's lock (and
// the polling of those it turns away) would give one login even without the token
// manager's single-flight, which is what these tests hold.
describe('single-flight login (guarantee 1)', () => {
  it('200 concurrent calls that need a token cause one login and all use its token', async () => {
    const mock = await startMock();
    mock.setLoginDelay(30);
    const client = clientFor(mock, { store: new LocklessStore() });

    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.fetch(`/data/${i}`)),
    );

    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(mock.stats.maxConcurrentLogins).toBe(1);
    const tokens = new Set(mock.requests.map((request) => bearerOf(request.headers)));
    expect(tokens.size).toBe(1);
    expect(await client.getToken()).toBe([...tokens][0]);
  });

  it('200 concurrent getToken() calls resolve to the same token from one login', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { store: new LocklessStore() });

    const tokens = await Promise.all(Array.from({ length: 200 }, () => client.getToken()));

    expect(new Set(tokens).size).toBe(1);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('every waiter of a failed login gets the same error', async () => {
    const mock = await startMock();
    mock.setLoginDelay(20);
    const client = clientFor(mock, { auth: { ...demoAuth, password: 'wrong-password' } });

    const errors = await Promise.all(
      Array.from({ length: 200 }, (_, i) => rejectionOf(client.fetch(`/data/${i}`))),
    );

    expect(errors[0]).toBeInstanceOf(InvalidCredentialsError);
    expect(errors.every((error) => error === errors[0])).toBe(true);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(mock.stats.calls).toBe(0);
  });

  it('every waiter of a login that fails after its retries gets the same LoginFailedError', async () => {
    const mock = await startMock();
    mock.failNextLogins(503, 1);
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { loginRetries: 0, onEvent });

    const errors = await Promise.all(
      Array.from({ length: 50 }, () => rejectionOf(client.getToken())),
    );

    expect(errors[0]).toBeInstanceOf(LoginFailedError);
    expect((errors[0] as LoginFailedError).status).toBe(503);
    expect(errors.every((error) => error === errors[0])).toBe(true);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(ofType('login_failed')).toMatchObject([
      { type: 'login_failed', code: 'E_LOGIN_FAILED', status: 503, background: false },
    ]);
  });

  it('the token manager on its own runs one login for concurrent getToken() calls', async () => {
    const gate = deferred<LoginResult>();
    let logins = 0;
    const manager = createTokenManager({
      store: new LocklessStore(),
      login: () => {
        logins++;
        return gate.promise;
      },
    });
    const waiting = Promise.all(Array.from({ length: 20 }, () => manager.getTokenInfo()));
    gate.resolve({ token: 'tok-1', expiresInMs: 60_000 });

    const infos = await waiting;
    manager.close();

    expect(logins).toBe(1);
    expect(new Set(infos.map((info) => info.token))).toEqual(new Set(['tok-1']));
    expect(new Set(infos.map((info) => info.expiresAt)).size).toBe(1);
  });
});
