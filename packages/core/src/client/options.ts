import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { apiKeyAuth } from '../auth/api-key.js';
import { isOrgId, orgIdProblem, sessionTokenAuth } from '../auth/session.js';
import { isAuthStrategy, type AuthStrategy } from '../auth/strategy.js';
import { isInsecure, isLoopback } from '../guards/secure-url.js';
import { dispatcherUnsupported, proxyVariableFor } from '#platform';
import { defaults, timeoutMsApplies } from '../shared/defaults.js';
import { ConfigError, CrossOriginError, type ConfigIssue } from '../shared/errors.js';
import type { TokenFetchListener } from '../shared/events.js';
import { createUrlScope, isInside, resolveUrl } from '../guards/resolve-url.js';
import type { TokenStore } from '../engine/token-store.js';

/** Email, password and org: shorthand for `sessionTokenAuth({ email, password, orgId })`. */
export interface CredentialsAuth {
  email: string;
  password: string;
  orgId: string | number;
}

/** API key: shorthand for `apiKeyAuth({ apiKey, impersonateUserId })`. */
export interface ApiKeyAuth {
  apiKey: string;
  impersonateUserId?: string | number;
}

/** Options of `createApiClient`. */
export interface ApiClientOptions {
  /**
   * The API's base URL: absolute, https (plain http only to loopback hosts), and it may
   * carry a path prefix under which every relative path resolves.
   * @example 'https://acme.resolver.com/api'
   */
  baseUrl: string;
  /**
   * How to authenticate: a strategy, or the shorthand credentials / API key objects.
   * @example { email: 'me@acme.com', password: process.env.API_PASSWORD!, orgId: 42 }
   */
  auth: AuthStrategy | CredentialsAuth | ApiKeyAuth;
  /**
   * Each request is aborted when its answer's headers take longer than this, and its body
   * when it stalls longer than this between two chunks (undici's `headersTimeout` and
   * `bodyTimeout`, kept on a coarse clock: the abort comes up to about 1 s late; under 5 s,
   * and for a stream upload, the wait for the headers has a timer of its own). A wait for
   * a login is bounded by it too; the login's own requests by `loginTimeoutMs`. With the
   * `fetch` option, only the wait for the headers is timed. On your own `dispatcher` (this
   * option, or a call's `init.dispatcher`) it applies only when you set it: otherwise that
   * dispatcher's own `headersTimeout` and `bodyTimeout` apply, as they would with fetch.
   * @default 30_000
   */
  timeoutMs?: number;
  /**
   * A login, retries included, fails after this long.
   * @default 10_000
   */
  loginTimeoutMs?: number;
  /**
   * Refresh in the background this long before a token stops being used; capped at a
   * third of the token's lifetime.
   * @default 120_000
   */
  refreshAheadMs?: number;
  /**
   * Answers that mean "this token is no longer good": the token is dropped and the call
   * replayed once. When the replay, with another token, gets the same status, the answer is
   * about the call (a permission 403): while that token is current, the same call gets it
   * back at once, without a login.
   * @default [401, 403]
   */
  reauthStatuses?: number[];
  /**
   * Retries of a login that failed with a network error, a timeout, 429 or 5xx.
   * @default 2
   */
  loginRetries?: number;
  /**
   * How long a 401/404 login refusal is remembered, so retries cannot lock the account. A
   * 2xx answer without a usable token is remembered for 1 s, doubling with each one in a
   * row up to this.
   * @default 30_000
   */
  loginCooldownMs?: number;
  /**
   * Where the token lives. Pass a `RedisTokenStore` to share one token across a fleet.
   * @default a `MemoryTokenStore` of this client
   */
  store?: TokenStore;
  /**
   * Extra origins trusted with credentials, any path on them. Each follows the rule of
   * `baseUrl` (https; plain http only to loopback hosts or with `allowInsecureHttp`) and is
   * an origin only: one with a path is a `ConfigError`, since the whole origin would be
   * trusted.
   * @default []
   * @example ['https://files.acme.resolver.com']
   */
  allowedOrigins?: string[];
  /**
   * Allow plain http to hosts other than loopback. Credentials then cross the network in clear.
   * @default false
   */
  allowInsecureHttp?: boolean;
  /**
   * Headers sent on every call (and on the login). They may not set the credentials.
   * @example { 'user-agent': 'billing-service/1.4' }
   */
  headers?: HeadersInit;
  /**
   * The undici dispatcher calls go through: your own `Agent` (connection limits, TLS
   * client certificates), a `ProxyAgent` or an `EnvHttpProxyAgent`: anything with
   * `dispatch()`, as fetch takes. A call's own `init.dispatcher` carries that call. It stays yours:
   * `close()` does not close it. `loadOptionsFromEnv()` sets an `EnvHttpProxyAgent` when
   * `HTTPS_PROXY` or `HTTP_PROXY` is set. Node only: on Bun, Deno and Workers calls go
   * through the runtime's `fetch`, and a `dispatcher` is a `ConfigError` (pass `fetch`).
   * @default an undici `Agent` of this client
   * @example dispatcher: new ProxyAgent('http://proxy.internal:3128')
   */
  dispatcher?: Dispatcher;
  /**
   * A fetch function to send every call and the login with, instead of undici's
   * dispatcher (a test double, an instrumented fetch). Then `dispatcher` cannot be set,
   * and `timeoutMs` times only the wait for the answer's headers.
   * @default undici's dispatcher API, which costs less per call than `globalThis.fetch`
   */
  fetch?: typeof globalThis.fetch;
  /**
   * Make fetch's resource-timing entry (`PerformanceResourceTiming`, `initiatorType`
   * `'fetch'`) for each call, as Node's fetch does, on undici's path. Off by default: each
   * entry costs CPU and garbage on every call (bench/RESULTS.md: 11–27 % of a call's client
   * CPU), and nothing reads them unless a `PerformanceObserver` asks.
   * @default false
   */
  resourceTiming?: boolean;
  /**
   * Receives `login`, `login_retry`, `login_failed`, `refresh_ahead`, `reauth` and
   * `store_error` events, for logs and metrics: one listener, or several, each called in
   * turn. tokenfetch prints nothing by itself.
   * @example onEvent: (event) => logger.info(event, 'tokenfetch')
   * @example onEvent: [openTelemetry(), (event) => logger.info(event, 'tokenfetch')]
   */
  onEvent?: TokenFetchListener | TokenFetchListener[];
  /**
   * The clock, for tests.
   * @default Date.now
   */
  now?: () => number;
}

const messageFor =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'required' : `must be ${expected}`;

const duration = (expected = 'a positive integer of milliseconds') =>
  z
    .number({ error: messageFor(expected) })
    .int({ error: `must be ${expected}` })
    .positive({ error: `must be ${expected}` })
    .max(2 ** 31 - 1, { error: `must be ${expected} below 2^31` });

/** An integer in [min, max]; the one message says the whole rule. */
const integer = (min: number, max: number, expected: string) =>
  z
    .number({ error: messageFor(expected) })
    .int({ error: `must be ${expected}` })
    .min(min, { error: `must be ${expected}` })
    .max(max, { error: `must be ${expected}` });

const fn = <T>() =>
  z.custom<T>((value) => typeof value === 'function', { error: 'must be a function' });

/** The options' single source of truth: shapes and defaults. Cross-field checks are below. */
export const apiClientOptionsSchema = z.strictObject({
  baseUrl: z.string({ error: messageFor('a string') }),
  auth: z.custom<unknown>((value) => typeof value === 'object' && value !== null, {
    error: messageFor('sessionTokenAuth(), apiKeyAuth(), { email, password, orgId } or { apiKey }'),
  }),
  timeoutMs: duration().default(defaults.timeoutMs),
  loginTimeoutMs: duration().default(defaults.loginTimeoutMs),
  refreshAheadMs: integer(
    0,
    Number.MAX_SAFE_INTEGER,
    'a non-negative integer of milliseconds',
  ).default(defaults.refreshAheadMs),
  reauthStatuses: z
    .array(integer(400, 599, 'an HTTP status from 400 to 599'), {
      error: messageFor('an array of HTTP statuses'),
    })
    .default(() => [...defaults.reauthStatuses]),
  loginRetries: integer(0, 10, 'an integer from 0 to 10').default(defaults.loginRetries),
  loginCooldownMs: duration().default(defaults.loginCooldownMs),
  store: z
    .custom<TokenStore>(isTokenStore, {
      error: 'must be a TokenStore (get, acquire, commit, release, invalidate, getFailure)',
    })
    .optional(),
  allowedOrigins: z
    .array(z.string({ error: 'must be a string' }), { error: messageFor('an array of origins') })
    .default([]),
  allowInsecureHttp: z.boolean({ error: messageFor('a boolean') }).default(false),
  headers: z
    .custom<HeadersInit>(isHeadersInit, {
      error:
        'must be a Headers, an array of [name, value] pairs or an object of strings (valid header names and values)',
    })
    .optional(),
  dispatcher: z
    .custom<Dispatcher>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { dispatch?: unknown }).dispatch === 'function',
      { error: 'must be an undici Dispatcher (Agent, ProxyAgent, EnvHttpProxyAgent, …)' },
    )
    .optional(),
  fetch: fn<typeof globalThis.fetch>().optional(),
  onEvent: z
    .union([fn<TokenFetchListener>(), z.array(fn<TokenFetchListener>())], {
      error: 'must be a function or an array of functions',
    })
    .optional(),
  now: fn<() => number>().optional(),
  resourceTiming: z.boolean({ error: messageFor('a boolean') }).default(false),
});

/** Options after validation: defaults applied, auth as a strategy. */
export type ResolvedOptions = Omit<z.output<typeof apiClientOptionsSchema>, 'auth'> & {
  auth: AuthStrategy;
  /** Whether the caller set `timeoutMs`: only then does it bound calls on their own dispatcher. */
  timeoutGiven: boolean;
};

const credentialsSchema = z.strictObject({
  email: z.string({ error: messageFor('a string') }).min(1, { error: 'required' }),
  password: z.string({ error: messageFor('a string') }).min(1, { error: 'required' }),
  orgId: z
    .union([z.string(), z.number()], { error: messageFor("the org's numeric id, e.g. 42") })
    .superRefine((orgId, context) => {
      if (orgId === '') context.addIssue({ code: 'custom', message: 'required' });
      else if (!isOrgId(orgId)) context.addIssue({ code: 'custom', message: orgIdProblem });
    }),
});

const apiKeySchema = z.strictObject({
  apiKey: z.string({ error: messageFor('a string') }).min(1, { error: 'required' }),
  impersonateUserId: z
    .union(
      [z.string().min(1, { error: 'must be a non-empty string or an integer' }), z.number().int()],
      { error: 'must be a non-empty string or an integer' },
    )
    .optional(),
});

/**
 * Validates options once, at the factory: every problem is reported at once in one
 * `ConfigError`, by field, never with a value.
 */
export function parseOptions(input: unknown): ResolvedOptions {
  if (typeof input !== 'object' || input === null) {
    throw new ConfigError([{ path: 'options', message: 'must be an object' }]);
  }
  const raw = input as Record<string, unknown>;
  const result = apiClientOptionsSchema.safeParse(raw);
  const issues: ConfigIssue[] = result.success ? [] : toIssues(result.error.issues);
  const baseUrlIssues =
    typeof raw.baseUrl === 'string'
      ? checkBaseUrl(raw.baseUrl, raw.allowInsecureHttp === true)
      : undefined;
  if (baseUrlIssues !== undefined) issues.push(...baseUrlIssues);
  if (Array.isArray(raw.allowedOrigins)) {
    raw.allowedOrigins.forEach((origin: unknown, index) => {
      const message =
        typeof origin === 'string'
          ? checkOrigin(origin, raw.allowInsecureHttp === true)
          : undefined;
      if (message !== undefined) issues.push({ path: `allowedOrigins.${index}`, message });
    });
  }
  const auth =
    typeof raw.auth === 'object' && raw.auth !== null ? toStrategy(raw.auth, issues) : undefined;
  if (auth?.kind === 'session' && auth.loginPath !== undefined && baseUrlIssues?.length === 0) {
    if (!isLoginInside(raw.baseUrl as string, auth.loginPath)) {
      issues.push({
        path: 'auth.path',
        message: 'must be a path inside baseUrl: the password is sent there',
      });
    }
  }
  if (auth !== undefined) issues.push(...checkStrategy(auth, raw.allowInsecureHttp === true));
  if (result.success && auth !== undefined && isHeadersInit(raw.headers)) {
    for (const [name] of new Headers(raw.headers)) {
      if (auth.headerNames.includes(name)) {
        issues.push({ path: `headers.${name}`, message: 'is set by tokenfetch; remove it' });
      }
    }
  }
  if (raw.dispatcher !== undefined && dispatcherUnsupported !== undefined) {
    issues.push({ path: 'dispatcher', message: dispatcherUnsupported });
  } else if (raw.fetch !== undefined && raw.dispatcher !== undefined) {
    issues.push({ path: 'dispatcher', message: 'cannot be used together with fetch' });
  }
  if (raw.fetch === undefined) issues.push(...loopbackThroughProxy(raw, auth));
  if (!result.success || auth === undefined || issues.length > 0) throw new ConfigError(issues);
  const timeoutGiven =
    raw.timeoutMs !== undefined ||
    (typeof raw.dispatcher === 'object' &&
      raw.dispatcher !== null &&
      timeoutMsApplies in raw.dispatcher);
  return { ...result.data, auth, timeoutGiven };
}

/**
 * Where the runtime's own `fetch` reads proxy variables (Bun, Deno), a loopback target it
 * would send through a proxy: refused, since a password or token sent there in clear must
 * stay on this machine and that `fetch` cannot be told to go direct.
 */
function loopbackThroughProxy(
  raw: Record<string, unknown>,
  auth: AuthStrategy | undefined,
): ConfigIssue[] {
  const targets: [path: string, value: unknown][] = [['baseUrl', raw.baseUrl]];
  if (auth?.kind === 'session' && typeof auth.loginUrl === 'string') {
    targets.push(['auth.loginUrl', auth.loginUrl]);
  }
  if (Array.isArray(raw.allowedOrigins)) {
    raw.allowedOrigins.forEach((origin, index) =>
      targets.push([`allowedOrigins.${index}`, origin]),
    );
  }
  const issues: ConfigIssue[] = [];
  for (const [path, value] of targets) {
    if (typeof value !== 'string' || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (!isLoopback(url.hostname)) continue;
    const variable = proxyVariableFor(url);
    if (variable === undefined) continue;
    issues.push({
      path,
      message: `is a loopback host, and ${variable} is set: this runtime's fetch would send the credentials through that proxy. Add ${url.hostname} to NO_PROXY, or pass your own fetch`,
    });
  }
  return issues;
}

/**
 * What core checks of a strategy before any I/O: the hooks it offers are functions, and a
 * `loginUrl` it names follows the base URL's rule (https; plain http only to loopback
 * hosts or with `allowInsecureHttp`), since its secret goes there.
 */
function checkStrategy(auth: AuthStrategy, allowInsecureHttp: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const hooks = auth as unknown as Record<string, unknown>;
  for (const name of ['authorize', 'challenge', 'observe', 'derive', 'secrets', 'close']) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function') {
      issues.push({ path: `auth.${name}`, message: 'must be a function' });
    }
  }
  if (auth.kind !== 'session' || auth.loginUrl === undefined) return issues;
  const { loginUrl } = auth;
  if (typeof loginUrl === 'function') return issues;
  const message =
    typeof loginUrl === 'string' ? checkLoginUrl(loginUrl, allowInsecureHttp) : undefined;
  if (typeof loginUrl !== 'string' || message !== undefined) {
    issues.push({
      path: 'auth.loginUrl',
      message: message ?? 'must be an absolute https URL or a function that finds one',
    });
  }
  return issues;
}

function checkLoginUrl(value: string, allowInsecureHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an absolute https URL';
  if (isInsecure(url, allowInsecureHttp)) {
    return 'must be an https URL (plain http only to loopback hosts, or set allowInsecureHttp): the secret is sent there';
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    return 'must not carry user info or a fragment';
  }
  return undefined;
}

function toStrategy(auth: object, issues: ConfigIssue[]): AuthStrategy | undefined {
  if (isAuthStrategy(auth)) return auth;
  if ('apiKey' in auth) {
    const parsed = apiKeySchema.safeParse(auth);
    if (!parsed.success) {
      issues.push(...toIssues(parsed.error.issues, 'auth'));
      return undefined;
    }
    try {
      return apiKeyAuth(
        parsed.data.impersonateUserId === undefined
          ? { apiKey: parsed.data.apiKey }
          : { apiKey: parsed.data.apiKey, impersonateUserId: parsed.data.impersonateUserId },
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues.map((issue) => ({ ...issue, path: `auth.${issue.path}` })));
      return undefined;
    }
  }
  const parsed = credentialsSchema.safeParse(auth);
  if (!parsed.success) {
    issues.push(...toIssues(parsed.error.issues, 'auth'));
    return undefined;
  }
  return sessionTokenAuth(parsed.data);
}

function checkBaseUrl(value: string, allowInsecureHttp: boolean): ConfigIssue[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ path: 'baseUrl', message: 'must be an absolute https URL' }];
  }
  const issues: ConfigIssue[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    issues.push({ path: 'baseUrl', message: 'must be an absolute https URL' });
  } else if (isInsecure(url, allowInsecureHttp)) {
    issues.push({
      path: 'baseUrl',
      message: 'must be an https URL (plain http only to loopback hosts, or set allowInsecureHttp)',
    });
  }
  if (url.username !== '' || url.password !== '') {
    issues.push({ path: 'baseUrl', message: 'must not carry user info' });
  }
  if (url.search !== '' || url.hash !== '') {
    issues.push({ path: 'baseUrl', message: 'must not carry a query or a fragment' });
  }
  return issues;
}

/** Whether a strategy's login path resolves inside the base URL, as every call must. */
function isLoginInside(baseUrl: string, loginPath: string): boolean {
  const scope = createUrlScope(baseUrl);
  try {
    return isInside(scope, resolveUrl(scope, loginPath));
  } catch (error) {
    if (error instanceof CrossOriginError) return false;
    throw error;
  }
}

/**
 * What is wrong with an allowed origin, if anything. It follows the base URL's https rule,
 * and it is an origin only: a path is refused rather than silently widened to the whole
 * origin (tokenfetch trusts origins, not paths on other hosts).
 */
function checkOrigin(value: string, allowInsecureHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https origin such as https://files.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return 'must be an absolute https origin such as https://files.example.com';
  }
  if (isInsecure(url, allowInsecureHttp)) {
    return 'must be an https origin (plain http only to loopback hosts, or set allowInsecureHttp)';
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return 'must be an origin only, without user info, a query or a fragment';
  }
  if (url.pathname !== '/') {
    return 'must be an origin only (scheme, host, port): a path is not honoured, every path of an allowed origin is trusted; remove it';
  }
  return undefined;
}

function toIssues(zodIssues: readonly z.core.$ZodIssue[], prefix?: string): ConfigIssue[] {
  return zodIssues.flatMap((issue) => {
    const at = [prefix, ...issue.path.map(String)].filter((part) => part !== undefined);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...at, key].join('.'), message: 'unknown option' }));
    }
    return [{ path: at.join('.') || 'options', message: issue.message }];
  });
}

function isTokenStore(value: unknown): value is TokenStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['get', 'acquire', 'commit', 'release', 'invalidate', 'getFailure'].every(
    (method) => typeof store[method] === 'function',
  );
}

function isHeadersInit(value: unknown): value is HeadersInit {
  if (value instanceof Headers) return true;
  const shaped = Array.isArray(value)
    ? value.every(
        (pair) =>
          Array.isArray(pair) &&
          pair.length === 2 &&
          typeof pair[0] === 'string' &&
          typeof pair[1] === 'string',
      )
    : typeof value === 'object' &&
      value !== null &&
      Object.values(value).every((entry) => typeof entry === 'string');
  if (!shaped) return false;
  // Names and values fetch accepts: its own error would quote the value.
  try {
    new Headers(value as HeadersInit);
    return true;
  } catch {
    return false;
  }
}
