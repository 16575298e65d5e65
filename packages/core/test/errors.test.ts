import { describe, expect, it } from 'vitest';
import { toProblemDetails } from '../src/adapter-kit/problem-details.js';
import {
  ClientClosedError,
  ConfigError,
  CrossOriginError,
  InvalidCredentialsError,
  InvalidResponseError,
  isTokenFetchError,
  LoginFailedError,
  LoginNotFoundError,
  NoActiveOrgError,
  TokenFetchError,
  UpstreamError,
  type TokenFetchErrorCode,
} from '../src/index.js';

const brand = Symbol.for('tokenfetch.error');

/** An error as a second installed copy of tokenfetch would make it: same brand, own class. */
class OtherCopyError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(`from another copy (${code})`);
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }
}

const classes = [
  [InvalidCredentialsError, 'E_INVALID_CREDENTIALS', () => new InvalidCredentialsError()],
  [NoActiveOrgError, 'E_NO_ACTIVE_ORG', () => new NoActiveOrgError()],
  [LoginNotFoundError, 'E_LOGIN_NOT_FOUND', () => new LoginNotFoundError('https://x/login')],
  [LoginFailedError, 'E_LOGIN_FAILED', () => new LoginFailedError('x', { status: 503 })],
  [CrossOriginError, 'E_CROSS_ORIGIN', () => new CrossOriginError('x')],
  [ConfigError, 'E_CONFIG', () => new ConfigError([{ path: 'a', message: 'b' }])],
  [UpstreamError, 'E_UPSTREAM_STATUS', () => new UpstreamError(500, 'body', '/x')],
  [InvalidResponseError, 'E_INVALID_RESPONSE', () => new InvalidResponseError('x', 200)],
  [ClientClosedError, 'E_CLOSED', () => new ClientClosedError()],
] as const;

describe('errors', () => {
  it('a problem document for an error of another copy with a code this copy does not know: 500, its code kept', () => {
    const problem = toProblemDetails(new OtherCopyError('E_SOMETHING_NEW'));

    expect(problem).toEqual({
      type: 'urn:tokenfetch:error:something-new',
      title: 'tokenfetch failed',
      status: 500,
      detail: 'from another copy (E_SOMETHING_NEW)',
      code: 'E_SOMETHING_NEW',
    });
  });

  it('answers each error with the status of the README’s table: login and upstream 502, refusals of ours 500, closed 503', () => {
    const statuses = Object.fromEntries(
      classes.map(([, code, make]) => [code, toProblemDetails(make())?.status]),
    );
    expect(statuses).toEqual({
      E_INVALID_CREDENTIALS: 502,
      E_NO_ACTIVE_ORG: 502,
      E_LOGIN_NOT_FOUND: 502,
      E_LOGIN_FAILED: 502,
      E_UPSTREAM_STATUS: 502,
      E_INVALID_RESPONSE: 502,
      E_CROSS_ORIGIN: 500,
      E_CONFIG: 500,
      E_CLOSED: 503,
    });
    expect(toProblemDetails(new Error('not ours'))).toBeUndefined();
  });

  for (const [ErrorClass, code, make] of classes) {
    it(`${ErrorClass.name} has code ${code}, its name, and is a TokenFetchError`, () => {
      const error = make();
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(TokenFetchError);
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error.code).toBe(code);
      expect(error.name).toBe(ErrorClass.name);
      expect(String(error)).toMatch(new RegExp(`^${ErrorClass.name}: `));
      expect(isTokenFetchError(error)).toBe(true);
      for (const [Other] of classes) {
        if (Other !== ErrorClass) expect(error).not.toBeInstanceOf(Other);
      }
    });

    it(`instanceof ${ErrorClass.name} works for an error of a second installed copy`, () => {
      const foreign = new OtherCopyError(code);
      expect(foreign).toBeInstanceOf(ErrorClass);
      expect(foreign).toBeInstanceOf(TokenFetchError);
      expect(isTokenFetchError(foreign)).toBe(true);
    });
  }

  it('a branded object of another code is a TokenFetchError but not of the wrong subclass', () => {
    const foreign = new OtherCopyError('E_LOGIN_FAILED');
    expect(foreign).not.toBeInstanceOf(InvalidCredentialsError);
    expect(foreign).not.toBeInstanceOf(UpstreamError);
  });

  it('look-alikes without the brand are not tokenfetch errors', () => {
    const lookAlike = Object.assign(new Error('x'), { code: 'E_LOGIN_FAILED' });
    const stringBrand = { code: 'E_CONFIG', 'tokenfetch.error': true };
    for (const value of [lookAlike, stringBrand, null, undefined, 'E_CONFIG', 42]) {
      expect(isTokenFetchError(value)).toBe(false);
      expect(value instanceof TokenFetchError).toBe(false);
      expect(value instanceof ConfigError).toBe(false);
    }
  });

  it('a plain object with the brand and code passes, as a structured clone of an error would', () => {
    const plain = { [brand]: true, code: 'E_NO_ACTIVE_ORG' satisfies TokenFetchErrorCode };
    expect(plain).toBeInstanceOf(NoActiveOrgError);
    expect(isTokenFetchError(plain)).toBe(true);
  });

  it('LoginFailedError carries status, cause, retryable and retryAfterMs', () => {
    const cause = new TypeError('fetch failed');
    const error = new LoginFailedError('login answered 429', {
      status: 429,
      cause,
      retryable: true,
      retryAfterMs: 2_000,
    });
    expect(error).toMatchObject({ status: 429, cause, retryable: true, retryAfterMs: 2_000 });
    const bare = new LoginFailedError('no token');
    expect(bare.retryable).toBe(false);
    expect(bare.status).toBeUndefined();
    expect('cause' in bare).toBe(false);
  });

  it('refusals carry their HTTP status', () => {
    expect(new InvalidCredentialsError().status).toBe(401);
    expect(new NoActiveOrgError().status).toBe(404);
  });

  it('ConfigError lists every issue in its message, one per line', () => {
    const error = new ConfigError([
      { path: 'baseUrl', message: 'must be an absolute https URL' },
      { path: 'auth.email', message: 'required' },
    ]);
    expect(error.message).toBe(
      'invalid tokenfetch options:\n  - baseUrl: must be an absolute https URL\n  - auth.email: required',
    );
  });
});
