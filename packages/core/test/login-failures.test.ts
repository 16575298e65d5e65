import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidCredentialsError,
  LoginFailedError,
  LoginNotFoundError,
  MemoryTokenStore,
  NoActiveOrgError,
  sessionTokenAuth,
  TokenFetchError,
} from '../src/index.js';
import type { MockLoginHook } from '@tokenfetch/mock-upstream';
import {
  clientFor,
  collectEvents,
  createClock,
  demoAuth,
  makeJwt,
  rejectionOf,
  startMock,
  T0,
} from './helpers.js';

const wrongPassword = { ...demoAuth, password: 'not-the-password' };
const otherOrg = { ...demoAuth, orgId: 2 };

afterEach(() => {
  vi.restoreAllMocks();
});

/** No backoff jitter: retries follow each other at once unless Retry-After says otherwise. */
function noJitter() {
  vi.spyOn(Math, 'random').mockReturnValue(0);
}

describe('a 404 that is not the upstream’s own answer: the base URL is wrong (guarantee 6)', () => {
  it('a base URL without its /api meets an HTML 404: LoginNotFoundError naming the URL and the fix', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { baseUrl: mock.origin, onEvent, now: clock.now });

    const error = await rejectionOf(client.fetch('/user/users/me'));

    expect(error).toBeInstanceOf(LoginNotFoundError);
    expect(error).not.toBeInstanceOf(NoActiveOrgError);
    expect(error).toMatchObject({
      code: 'E_LOGIN_NOT_FOUND',
      status: 404,
      url: `${mock.origin}/user/authenticate`,
      message: `login failed: POST ${mock.origin}/user/authenticate is not there (404): is the base URL right (it usually ends in /api)?`,
    });
    expect(ofType('login_failed')).toMatchObject([{ code: 'E_LOGIN_NOT_FOUND', status: 404 }]);

    // Not retried, and remembered for the cooldown like a refusal: a burst makes no login.
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => rejectionOf(client.fetch('/user/users/me'))),
    );
    expect(burst.every((each) => each === error)).toBe(true);
    // The mock counts logins under its prefix only: these are the requests that missed it.
    const logins = () => mock.requests.filter((entry) => entry.path === '/user/authenticate');
    expect(logins()).toHaveLength(1);
    clock.advance(30_000);
    expect(await rejectionOf(client.getToken())).toBeInstanceOf(LoginNotFoundError);
    expect(logins()).toHaveLength(2);
  });

  const answers: Array<[string, Record<string, string>, string, string]> = [
    ['an HTML page', { 'content-type': 'text/html' }, '<h1>Not Found</h1>', 'E_LOGIN_NOT_FOUND'],
    ['plain text', { 'content-type': 'text/plain' }, 'Not Found', 'E_LOGIN_NOT_FOUND'],
    ['an empty body without a type', { 'content-type': '' }, '', 'E_LOGIN_NOT_FOUND'],
    ['JSON', { 'content-type': 'application/json' }, '{"error":"no org"}', 'E_NO_ACTIVE_ORG'],
    [
      'problem+json',
      { 'content-type': 'Application/Problem+JSON; charset=utf-8' },
      '{"title":"no org"}',
      'E_NO_ACTIVE_ORG',
    ],
  ];
  for (const [what, headers, body, code] of answers) {
    it(`a login 404 with ${what} is ${code}`, async () => {
      const mock = await startMock();
      mock.setLoginResponse(() => ({ status: 404, headers, body }));
      const client = clientFor(mock);
      expect(await rejectionOf(client.getToken())).toMatchObject({ code, status: 404 });
    });
  }

  it('the URL in the message carries no query (a login path may carry one)', async () => {
    const mock = await startMock();
    mock.setLoginResponse(() => ({ status: 404, headers: { 'content-type': 'text/html' } }));
    const client = clientFor(mock, {
      auth: sessionTokenAuth({ ...demoAuth, path: '/user/authenticate?tenant=secret-ish' }),
    });
    const error = await rejectionOf(client.getToken());
    expect(error).toMatchObject({ url: `${mock.baseUrl}/user/authenticate` });
    expect((error as Error).message).not.toContain('tenant');
  });
});

describe('login refusals: 401 and 404 (guarantee 6)', () => {
  const refusals = [
    ['401', wrongPassword, InvalidCredentialsError, 'E_INVALID_CREDENTIALS', 401],
    ['404', otherOrg, NoActiveOrgError, 'E_NO_ACTIVE_ORG', 404],
  ] as const;

  for (const [status, auth, ErrorClass, code, errorStatus] of refusals) {
    it(`a login answered ${status} is a ${ErrorClass.name}, not retried`, async () => {
      const mock = await startMock();
      const { onEvent, ofType } = collectEvents();
      const client = clientFor(mock, { auth, onEvent });

      const error = await rejectionOf(client.fetch('/data'));

      expect(error).toBeInstanceOf(ErrorClass);
      expect(error).toBeInstanceOf(TokenFetchError);
      expect((error as InstanceType<typeof ErrorClass>).code).toBe(code);
      expect((error as InstanceType<typeof ErrorClass>).status).toBe(errorStatus);
      expect(mock.stats.loginAttempts).toBe(1);
      expect(mock.stats.calls).toBe(0);
      expect(ofType('login_failed')).toEqual([
        {
          type: 'login_failed',
          code,
          status: errorStatus,
          startedAt: expect.any(Number),
          durationMs: expect.any(Number),
          background: false,
          serverAddress: '127.0.0.1',
          clientId: expect.stringMatching(/^[0-9a-f]{16}$/),
        },
      ]);
    });

    it(`a ${status} refusal is remembered for the cooldown: a burst makes one attempt, after the cooldown a new one`, async () => {
      const clock = createClock();
      const mock = await startMock({ now: clock.now });
      const client = clientFor(mock, { auth, now: clock.now });

      const first = await rejectionOf(client.getToken());
      const burst = await Promise.all(
        Array.from({ length: 30 }, (_, i) => rejectionOf(client.fetch(`/data/${i}`))),
      );
      clock.advance(29_999);
      const late = await rejectionOf(client.getToken());

      expect(burst.every((error) => error === first)).toBe(true);
      expect(late).toBe(first);
      expect(mock.stats.loginAttempts).toBe(1);

      clock.advance(1);
      const again = await rejectionOf(client.getToken());
      expect(again).toBeInstanceOf(ErrorClass);
      expect(again).not.toBe(first);
      expect(mock.stats.loginAttempts).toBe(2);
    });
  }

  it('loginCooldownMs sets how long a refusal is remembered', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const client = clientFor(mock, { auth: wrongPassword, now: clock.now, loginCooldownMs: 1_000 });

    await rejectionOf(client.getToken());
    clock.advance(999);
    await rejectionOf(client.getToken());
    expect(mock.stats.loginAttempts).toBe(1);
    clock.advance(1);
    await rejectionOf(client.getToken());
    expect(mock.stats.loginAttempts).toBe(2);
  });

  it('after the cooldown a corrected upstream lets the login succeed', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.failNextLogins(401, 1);
    const client = clientFor(mock, { now: clock.now });

    await expect(client.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);
    clock.advance(30_000);
    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(2);
  });
});

describe('retried login failures (guarantee 6)', () => {
  for (const status of [500, 502, 503, 429, 408]) {
    it(`a login answered ${status} is retried 2 times, then a LoginFailedError with the status`, async () => {
      noJitter();
      const mock = await startMock();
      mock.failNextLogins(status, 3);
      const { onEvent, ofType } = collectEvents();
      const client = clientFor(mock, { onEvent });

      const error = await rejectionOf(client.getToken());

      expect(error).toBeInstanceOf(LoginFailedError);
      expect((error as LoginFailedError).code).toBe('E_LOGIN_FAILED');
      expect((error as LoginFailedError).status).toBe(status);
      expect(mock.stats.loginAttempts).toBe(3);
      expect(ofType('login_failed')).toMatchObject([
        { type: 'login_failed', code: 'E_LOGIN_FAILED', status, background: false },
      ]);
    });
  }

  it('a login that fails twice with 5xx and then succeeds gives the token', async () => {
    noJitter();
    const mock = await startMock();
    mock.failNextLogins(500, 1);
    mock.failNextLogins(429, 1);
    const client = clientFor(mock);

    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(3);
    expect(mock.stats.successfulLogins).toBe(1);
  });

  it('a network error is retried, then a LoginFailedError whose cause is the fetch error', async () => {
    noJitter();
    const mock = await startMock();
    mock.setLoginResponse(() => 'reset');
    const client = clientFor(mock);

    const error = await rejectionOf(client.getToken());

    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as LoginFailedError).status).toBeUndefined();
    expect((error as LoginFailedError).cause).toBeInstanceOf(TypeError);
    expect(mock.stats.loginAttempts).toBe(3);
  });

  it('loginRetries sets the number of retries', async () => {
    noJitter();
    const mock = await startMock();
    mock.failNextLogins(503, 10);
    const client = clientFor(mock, { loginRetries: 4 });

    await expect(client.getToken()).rejects.toBeInstanceOf(LoginFailedError);
    expect(mock.stats.loginAttempts).toBe(5);
  });

  it('other statuses (400, 405, 3xx) are LoginFailedErrors without retries', async () => {
    const mock = await startMock();
    for (const [status, attempts] of [
      [400, 1],
      [405, 2],
      [302, 3],
    ] as const) {
      mock.failNextLogins(status, 1, status === 302 ? { location: '/elsewhere' } : {});
      const client = clientFor(mock);
      const error = await rejectionOf(client.getToken());
      expect(error).toBeInstanceOf(LoginFailedError);
      expect((error as LoginFailedError).status).toBe(status);
      expect(mock.stats.loginAttempts).toBe(attempts);
    }
  });

  it('Retry-After is honoured between attempts', async () => {
    noJitter();
    // The clock stands 150 ms before a whole second; Retry-After names that second.
    const clock = createClock(T0 - 150);
    const mock = await startMock();
    mock.failNextLogins(503, 1, { 'retry-after': new Date(T0).toUTCString() });
    const client = clientFor(mock, { now: clock.now });

    const started = performance.now();
    const token = await client.getToken();
    const elapsed = performance.now() - started;

    expect(typeof token).toBe('string');
    expect(mock.stats.loginAttempts).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(140);
  });

  it('an unreadable Retry-After is ignored: the retry follows the backoff', async () => {
    noJitter();
    const mock = await startMock();
    mock.failNextLogins(503, 1, { 'retry-after': 'soon' });
    const client = clientFor(mock);

    const started = performance.now();
    expect(typeof (await client.getToken())).toBe('string');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(mock.stats.loginAttempts).toBe(2);
  });

  it('a Retry-After beyond the login timeout ends the login at once with the LoginFailedError', async () => {
    noJitter();
    const mock = await startMock();
    mock.failNextLogins(429, 3, { 'retry-after': '3' });
    const client = clientFor(mock, { loginTimeoutMs: 2_000 });

    const started = performance.now();
    const error = await rejectionOf(client.getToken());

    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as LoginFailedError).status).toBe(429);
    expect((error as LoginFailedError).retryAfterMs).toBe(3_000);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a LoginFailedError is not cached: the next call tries again', async () => {
    noJitter();
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.failNextLogins(500, 3);
    const client = clientFor(mock, { now: clock.now });

    await expect(client.getToken()).rejects.toBeInstanceOf(LoginFailedError);
    expect(mock.stats.loginAttempts).toBe(3);

    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(4);
  });
});

describe('Retry-After is remembered until it passes (guarantee 6)', () => {
  for (const status of [429, 503]) {
    it(`a ${status} login with Retry-After: 60 is obeyed: 3 sequential calls make one attempt and say when to retry`, async () => {
      noJitter();
      const clock = createClock();
      const mock = await startMock({ now: clock.now });
      mock.failNextLogins(status, 10, { 'retry-after': '60' });
      const client = clientFor(mock, { now: clock.now, loginTimeoutMs: 2_000 });

      const first = await rejectionOf(client.getToken());
      clock.advance(15_000);
      const second = await rejectionOf(client.fetch('/data'));
      clock.advance(15_000);
      const third = await rejectionOf(client.json('/data'));

      expect(mock.stats.loginAttempts).toBe(1);
      expect((first as LoginFailedError).retryAfterMs).toBe(60_000);
      for (const [error, left] of [
        [second, 45_000],
        [third, 30_000],
      ] as const) {
        expect(error).toBeInstanceOf(LoginFailedError);
        expect((error as LoginFailedError).status).toBe(status);
        expect((error as LoginFailedError).retryAfterMs).toBe(left);
        expect((error as LoginFailedError).message).toBe(
          `login answered ${status}; no login is tried before it has passed: retry after ${left / 1000} s`,
        );
      }

      clock.advance(30_000);
      await rejectionOf(client.getToken());
      expect(mock.stats.loginAttempts).toBe(2);
    });
  }

  it('a Retry-After longer than 5 s ends the login at once instead of retrying early', async () => {
    noJitter();
    const mock = await startMock();
    mock.failNextLogins(429, 3, { 'retry-after': '6' });
    const client = clientFor(mock);

    const started = performance.now();
    const error = await rejectionOf(client.getToken());

    expect((error as LoginFailedError).retryAfterMs).toBe(6_000);
    expect(mock.stats.loginAttempts).toBe(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a Retry-After of a day holds logins back for 5 minutes at most', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.failNextLogins(503, 2, { 'retry-after': '86400' });
    const client = clientFor(mock, { now: clock.now });

    await rejectionOf(client.getToken());
    clock.advance(299_999);
    expect(((await rejectionOf(client.getToken())) as LoginFailedError).retryAfterMs).toBe(1);
    clock.advance(1);
    await rejectionOf(client.getToken());
    expect(mock.stats.loginAttempts).toBe(2);
  });

  it('is shared through the store: a client sharing it makes no attempt until it has passed', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.failNextLogins(429, 1, { 'retry-after': '60' });
    const store = new MemoryTokenStore({ now: clock.now });
    const first = clientFor(mock, { store, now: clock.now });
    const second = clientFor(mock, { store, now: clock.now });

    await rejectionOf(first.getToken());
    clock.advance(10_000);
    const error = await rejectionOf(second.fetch('/data'));

    expect(mock.stats.loginAttempts).toBe(1);
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as LoginFailedError).status).toBe(429);
    expect((error as LoginFailedError).retryAfterMs).toBe(50_000);
    expect((error as LoginFailedError).message).toBe(
      'a recent login answered 429; no login is tried before it has passed: retry after 50 s',
    );

    clock.advance(50_000);
    expect((await second.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(2);
  });
});

describe('unusable login answers: a cooldown with backoff (guarantee 6)', () => {
  const unusable: Array<[string, MockLoginHook]> = [
    ['an empty body', () => ({ body: '' })],
    ['a body of an unknown shape', () => ({ body: JSON.stringify({ session: { id: 1 } }) })],
    ['a token with non-ASCII characters', () => ({ body: JSON.stringify({ token: 'tökén' }) })],
    [
      'a JWT whose exp has passed',
      () => ({ body: JSON.stringify({ token: makeJwt({ exp: T0 / 1000 - 60 }) }) }),
    ],
  ];

  for (const [name, hook] of unusable) {
    it(`a 2xx login answer with ${name} is remembered for 1 s: 20 calls make one attempt`, async () => {
      const clock = createClock();
      const mock = await startMock({ now: clock.now });
      mock.setLoginResponse(hook);
      const client = clientFor(mock, { now: clock.now });

      const first = await rejectionOf(client.getToken());
      const errors: unknown[] = [];
      for (let i = 0; i < 19; i++) errors.push(await rejectionOf(client.fetch(`/data/${i}`)));

      expect(first).toBeInstanceOf(LoginFailedError);
      expect(mock.stats.loginAttempts).toBe(1);
      for (const error of errors) {
        expect(error).toBeInstanceOf(LoginFailedError);
        expect((error as LoginFailedError).retryAfterMs).toBe(1_000);
        expect((error as LoginFailedError).message).toMatch(/retry after 1 s$/);
        expect((error as LoginFailedError).cause).toBe(first);
      }

      clock.advance(1_000);
      await rejectionOf(client.getToken());
      expect(mock.stats.loginAttempts).toBe(2);
    });
  }

  it('the cooldown doubles with each unusable answer in a row, up to loginCooldownMs; a good login ends the series', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    let broken = true;
    mock.setLoginResponse(() => (broken ? { body: '' } : undefined));
    const client = clientFor(mock, { now: clock.now, loginCooldownMs: 5_000 });

    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await rejectionOf(client.getToken());
      const error = (await rejectionOf(client.getToken())) as LoginFailedError;
      waits.push(error.retryAfterMs ?? -1);
      clock.advance(error.retryAfterMs ?? 0);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(mock.stats.loginAttempts).toBe(5);

    broken = false;
    await client.getToken();
    mock.revokeTokens();
    broken = true;
    expect(await rejectionOf(client.fetch('/data'))).toBeInstanceOf(LoginFailedError);
    const error = (await rejectionOf(client.getToken())) as LoginFailedError;
    expect(error.retryAfterMs).toBe(1_000);
    expect(mock.stats.loginAttempts).toBe(7);
  });

  it('is shared through the store: a client sharing it makes no attempt and says when to retry', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.setLoginResponse(() => ({ body: '' }));
    const store = new MemoryTokenStore({ now: clock.now });
    const first = clientFor(mock, { store, now: clock.now });
    const second = clientFor(mock, { store, now: clock.now });

    await rejectionOf(first.getToken());
    clock.advance(400);
    const error = await rejectionOf(second.fetch('/data'));

    expect(mock.stats.loginAttempts).toBe(1);
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as LoginFailedError).status).toBe(200);
    expect((error as LoginFailedError).retryAfterMs).toBe(600);
    expect((error as LoginFailedError).message).toBe(
      'a recent login answered 200 without a usable token; no login is tried before it has passed: retry after 1 s',
    );
  });

  it('a shared E_LOGIN_FAILED read from the store is a LoginFailedError, not a refusal', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const store = new MemoryTokenStore({ now: clock.now });
    const lease = await store.acquire('x');
    await store.release(lease!, { code: 'E_LOGIN_FAILED', until: T0 + 5_000, status: 503 });
    const client = clientFor(mock, { store: new SharedFailureStore(store), now: clock.now });

    const error = await rejectionOf(client.getToken());

    expect(error).toBeInstanceOf(LoginFailedError);
    expect(error).not.toBeInstanceOf(NoActiveOrgError);
    expect((error as LoginFailedError).status).toBe(503);
    expect((error as LoginFailedError).retryAfterMs).toBe(5_000);
    expect(mock.stats.loginAttempts).toBe(0);
  });
});

/** A store that answers every key with the shared failure `inner` holds under `x`. */
class SharedFailureStore extends MemoryTokenStore {
  constructor(private readonly inner: MemoryTokenStore) {
    super();
  }

  override getFailure() {
    return this.inner.getFailure('x');
  }
}
