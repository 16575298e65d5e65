import {
  ConfigError,
  InvalidCredentialsError,
  LoginFailedError,
  NoActiveOrgError,
  type ConfigIssue,
} from '../shared/errors.js';
import { parseLoginResponse } from '../engine/parse-login-response.js';
import { parseRetryAfter } from '../engine/retry-after.js';
import { defaults } from '../shared/defaults.js';
import type { LoginResult } from '../engine/token-store.js';

/** What a session strategy's login receives from the client. */
export interface LoginContext {
  /** The base URL, ending in `/`. */
  baseUrl: URL;
  fetch: typeof globalThis.fetch;
  signal: AbortSignal;
  /** The client's `headers`, sent on the login too. */
  headers: Headers;
  now: () => number;
}

/**
 * The credential headers a caller may never set, whichever strategy the client uses
 * (guarantee 8): a bearer token, and an API key in the upstream's default header.
 */
const credentialHeaders: readonly string[] = ['authorization', 'x-api-key'];

/** Logs in with credentials and hands out a short-lived token. */
export interface SessionAuthStrategy {
  readonly kind: 'session';
  /** The headers that carry the credential (`authorization`); a caller may not set them. */
  readonly headerNames: readonly string[];
  /** The longest a token is trusted. */
  readonly ttlMs: number;
  /** Names the credentials (no secret) so that a store can key them: email and org. */
  readonly identity: string;
  /**
   * The login path under the base URL, when the strategy has a fixed one: the client checks
   * at creation that it resolves inside the base URL.
   */
  readonly loginPath?: string;
  /** One login attempt. */
  login(context: LoginContext): Promise<LoginResult>;
}

/** Sends a fixed API key on every call. */
export interface ApiKeyAuthStrategy {
  readonly kind: 'apiKey';
  /** The headers that carry the credential (the key, impersonation); a caller may not set them. */
  readonly headerNames: readonly string[];
  /** Sets the key (and the impersonation header) on `headers`. */
  apply(headers: Headers): void;
}

/** How a client authenticates. Build one with `sessionTokenAuth` or `apiKeyAuth`. */
export type AuthStrategy = SessionAuthStrategy | ApiKeyAuthStrategy;

/** Options of `sessionTokenAuth`. */
export interface SessionTokenAuthOptions {
  /** The user's email. */
  email: string;
  /** The user's password. Never printed. */
  password: string;
  /** The org to log in to, sent as `selectedOrg`. */
  orgId: string | number;
  /**
   * The login path, under the base URL: the password is sent there, so it must resolve
   * inside the base URL (an absolute URL elsewhere, `..` and the like are a `ConfigError`
   * at client creation).
   * @default '/user/authenticate'
   */
  path?: string;
  /**
   * The longest a token is trusted, from when the login was sent.
   * @default 900_000 (the upstream's 15 minutes)
   */
  ttlMs?: number;
  /**
   * Reads the token (and optionally its lifetime) from a 2xx login answer.
   * @default a tolerant reader; see `parseLoginResponse`
   * @example
   * parseResponse: async (res) => ({ token: (await res.json()).session.id })
   */
  parseResponse?: (response: Response) => Promise<LoginResult>;
}

const inspect = Symbol.for('nodejs.util.inspect.custom');
const secrets = new WeakMap<object, readonly string[]>();

/** The secrets a strategy holds, so that text shown to users can be scrubbed of them. */
export function secretsOf(strategy: AuthStrategy): readonly string[] {
  return secrets.get(strategy) ?? [];
}

function withSecrets<T extends object>(strategy: T, values: readonly string[]): T {
  secrets.set(strategy, values);
  return strategy;
}

/**
 * How a strategy made here derives the same credentials for another identity, without the
 * caller handing the secret again (`client.as()`); kept off the strategy's own surface.
 */
interface Derivations {
  withOrg?(orgId: string | number): SessionAuthStrategy;
  withImpersonation?(userId: string | number): ApiKeyAuthStrategy;
}
const derivations = new WeakMap<object, Derivations>();

/** The same user in another org; `undefined` for a strategy not made by `sessionTokenAuth`. */
export function withOrg(
  strategy: AuthStrategy,
  orgId: string | number,
): SessionAuthStrategy | undefined {
  return derivations.get(strategy)?.withOrg?.(orgId);
}

/** The same key acting as another user; `undefined` for a strategy not made by `apiKeyAuth`. */
export function withImpersonation(
  strategy: AuthStrategy,
  userId: string | number,
): ApiKeyAuthStrategy | undefined {
  return derivations.get(strategy)?.withImpersonation?.(userId);
}

/**
 * Logs in with `POST {baseUrl}/user/authenticate` and `{ email, password, selectedOrg }`,
 * the upstream's session login. 401 and 404 are refusals; 408, 429 and 5xx may be retried.
 *
 * @example
 * createApiClient({
 *   baseUrl: 'https://acme.resolver.com/api',
 *   auth: sessionTokenAuth({ email, password, orgId: 42 }),
 * })
 */
export function sessionTokenAuth(options: SessionTokenAuthOptions): SessionAuthStrategy {
  const { email, password, orgId } = options;
  const path = (options.path ?? defaults.loginPath).replace(/^\/+/, '');
  const parseResponse = options.parseResponse ?? parseLoginResponse;
  const describe = { kind: 'session', orgId };

  const strategy = withSecrets(
    {
      kind: 'session',
      ttlMs: options.ttlMs ?? defaults.ttlMs,
      headerNames: credentialHeaders,
      identity: `${email}|${orgId}`,
      loginPath: path,
      async login({ baseUrl, fetch, signal, headers, now }) {
        const loginHeaders = new Headers(headers);
        loginHeaders.set('content-type', 'application/json');
        loginHeaders.set('accept', 'application/json, text/plain;q=0.9');
        const response = await fetch(new URL(path, baseUrl), {
          method: 'POST',
          headers: loginHeaders,
          body: JSON.stringify({ email, password, selectedOrg: orgId }),
          redirect: 'manual',
          signal,
        });
        const status = response.status;
        if (response.ok) return parseResponse(response).catch((error) => withStatus(error, status));
        await response.body?.cancel().catch(() => {});
        if (status === 401) throw new InvalidCredentialsError();
        if (status === 404) throw new NoActiveOrgError();
        const retryable = status === 408 || status === 429 || status >= 500;
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        throw new LoginFailedError(`login answered ${status}`, {
          status,
          retryable,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      },
      toJSON: () => describe,
      [inspect]: () => `SessionTokenAuth ${JSON.stringify(describe)}`,
    } as SessionAuthStrategy,
    // `user:password` too, for an upstream that quotes a Basic credential of them.
    [password, `${email}:${password}`],
  );
  derivations.set(strategy, { withOrg: (other) => sessionTokenAuth({ ...options, orgId: other }) });
  return strategy;
}

/** A non-retryable `LoginFailedError` of a 2xx answer's reader, with the answer's status. */
function withStatus(error: unknown, status: number): never {
  if (error instanceof LoginFailedError && error.status === undefined && !error.retryable) {
    throw new LoginFailedError(error.message, {
      status,
      ...(error.cause === undefined ? {} : { cause: error.cause }),
    });
  }
  throw error;
}

/** Options of `apiKeyAuth`. */
export interface ApiKeyAuthOptions {
  /** The API key. Never printed. */
  apiKey: string;
  /**
   * The header that carries the key.
   * @default 'x-api-key'
   */
  header?: string;
  /** Act as this user of the org (`impersonate-user-id`). */
  impersonateUserId?: string | number;
}

/**
 * Sends an API key on every call: the upstream's recommended alternative to sessions.
 * Keys never expire, so there is no login and no token.
 *
 * @example
 * createApiClient({ baseUrl, auth: apiKeyAuth({ apiKey: process.env.API_KEY! }) })
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): ApiKeyAuthStrategy {
  const { apiKey } = options;
  const header = (options.header ?? defaults.apiKeyHeader).toLowerCase();
  const impersonate =
    options.impersonateUserId === undefined ? undefined : String(options.impersonateUserId);
  // Checked here, once: fetch's own error for a bad header would quote the key.
  const issues: ConfigIssue[] = [];
  if (!sendable(header, 'x')) {
    issues.push({ path: 'header', message: 'must be an HTTP header name' });
  }
  if (!sendable('x-api-key', apiKey)) {
    issues.push({
      path: 'apiKey',
      message: 'must be a valid HTTP header value (no CR, LF or NUL)',
    });
  }
  if (impersonate !== undefined && !sendable('impersonate-user-id', impersonate)) {
    issues.push({
      path: 'impersonateUserId',
      message: 'must be a valid HTTP header value (no CR, LF or NUL)',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'invalid apiKeyAuth() options');
  const describe = {
    kind: 'apiKey',
    header,
    ...(impersonate === undefined ? {} : { impersonateUserId: impersonate }),
  };
  const strategy = withSecrets(
    {
      kind: 'apiKey',
      // Impersonation is tokenfetch's in every case: a caller-set header could make the
      // call act as someone else. A caller's Authorization is refused too: every credential
      // the upstream gets is tokenfetch's.
      headerNames: [...new Set([header, 'impersonate-user-id', ...credentialHeaders])],
      apply(headers) {
        headers.set(header, apiKey);
        if (impersonate !== undefined) headers.set('impersonate-user-id', impersonate);
      },
      toJSON: () => describe,
      [inspect]: () => `ApiKeyAuth ${JSON.stringify(describe)}`,
    } as ApiKeyAuthStrategy,
    [apiKey],
  );
  derivations.set(strategy, {
    withImpersonation: (userId) => apiKeyAuth({ ...options, impersonateUserId: userId }),
  });
  return strategy;
}

/** Whether fetch accepts this header (its error would quote the value). */
function sendable(name: string, value: string): boolean {
  try {
    new Headers([[name, value]]);
    return true;
  } catch {
    return false;
  }
}

/** Whether `value` is a strategy built by `sessionTokenAuth`, `apiKeyAuth` or a look-alike. */
export function isAuthStrategy(value: unknown): value is AuthStrategy {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as {
    kind?: unknown;
    login?: unknown;
    apply?: unknown;
    headerNames?: unknown;
  };
  return (
    Array.isArray(candidate.headerNames) &&
    ((candidate.kind === 'session' && typeof candidate.login === 'function') ||
      (candidate.kind === 'apiKey' && typeof candidate.apply === 'function'))
  );
}
