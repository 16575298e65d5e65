/**
 * The auth layer: how a client proves who it is, and nothing about when. A strategy says
 * where its login may send the secret (inside the base URL, or an endpoint of its own such
 * as an OAuth token endpoint), how it logs in, what each call carries for the token it got
 * (`Authorization: Bearer`, or another scheme and a per-call proof), what an answer
 * challenging the token means, how it acts as another identity (`client.as()`), and which
 * secrets it holds so that core can keep them out of everything it prints. Core's client
 * checks each of these (the destinations before any I/O); the engine below never sees a
 * strategy, only its login results. Built in: `sessionTokenAuth` (session.ts) and
 * `apiKeyAuth` (api-key.ts); `@tokenfetch/oauth2` adds OAuth 2.0 on the same interface.
 */
import type { LoginResult } from '../engine/token-store.js';

/** What a token strategy's `login` receives from the client. */
export interface LoginContext {
  /** The base URL, ending in `/`. */
  baseUrl: URL;
  /**
   * The login's `fetch`: it reaches only where this strategy may send its secret (inside
   * the base URL, or the origin of its `loginUrl`) and refuses anything else with
   * `CrossOriginError` before any I/O. It follows no redirect.
   */
  fetch: typeof globalThis.fetch;
  /** Where `loginUrl` says the login goes (discovered, if it is a function); else `undefined`. */
  loginUrl: URL | undefined;
  signal: AbortSignal;
  /** The client's `headers`, sent on the login too. */
  headers: Headers;
  now: () => number;
  /**
   * The newest `state` a login of these credentials returned with its token (`LoginResult`):
   * this instance's, or another's through the store. An OAuth refresh-token strategy keeps
   * its rotated refresh token there, sealed.
   */
  state: string | undefined;
}

/** What `loginUrl`, when it is a function, gets to find the endpoint (e.g. OAuth discovery). */
export interface DiscoveryContext {
  /**
   * A `fetch` for public metadata: GET only, no body, https (plain http to loopback hosts),
   * no redirect followed. It carries no credential; the client's `headers` go with it.
   */
  fetch: typeof globalThis.fetch;
  signal: AbortSignal;
}

/** The headers one call carries for its token (lower-case names). */
export type CallCredentials = Readonly<Record<string, string>>;

/**
 * Logs in for a short-lived token and puts it on every call: the upstream's session login
 * (`sessionTokenAuth`), or any other (OAuth 2.0 in `@tokenfetch/oauth2`).
 */
export interface SessionAuthStrategy {
  readonly kind: 'session';
  /**
   * The headers that carry the credential (`authorization`, and e.g. `dpop`): a caller
   * may not set them, on a call or in the client's `headers`.
   */
  readonly headerNames: readonly string[];
  /** The longest a token is trusted. */
  readonly ttlMs: number;
  /**
   * Names the credentials, without a secret, so that a store can key them (email and
   * org; a client id and its scope). Two strategies with the same identity share tokens.
   */
  readonly identity: string;
  /**
   * The login path under the base URL, when the strategy logs in there: checked at client
   * creation to resolve inside the base URL.
   */
  readonly loginPath?: string;
  /**
   * Where the login goes when it is not inside the base URL (an OAuth token endpoint): an
   * absolute URL, checked at client creation (https; plain http only to loopback hosts,
   * or with `allowInsecureHttp`), or a function that finds it (discovery), called at the
   * first login and checked the same way. The login's `fetch` then reaches that origin
   * only; tokens never go there (calls go inside the base URL and `allowedOrigins` only).
   */
  readonly loginUrl?: string | ((context: DiscoveryContext) => Promise<string | URL>);
  /** One login attempt. Throw a `TokenFetchError` to say whether it may be retried. */
  login(context: LoginContext): Promise<LoginResult>;
  /**
   * Whether the login's `state` must outlive its token (a rotating refresh token): core then
   * also keeps the newest in the store under a key of its own, for a day after it was
   * written, and hands it to the next login of any sharer even when no token is stored.
   */
  readonly durableState?: boolean;
  /**
   * The headers a call carries for `token` (sent to `method` `url`). A plain object keeps
   * the call synchronous up to the request (return the same object for the same token); a
   * promise suits a proof signed per call (DPoP).
   * @default `{ authorization: 'Bearer ' + token }`
   */
  authorize?(
    token: string,
    method: string,
    url: string,
  ): CallCredentials | Promise<CallCredentials>;
  /**
   * What an answer in `reauthStatuses` means for `token`: `'reauth'` drops the token (if
   * it is still the current one), logs in and replays the call once; `'retry'` replays the
   * call once with the same token (the answer taught the strategy something, such as a
   * DPoP nonce) and costs no login.
   * @default 'reauth'
   */
  challenge?(response: Response, token: string): 'reauth' | 'retry';
  /**
   * Shown each answer to a call that carried this strategy's credentials, before the caller
   * gets it (its headers only: the body is the caller's), e.g. a `DPoP-Nonce` that a
   * resource server sends on a success for the next proof (RFC 9449 §8.2). Must not throw.
   */
  observe?(response: Response): void;
  /**
   * The strategy for `client.as(options)`: the same secret acting as another identity.
   * Throws `ConfigError` (fields, never values) for options it does not take.
   */
  derive?(options: object): DerivedStrategy;
  /**
   * The secret values it holds (password, client secret, refresh token…): core scrubs
   * them from every error excerpt and event. Never printed.
   */
  secrets?(): readonly string[];
  /**
   * Called once when the client made with this strategy closes, before its transport does
   * (e.g. an OAuth refresh token revoked, RFC 7009, through the last login's `fetch`). Its
   * failure never fails `client.close()`.
   */
  close?(): Promise<void>;
}

/** Sends a fixed credential (an API key) on every call: no login, no token. */
export interface ApiKeyAuthStrategy {
  readonly kind: 'apiKey';
  /** The headers that carry the credential (the key, impersonation); a caller may not set them. */
  readonly headerNames: readonly string[];
  /** Sets the key (and the impersonation header) on `headers`. */
  apply(headers: Headers): void;
  /** The strategy for `client.as(options)`; see `SessionAuthStrategy.derive`. */
  derive?(options: object): DerivedStrategy;
  /** The secret values it holds; see `SessionAuthStrategy.secrets`. */
  secrets?(): readonly string[];
}

/** How a client authenticates. Build one with `sessionTokenAuth` or `apiKeyAuth`. */
export type AuthStrategy = SessionAuthStrategy | ApiKeyAuthStrategy;

/** What `derive` gives: the strategy, and the key under which its client is made once. */
export interface DerivedStrategy {
  strategy: AuthStrategy;
  key: string;
}

/**
 * The credential headers a caller may never set, whichever strategy the client uses
 * (guarantee 8): a bearer token, and an API key in the upstream's default header.
 */
export const credentialHeaders: readonly string[] = ['authorization', 'x-api-key'];

/**
 * `authorize` of a bearer token: `{ authorization: 'Bearer ' + token }`, the same object
 * for the same token, so that a call with the current token builds no string.
 */
export function bearerAuthorization(): (token: string) => CallCredentials {
  let last: { token: string; headers: CallCredentials } | undefined;
  return (token) => {
    if (last?.token !== token) last = { token, headers: { authorization: `Bearer ${token}` } };
    return last.headers;
  };
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

/** The secrets a strategy holds, for scrubbing; none for one that does not say. */
export function secretsOf(strategy: AuthStrategy): readonly string[] {
  return strategy.secrets?.() ?? [];
}
