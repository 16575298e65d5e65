/**
 * The shared layer, the bottom of core: what every other layer may use and which uses
 * nothing of theirs. The error family (this file), every default in one place
 * (`defaults.ts`), the events and their emitter (`events.ts`), the ways waits and calls end
 * early (`abort.ts`: abort groups, per-call controllers, abortable sleeps, unref'd timers
 * on every runtime) and byte helpers (`bytes.ts`).
 */
/** Every error tokenfetch throws carries one of these stable codes. */
export type TokenFetchErrorCode =
  | 'E_INVALID_CREDENTIALS'
  | 'E_NO_ACTIVE_ORG'
  | 'E_LOGIN_NOT_FOUND'
  | 'E_INVALID_GRANT'
  | 'E_LOGIN_FAILED'
  | 'E_CROSS_ORIGIN'
  | 'E_CONFIG'
  | 'E_UPSTREAM_STATUS'
  | 'E_INVALID_RESPONSE'
  | 'E_CLOSED';

const brand = Symbol.for('tokenfetch.error');

/**
 * Base class of every tokenfetch error. `instanceof` works across two installed copies of
 * the package (the check uses a global symbol and the error's `code`).
 *
 * Nothing secret is ever part of a message, a `cause` or any other property.
 */
export class TokenFetchError extends Error {
  override name = 'TokenFetchError';
  /** The stable code of this kind of error, such as `E_LOGIN_FAILED`. */
  readonly code: TokenFetchErrorCode;
  /** Set on subclasses: the code their instances carry. */
  static readonly code: TokenFetchErrorCode | undefined = undefined;

  constructor(code: TokenFetchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(brand in value)) return false;
    const code = (this as { code?: TokenFetchErrorCode }).code;
    return code === undefined || (value as { code?: unknown }).code === code;
  }
}

/** True for any tokenfetch error, from this or another installed copy of the package. */
export function isTokenFetchError(value: unknown): value is TokenFetchError {
  return value instanceof TokenFetchError;
}

/** The login answered 401: the email or password is wrong. Not retried; remembered for the cooldown. */
export class InvalidCredentialsError extends TokenFetchError {
  override name = 'InvalidCredentialsError';
  static override readonly code = 'E_INVALID_CREDENTIALS';
  declare readonly code: 'E_INVALID_CREDENTIALS';
  readonly status = 401;
  constructor(message = 'login refused: invalid credentials (401): check the email and password') {
    super('E_INVALID_CREDENTIALS', message);
  }
}

/** The login answered 404: the user is not an active member of any org. Not retried. */
export class NoActiveOrgError extends TokenFetchError {
  override name = 'NoActiveOrgError';
  static override readonly code = 'E_NO_ACTIVE_ORG';
  declare readonly code: 'E_NO_ACTIVE_ORG';
  readonly status = 404;
  constructor(message = 'login refused: the user is not an active member of any org (404)') {
    super('E_NO_ACTIVE_ORG', message);
  }
}

/**
 * The login answered 404, but not with the upstream's own (JSON) answer: an HTML page or
 * an empty body, from a server that has no login there. Most often the base URL lacks its
 * path (`https://acme.resolver.com` for `https://acme.resolver.com/api`). Not retried;
 * remembered for the cooldown.
 */
export class LoginNotFoundError extends TokenFetchError {
  override name = 'LoginNotFoundError';
  static override readonly code = 'E_LOGIN_NOT_FOUND';
  declare readonly code: 'E_LOGIN_NOT_FOUND';
  readonly status = 404;
  /** The login URL that answered 404 (origin and path, no query). */
  readonly url: string;
  constructor(url: string) {
    super(
      'E_LOGIN_NOT_FOUND',
      `login failed: POST ${url} is not there (404): is the base URL right (it usually ends in /api)?`,
    );
    this.url = url;
  }
}

/**
 * The grant the login presented is dead: an OAuth 2.0 token endpoint answered
 * `invalid_grant` to a refresh token (revoked, expired, reused after rotation, or another
 * client's). Not retried; shared through the store like a refused password, and the
 * strategy that holds the refresh token tries it no more: the app gets a new one (the user
 * logs in again) and makes a client with it.
 */
export class InvalidGrantError extends TokenFetchError {
  override name = 'InvalidGrantError';
  static override readonly code = 'E_INVALID_GRANT';
  declare readonly code: 'E_INVALID_GRANT';
  readonly status = 400;
  constructor(
    message = 'login refused: the grant is invalid (invalid_grant); a new one is needed',
  ) {
    super('E_INVALID_GRANT', message);
  }
}

/**
 * The login could not produce a token: network error, timeout, 429 or 5xx after the
 * retries, another unexpected status, or an answer without a usable token.
 */
export class LoginFailedError extends TokenFetchError {
  override name = 'LoginFailedError';
  static override readonly code = 'E_LOGIN_FAILED';
  /** The HTTP status of the last login answer, when there was one. */
  readonly status: number | undefined;
  /** Whether another attempt may succeed (network errors, timeouts, 429, 5xx). */
  readonly retryable: boolean;
  /** How long the upstream asked to wait (`Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { status?: number; cause?: unknown; retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super('E_LOGIN_FAILED', message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** tokenfetch refused to send credentials outside the base URL and `allowedOrigins`. */
export class CrossOriginError extends TokenFetchError {
  override name = 'CrossOriginError';
  static override readonly code = 'E_CROSS_ORIGIN';
  constructor(message: string) {
    super('E_CROSS_ORIGIN', message);
  }
}

/** One problem of a configuration: the field (dotted path or variable name) and what is wrong. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Invalid options or environment. Lists every problem with its field; never a value. */
export class ConfigError extends TokenFetchError {
  override name = 'ConfigError';
  static override readonly code = 'E_CONFIG';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], title = 'invalid tokenfetch options') {
    const lines = issues.map((issue) => `  - ${issue.path}: ${issue.message}`);
    super('E_CONFIG', `${title}:\n${lines.join('\n')}`);
    this.issues = issues;
  }
}

/** `client.json()` got a non-2xx answer. `body` is a short excerpt with known secrets redacted. */
export class UpstreamError extends TokenFetchError {
  override name = 'UpstreamError';
  static override readonly code = 'E_UPSTREAM_STATUS';
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string, url: string) {
    super('E_UPSTREAM_STATUS', `upstream answered ${status} for ${url}`);
    this.status = status;
    this.body = body;
  }
}

/** `client.json()` got a 2xx answer that is not JSON or does not match the given schema. */
export class InvalidResponseError extends TokenFetchError {
  override name = 'InvalidResponseError';
  static override readonly code = 'E_INVALID_RESPONSE';
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super('E_INVALID_RESPONSE', message, options);
    this.status = status;
  }
}

/** The client was closed; no further calls are made. */
export class ClientClosedError extends TokenFetchError {
  override name = 'ClientClosedError';
  static override readonly code = 'E_CLOSED';
  constructor() {
    super('E_CLOSED', 'the tokenfetch client is closed');
  }
}
