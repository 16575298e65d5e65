import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_USER, startMockUpstream, type MockLoginHook } from '@tokenfetch/mock-upstream';
import type { MockUpstream } from '@tokenfetch/mock-upstream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createApiClient,
  LoginFailedError,
  TokenFetchError,
  type ApiClient,
  type ApiClientOptions,
} from '../src/index.js';
import {
  closeAfterTest,
  failOnUnhandledRejection,
  rejectionOf,
  startRecordingServer,
} from './hostile-helpers.js';
import { watchCoreTimers } from './core-timers.js';

const auth = { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 };

async function setup(
  hook: MockLoginHook | undefined,
  options: Partial<ApiClientOptions> = {},
): Promise<{ mock: MockUpstream; client: ApiClient; attempts: number[] }> {
  const mock = closeAfterTest(await startMockUpstream());
  const attempts: number[] = [];
  mock.setLoginResponse((request) => {
    attempts.push(Date.now());
    return hook?.(request);
  });
  const client = closeAfterTest(createApiClient({ baseUrl: mock.baseUrl, auth, ...options }));
  return { mock, client, attempts };
}

/**
 * Both ways a caller meets a login (`getToken()` and `fetch()`) reject with a
 * `LoginFailedError`, code `E_LOGIN_FAILED`, and a message that reads as a sentence.
 */
async function expectLoginFailed(client: ApiClient, message: RegExp): Promise<LoginFailedError> {
  const error = await rejectionOf(client.getToken());
  expectReadable(error, message);
  // The fetch path reports the same kind of error: for an answer that is not retried, from
  // the cooldown, with the wait (guarantee 6); for the others, from a new login.
  expectReadable(await rejectionOf(client.fetch('/data/1')), message);
  return error as LoginFailedError;
}

function expectReadable(error: unknown, message: RegExp): void {
  expect(error).toBeInstanceOf(TokenFetchError);
  expect(error).toBeInstanceOf(LoginFailedError);
  const failure = error as LoginFailedError;
  expect(failure.name).toBe('LoginFailedError');
  expect(failure.code).toBe('E_LOGIN_FAILED');
  expect(failure.message).toMatch(message);
  expect(failure.message).not.toMatch(/\[object |undefined/);
  expect(failure.message.length).toBeLessThan(200);
}

const json = (body: unknown) => ({ body: JSON.stringify(body) });

const realSetTimeout = globalThis.setTimeout;

/**
 * Fakes `Date` and the timers for the rest of the test; sockets stay real, so HTTP flows
 * while the clock stands still until `vi.advanceTimersByTimeAsync`. Returns the watch of
 * the timers core starts.
 */
function fakeClock(): ReturnType<typeof watchCoreTimers> {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  return watchCoreTimers();
}

/**
 * Waits, in real time (2 s at most), until core has started a timer whose delay `matches`,
 * and returns that delay.
 */
async function timerStarted(
  timers: ReturnType<typeof watchCoreTimers>,
  what: string,
  matches: (ms: number) => boolean,
): Promise<number> {
  for (let waited = 0; ; waited += 5) {
    const found = timers.started.find((timer) => timer.ms !== undefined && matches(timer.ms));
    if (found?.ms !== undefined) return found.ms;
    if (waited >= 2_000) {
      const seen = timers.started.map((timer) => timer.ms).join(', ');
      throw new Error(`core started no timer of ${what} (it started: ${seen})`);
    }
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

describe('hostile login answers (behaviours 6, 7, 9)', () => {
  beforeEach(() => {
    failOnUnhandledRejection();
  });
  afterEach(() => {
    // The watch first: it wraps the fake setTimeout, which useRealTimers then replaces.
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  describe('answers that never come', () => {
    it('a login slower than loginTimeoutMs fails after the timeout with LoginFailedError', async () => {
      const { mock, client, attempts } = await setup(undefined, { loginTimeoutMs: 200 });
      mock.setLoginDelay(5_000);
      const started = Date.now();
      const error = await rejectionOf(client.getToken());
      const elapsed = Date.now() - started;
      expectReadable(error, /timed out after 200 ms/);
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(2_000);
      expect(attempts).toHaveLength(0); // the delay comes before the hook: it never answered
      expect(mock.stats.loginAttempts).toBe(1);
    });

    it('a login that hangs forever is cut at loginTimeoutMs', async () => {
      const { client, attempts } = await setup(() => 'hang', { loginTimeoutMs: 200 });
      const started = Date.now();
      const error = await expectLoginFailed(client, /timed out after 200 ms/);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error.retryable).toBe(true);
      expect(attempts).toHaveLength(2); // one per caller path, none retried past the deadline
    });

    it('a connection reset is retried, then LoginFailedError with the network error as cause', async () => {
      const { client, attempts } = await setup(() => 'reset', { loginTimeoutMs: 5_000 });
      const error = await rejectionOf(client.getToken());
      expectReadable(error, /did not complete/);
      expect((error as LoginFailedError).cause).toBeInstanceOf(Error);
      expect((error as LoginFailedError).cause).not.toBeInstanceOf(TokenFetchError);
      expect(attempts).toHaveLength(3); // the default 2 retries
    });
  });

  describe('answers cut off in the body', () => {
    /** A login server that sends the head of a JSON answer, then `then` happens. */
    async function truncatingServer(then: 'reset' | 'stall'): Promise<{
      baseUrl: string;
      attempts: () => number;
    }> {
      let attempts = 0;
      const server = createServer((req, res) => {
        attempts++;
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
          res.write('{"token":"abc');
          if (then === 'reset') setTimeout(() => res.socket?.destroy(), 5);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closeAfterTest({
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      });
      const { port } = server.address() as AddressInfo;
      return { baseUrl: `http://127.0.0.1:${port}/api`, attempts: () => attempts };
    }

    it('a connection reset mid-body is retried, then LoginFailedError with the cause', async () => {
      const upstream = await truncatingServer('reset');
      const client = closeAfterTest(
        createApiClient({ baseUrl: upstream.baseUrl, auth, loginTimeoutMs: 5_000 }),
      );
      const error = await rejectionOf(client.getToken());
      expectReadable(error, /could not be read/);
      expect((error as LoginFailedError).cause).toBeInstanceOf(Error);
      expect(upstream.attempts()).toBe(3);
    });

    it('a body that stalls after its first bytes is cut at loginTimeoutMs', async () => {
      const upstream = await truncatingServer('stall');
      const client = closeAfterTest(
        createApiClient({ baseUrl: upstream.baseUrl, auth, loginTimeoutMs: 200 }),
      );
      const started = Date.now();
      const error = await rejectionOf(client.getToken());
      expectReadable(error, /timed out after 200 ms/);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(upstream.attempts()).toBe(1);
    });
  });

  describe('answers without a usable token (not retried)', () => {
    const cases: Array<[string, ReturnType<MockLoginHook>, RegExp]> = [
      ['an empty body', { body: '' }, /empty body/],
      [
        'a body that is not JSON under a JSON content-type',
        { body: '<html>oops</html>', headers: { 'content-type': 'application/json' } },
        /not valid JSON \(content-type application\/json\)/,
      ],
      ['JSON null', { body: 'null' }, /has no token \(saw JSON null\)/],
      ['a JSON array', { body: '["abc"]' }, /has no token \(saw a JSON array\)/],
      ['a JSON number', { body: '42' }, /has no token \(saw a JSON number\)/],
      ['a JSON boolean', { body: 'true' }, /has no token \(saw a JSON boolean\)/],
      ['an empty JSON object', { body: '{}' }, /has no token \(saw an empty JSON object\)/],
      ['a token that is a number', json({ token: 12345 }), /has no token/],
      ['a token with CR/LF', json({ token: 'abc\r\ndef' }), /not a printable ASCII string/],
      ['a token with a space', json({ token: 'abc def' }), /not a printable ASCII string/],
      ['a token with a tab', json({ token: 'abc\tdef' }), /not a printable ASCII string/],
      ['a non-ASCII token', json({ token: 'tökén' }), /not a printable ASCII string/],
      ['a token with a NUL', json({ token: 'abc\u0000' }), /not a printable ASCII string/],
      ['an empty token', json({ token: '' }), /not a printable ASCII string/],
      ['a JSON string with a space', json('abc def'), /not a printable ASCII string/],
      [
        'a text/plain body of several words',
        { body: 'abc\r\ndef', headers: { 'content-type': 'text/plain' } },
        /not JSON and not a single token \(content-type text\/plain\)/,
      ],
      [
        'a text/plain non-ASCII token',
        { body: 'tökén', headers: { 'content-type': 'text/plain' } },
        /not a printable ASCII string/,
      ],
    ];

    for (const [name, answer, message] of cases) {
      it(`${name} → LoginFailedError`, async () => {
        const { client, attempts } = await setup(() => answer);
        const error = await expectLoginFailed(client, message);
        expect(error.retryable).toBe(false);
        // Not retried, and remembered for the cooldown: the second call makes no attempt.
        expect(attempts).toHaveLength(1);
      });
    }

    it('a JSON answer that starts with a byte order mark is read, as fetch’s json() reads it', async () => {
      const { client } = await setup((request) => ({
        body: `\uFEFF${JSON.stringify({ token: request.issueToken() })}`,
      }));

      expect((await client.fetch('/user/users/me')).status).toBe(200);
    });

    it('JSON without a token: the message names the keys it saw, never their values', async () => {
      const { client } = await setup(() =>
        json({ session: 'VALUE-ONE', user: { id: 'VALUE-TWO', name: 'VALUE-THREE' }, ok: true }),
      );
      const error = await expectLoginFailed(client, /has no token/);
      expect(error.message).toBe(
        'login answer has no token (saw a JSON object with keys: session, user.{id, name}, ok)',
      );
      expect(error.message).not.toMatch(/VALUE|true/);
    });

    it('a huge body with a content-length is refused without being read', async () => {
      const body = JSON.stringify({ token: 'abc', padding: 'x'.repeat(5_000_000) });
      const { client } = await setup(() => ({
        body,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      }));
      await expectLoginFailed(client, /too large \(\d+ bytes\)/);
    });

    it('a huge chunked body (no content-length) is refused', async () => {
      const body = JSON.stringify({ token: 'abc', padding: 'x'.repeat(5_000_000) });
      const { client } = await setup(() => ({ body }));
      await expectLoginFailed(client, /too large \(over \d+ bytes\)/);
    });

    it('a 302 on the login is not followed: LoginFailedError, the target receives nothing', async () => {
      const elsewhere = await startRecordingServer();
      const { client, attempts } = await setup(() => ({
        status: 302,
        headers: { location: `${elsewhere.origin}/steal` },
      }));
      const error = await expectLoginFailed(client, /login answered 302/);
      expect(error.status).toBe(302);
      expect(error.retryable).toBe(false);
      expect(attempts).toHaveLength(1);
      expect(elsewhere.connections).toBe(0);
      expect(elsewhere.requests).toEqual([]);
    });

    it('a 307 on the login is not followed either (it would re-send the password)', async () => {
      const elsewhere = await startRecordingServer();
      const { client } = await setup(() => ({
        status: 307,
        headers: { location: `${elsewhere.origin}/steal` },
      }));
      await expectLoginFailed(client, /login answered 307/);
      expect(elsewhere.connections).toBe(0);
    });

    it('400 is not retried', async () => {
      const { client, attempts } = await setup(() => ({ status: 400, body: '{"error":"bad"}' }));
      const error = await rejectionOf(client.getToken());
      expectReadable(error, /login answered 400/);
      expect((error as LoginFailedError).status).toBe(400);
      expect(attempts).toHaveLength(1);
    });
  });

  describe('answers worth retrying', () => {
    it('500s then success: retried, and the token works', async () => {
      let answered = 0;
      const { client, attempts } = await setup(() =>
        ++answered <= 2 ? { status: 500, body: '{}' } : undefined,
      );
      const response = await client.fetch('/user/users/me');
      expect(response.status).toBe(200);
      expect(attempts).toHaveLength(3);
    });

    it('503s past the retries: LoginFailedError with the status, after 1 + loginRetries attempts', async () => {
      const { client, attempts } = await setup(() => ({ status: 503, body: '{}' }), {
        loginRetries: 1,
      });
      const error = await rejectionOf(client.getToken());
      expectReadable(error, /login answered 503/);
      expect((error as LoginFailedError).status).toBe(503);
      expect(attempts).toHaveLength(2);
    });

    it('429 without Retry-After is retried after a short backoff', async () => {
      const timers = fakeClock();
      let answered = 0;
      const { client, attempts } = await setup(() =>
        ++answered === 1 ? { status: 429, body: '{}' } : undefined,
      );
      const token = client.getToken();
      token.catch(() => {}); // a failure is reported by the await below

      const backoff = await timerStarted(timers, 'under 600 ms', (ms) => ms < 600);
      await vi.advanceTimersByTimeAsync(backoff);
      await token;

      expect(attempts).toHaveLength(2);
      const [first = 0, second = 0] = attempts;
      expect(second - first).toBeLessThan(600);
    });

    it('429 with Retry-After in seconds: the retry waits that long', async () => {
      const timers = fakeClock();
      let answered = 0;
      const { client, attempts } = await setup(
        () =>
          ++answered === 1
            ? { status: 429, headers: { 'retry-after': '1' }, body: '{}' }
            : undefined,
        { loginTimeoutMs: 5_000 },
      );
      const token = client.getToken();
      token.catch(() => {}); // a failure is reported by the await below

      await timerStarted(timers, '1000 ms', (ms) => ms === 1_000);
      await vi.advanceTimersByTimeAsync(999);
      expect(attempts).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await token;

      expect(attempts).toHaveLength(2);
      const [first = 0, second = 0] = attempts;
      expect(second - first).toBe(1_000);
    });

    it('429 with Retry-After as an HTTP date: the retry waits until then (by the injected clock)', async () => {
      const timers = fakeClock();
      // A whole second, as HTTP dates have no milliseconds, and years before the (fake)
      // Date.now(): read by Date.now(), the date would be long past and the retry immediate.
      const t0 = 1_700_000_000_000;
      let answered = 0;
      const { client, attempts } = await setup(
        () =>
          ++answered === 1
            ? {
                status: 429,
                headers: { 'retry-after': new Date(t0 + 1_000).toUTCString() },
                body: '{}',
              }
            : undefined,
        { loginTimeoutMs: 5_000, now: () => t0 },
      );
      const token = client.getToken();
      token.catch(() => {}); // a failure is reported by the await below

      await timerStarted(timers, '1000 ms', (ms) => ms === 1_000);
      await vi.advanceTimersByTimeAsync(999);
      expect(attempts).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await token;

      expect(attempts).toHaveLength(2);
      const [first = 0, second = 0] = attempts;
      expect(second - first).toBe(1_000);
    });

    it('a Retry-After longer than what is left of loginTimeoutMs fails at once instead of waiting', async () => {
      const { client, attempts } = await setup(
        () => ({ status: 429, headers: { 'retry-after': '3' }, body: '{}' }),
        { loginTimeoutMs: 1_000 },
      );
      const started = Date.now();
      const error = await rejectionOf(client.getToken());
      expectReadable(error, /login answered 429/);
      expect((error as LoginFailedError).retryAfterMs).toBe(3_000);
      expect(Date.now() - started).toBeLessThan(900);
      expect(attempts).toHaveLength(1);
    });
  });
});
