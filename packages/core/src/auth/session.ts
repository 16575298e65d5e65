import { parseLoginResponse } from '../engine/parse-login-response.js';
import { parseRetryAfter } from '../engine/retry-after.js';
import type { LoginResult } from '../engine/token-store.js';
import { defaults } from '../shared/defaults.js';
import {
  ConfigError,
  InvalidCredentialsError,
  LoginFailedError,
  LoginNotFoundError,
  NoActiveOrgError,
} from '../shared/errors.js';
import { builtInAsOption, invalidAs } from './identity.js';
import { bearerAuthorization, credentialHeaders, type SessionAuthStrategy } from './strategy.js';

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

/**
 * Logs in with `POST {baseUrl}/user/authenticate` and `{ email, password, selectedOrg }`,
 * the upstream's session login, inside the base URL; every call carries
 * `Authorization: Bearer <token>`. 401 and 404 are refusals; 408, 429 and 5xx may be
 * retried. `client.as({ orgId })` is the same user in another org.
 *
 * @example
 * createApiClient({
 *   baseUrl: 'https://acme.resolver.com/api',
 *   auth: sessionTokenAuth({ email, password, orgId: 42 }),
 * })
 */
export function sessionTokenAuth(options: SessionTokenAuthOptions): SessionAuthStrategy {
  const { email, password, orgId } = options;
  if (!isOrgId(orgId)) {
    throw new ConfigError(
      [{ path: 'orgId', message: orgIdProblem }],
      'invalid sessionTokenAuth() options',
    );
  }
  const path = (options.path ?? defaults.loginPath).replace(/^\/+/, '');
  const parseResponse = options.parseResponse ?? parseLoginResponse;
  const describe = { kind: 'session', orgId };
  // `user:password` too, for an upstream that quotes a Basic credential of them.
  const secrets = [password, `${email}:${password}`] as const;

  return {
    kind: 'session',
    ttlMs: options.ttlMs ?? defaults.ttlMs,
    headerNames: credentialHeaders,
    identity: `${email}|${orgId}`,
    loginPath: path,
    async login({ baseUrl, fetch, signal, headers, now }) {
      const loginHeaders = new Headers(headers);
      loginHeaders.set('content-type', 'application/json');
      loginHeaders.set('accept', 'application/json, text/plain;q=0.9');
      const url = new URL(path, baseUrl);
      const response = await fetch(url, {
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
      if (status === 404) {
        // The upstream's own 404 is JSON; an HTML page or an empty body comes from a server
        // with no login there: most often a base URL without its `/api`.
        if (isJson(response.headers.get('content-type'))) throw new NoActiveOrgError();
        throw new LoginNotFoundError(`${url.origin}${url.pathname}`);
      }
      const retryable = status === 408 || status === 429 || status >= 500;
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
      throw new LoginFailedError(`login answered ${status}`, {
        status,
        retryable,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    },
    authorize: bearerAuthorization(),
    derive(as) {
      const { name, value } = builtInAsOption(as);
      if (name !== 'orgId') {
        throw invalidAs(
          'impersonateUserId',
          'needs API key auth: the upstream documents impersonation for API keys only',
        );
      }
      return { strategy: sessionTokenAuth({ ...options, orgId: value }), key: String(value) };
    },
    secrets: () => secrets,
    toJSON: () => describe,
    [inspect]: () => `SessionTokenAuth ${JSON.stringify(describe)}`,
  } as SessionAuthStrategy;
}

/** What a bad org id is told: the upstream's `selectedOrg` is an org's numeric id. */
export const orgIdProblem = "must be the org's numeric id, e.g. 42";

/** An org id: a non-negative integer, or a string of its digits. */
export function isOrgId(value: unknown): value is string | number {
  return typeof value === 'string'
    ? /^[0-9]+$/.test(value)
    : Number.isSafeInteger(value) && (value as number) >= 0;
}

/** `application/json` and `application/*+json` (problem+json and the like). */
function isJson(contentType: string | null): boolean {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return (
    type !== undefined &&
    (type === 'application/json' || /^application\/[\w.+-]*\+json$/.test(type))
  );
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
