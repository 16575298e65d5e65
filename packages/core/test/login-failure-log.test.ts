import { describe, expect, it, vi } from 'vitest';
import {
  createApiFetchBinder,
  createLoginFailureLog,
  createRequestBinding,
  describeLoginCause,
} from '../src/adapter.js';
import {
  CrossOriginError,
  InvalidCredentialsError,
  LoginFailedError,
  LoginNotFoundError,
} from '../src/index.js';
import { clientFor, createClock, demoAuth, rejectionOf, startMock } from './helpers.js';

/** A system error as Node makes it: code, syscall, address and port as own fields. */
function systemError(code: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(`connect ${code} with a message never printed`), {
    code,
    ...fields,
  });
}

/** A network failure of a login, as core reports it: LoginFailedError ← TypeError ← system error. */
function networkFailure(cause: unknown): LoginFailedError {
  return new LoginFailedError('login failed: the login request did not complete', {
    cause: new TypeError('fetch failed', { cause }),
    retryable: true,
  });
}

// The adapters' log of failed logins (DESIGN.md "Events"); each adapter's own is in
// test/adapters/contract.ts.
describe('the log of failed logins (adapter kit)', () => {
  it('writes each distinct failure once per window; the same one again after it', () => {
    const clock = createClock();
    const write = vi.fn();
    const report = createLoginFailureLog(write, { windowMs: 30_000, now: clock.now });
    const refused = new InvalidCredentialsError();
    const refusedPort = networkFailure(
      systemError('ECONNREFUSED', { address: '127.0.0.1', port: 4011 }),
    );
    for (let i = 0; i < 5; i++) {
      report(refused, 'req');
      report(refusedPort, 'req');
    }
    expect(write).toHaveBeenCalledTimes(2);
    expect(write.mock.calls[0]).toEqual([
      'tokenfetch: E_INVALID_CREDENTIALS: login refused: invalid credentials (401): check the email and password (logged once per 30 s while it lasts)',
      'req',
    ]);
    expect(write.mock.calls[1]?.[0]).toBe(
      'tokenfetch: E_LOGIN_FAILED: login failed: the login request did not complete: ECONNREFUSED 127.0.0.1:4011: nothing listens there: is the upstream running, and the port in the base URL right? (logged once per 30 s while it lasts)',
    );
    // Another cause is another failure; the same after the window is written again.
    report(networkFailure(systemError('ENOTFOUND', { hostname: 'acme.example' })), 'req');
    expect(write).toHaveBeenCalledTimes(3);
    expect(write.mock.calls[2]?.[0]).toContain(
      "ENOTFOUND acme.example: the host name does not resolve: is the base URL's host right?",
    );
    clock.advance(29_999);
    report(refused, 'req');
    expect(write).toHaveBeenCalledTimes(3);
    clock.advance(1);
    report(refused, 'req');
    expect(write).toHaveBeenCalledTimes(4);
  });

  it('ignores what is not a login failure: a refused URL, an abort, a plain error', () => {
    const write = vi.fn();
    const report = createLoginFailureLog(write);
    report(new CrossOriginError('refused'), undefined);
    report(new DOMException('gone', 'AbortError'), undefined);
    report(new Error('E_INVALID_CREDENTIALS'), undefined);
    report(undefined, undefined);
    expect(write).not.toHaveBeenCalled();
  });

  it('reads the cause through an AggregateError (a host tried on several addresses), IPv6 in brackets', () => {
    const aggregate = Object.assign(
      new AggregateError([
        systemError('ECONNREFUSED', { address: '::1', port: 4011 }),
        systemError('ECONNREFUSED', { address: '127.0.0.1', port: 4011 }),
      ]),
      { code: 'ECONNREFUSED' },
    );
    expect(describeLoginCause(networkFailure(aggregate))).toMatchObject({
      code: 'ECONNREFUSED',
      where: 'ECONNREFUSED [::1]:4011',
    });
    // A runtime that says TLS's mistake in the message only.
    expect(describeLoginCause(networkFailure(new TypeError('SSL: wrong version number')))).toEqual({
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
      where: 'ERR_SSL_WRONG_VERSION_NUMBER',
      hint: 'the server does not speak TLS there: is this port http, not https?',
    });
    // No network cause: a refusal, an unusable answer.
    expect(describeLoginCause(new LoginNotFoundError('https://x/login'))).toBeUndefined();
    // Fields that are not an address or a host name are not printed.
    expect(
      describeLoginCause(
        networkFailure(systemError('ECONNRESET', { address: 'pw=hunter2', hostname: 'a b' })),
      ),
    ).toMatchObject({ where: 'ECONNRESET' });
  });

  it('a logger that throws does not change the call’s own error', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { ...demoAuth, password: 'wrong' } });
    const report = vi.fn(() => {
      throw new Error('broken logger');
    });
    const bind = createApiFetchBinder(client, report);
    const response = { once: () => {}, writableFinished: false, closed: false };
    const error = await rejectionOf(bind(response, 'req')('/user/users/me'));
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(report).toHaveBeenCalledWith(error, 'req');
  });

  it('a client from elsewhere (a wrapper) has its failures reported too', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { ...demoAuth, password: 'wrong' } });
    const wrapper = { ...client, fetch: client.fetch.bind(client), as: client.as.bind(client) };
    const lines: string[] = [];
    const binding = createRequestBinding<string>({
      client: wrapper,
      logger: { error: (line) => lines.push(line) },
    });
    const response = { once: () => {}, writableFinished: false, closed: false };
    await rejectionOf(binding.bind('req', response)('/user/users/me'));
    await rejectionOf(binding.bind('req', response)('/user/users/me'));
    expect(lines).toEqual([expect.stringMatching(/^tokenfetch: E_INVALID_CREDENTIALS: /)]);
  });

  it('{ logger } alone is the environment’s client, as no argument', async () => {
    vi.stubEnv('API_BASE_URL', 'https://api.example.com');
    vi.stubEnv('API_KEY', 'k');
    const binding = createRequestBinding({ logger: false });
    expect(binding.owned).toBe(true);
    await binding.client?.close();
    vi.unstubAllEnvs();
  });
});
