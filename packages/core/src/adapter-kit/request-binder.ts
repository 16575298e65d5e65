import type { ApiClient, ApiFetch } from '../client/api-client.js';
import { clientFromOptions, createApiFetchBinder, type Disconnect } from './api-fetch-binder.js';
import type { ClientPool } from '../client/client-pool.js';
import { ConfigError, isTokenFetchError } from '../shared/errors.js';
import type { AsOptions } from '../auth/identity.js';
import type { ApiClientOptions } from '../client/options.js';
import {
  createLoginFailureLog,
  loginFailureWriter,
  type LoginFailureLogger,
} from './login-failure-log.js';

/**
 * What an adapter's `authMiddleware()` accepts, `Req` being the framework's request (or
 * context): client options, or a client to share, each optionally with `as` choosing per
 * request whom to act as; or a pool with `tenant` choosing the tenant per request.
 * `as` and `tenant` run at the request's first `apiFetch`, not before.
 */
export type AuthMiddlewareOptions<Req = unknown> = (
  | (ApiClientOptions & { as?: (req: Req) => AsOptions | undefined })
  | { client: ApiClient; as?: (req: Req) => AsOptions | undefined }
  | { pool: ClientPool; tenant: (req: Req) => string }
  | FromEnvironment
) &
  LoggingOptions;

/** Only `logger`: the client's options come from the environment, as with no argument. */
interface FromEnvironment {
  baseUrl?: never;
  auth?: never;
  client?: never;
  pool?: never;
  tenant?: never;
  as?: never;
}

/** Where the middleware logs a failed login. */
export interface LoggingOptions {
  /**
   * Where each distinct login failure is logged, once per cooldown window (its code, and
   * its network cause with what to check; never a secret): a logger with an `error()`
   * method (`console`, pino, winston), or `false` for nowhere.
   * @default console (Fastify: `request.log`; NestJS: Nest's `Logger`)
   */
  logger?: LoginFailureLogger | false;
}

/**
 * For adapter authors: call once per middleware with its options, then once per request
 * to get that request's `apiFetch`. No argument reads the environment; with `pool` and
 * `tenant`, or with `as`, the client is chosen at the request's first `apiFetch`. A throw
 * there rejects that call with a `ConfigError` naming the option, never the value.
 * A login failure a call meets is logged once per cooldown window (per client): through
 * the `logger` option, else through `log`, the adapter's framework logger, given the
 * request; else with `console.error`. `logger: false` logs nothing.
 */
export function createRequestBinder<Req>(
  options?: AuthMiddlewareOptions<Req>,
  log?: (line: string, req: Req) => void,
): (req: Req, response: Disconnect) => ApiFetch {
  return createRequestBinding(options, log).bind;
}

/** What `createRequestBinding` settles, once per middleware. */
export interface RequestBinding<Req> {
  /** Once per request: that request's `apiFetch`. */
  bind: (req: Req, response: Disconnect) => ApiFetch;
  /** The one client behind `bind`; `undefined` with `{ pool, tenant }`. */
  client: ApiClient | undefined;
  /**
   * Whether the binding made that client (from client options or the environment): then
   * the adapter closes it at shutdown. A `{ client }` or a `{ pool }` is the caller's.
   */
  owned: boolean;
}

/**
 * For adapters that close what they made (Fastify's `onClose`, Nest's shutdown):
 * `createRequestBinder`, with the client behind it and whether it was made here. A client
 * made here for options that then fail is closed before the `ConfigError` is thrown.
 */
export function createRequestBinding<Req>(
  options?: AuthMiddlewareOptions<Req>,
  log?: (line: string, req: Req) => void,
): RequestBinding<Req> {
  const { logger, ...given } = options ?? {};
  if (logger !== undefined && logger !== false && typeof logger?.error !== 'function') {
    throw new ConfigError(
      [{ path: 'logger', message: 'must be false or a logger with an error() method' }],
      'invalid authMiddleware() options',
    );
  }
  const write = loginFailureWriter(logger, log);
  const windowMs = (given as { loginCooldownMs?: unknown }).loginCooldownMs;
  const failureLog = () =>
    write === undefined
      ? undefined
      : createLoginFailureLog(write, typeof windowMs === 'number' ? { windowMs } : {});
  // `{ logger }` alone: the environment's client, as no argument at all.
  const rest = options === undefined || Object.keys(given).length === 0 ? undefined : given;
  return bindingOf(rest as AuthMiddlewareOptions<Req> | undefined, failureLog);
}

function bindingOf<Req>(
  options: AuthMiddlewareOptions<Req> | undefined,
  failureLog: () => ((error: unknown, req: Req) => void) | undefined,
): RequestBinding<Req> {
  if (options !== undefined && 'pool' in options) {
    const { pool, tenant } = options;
    const issues = [];
    if (typeof pool?.client !== 'function') {
      issues.push({ path: 'pool', message: 'must be a pool made by createClientPool()' });
    }
    if (typeof tenant !== 'function')
      issues.push({ path: 'tenant', message: 'must be a function' });
    if (issues.length > 0) throw new ConfigError(issues, 'invalid authMiddleware() options');
    const choose = tenant as (req: Req) => string; // checked above
    return {
      bind: chooseAtFirstCall((req) => pool!.client(choose(req)), 'tenant', failureLog),
      client: undefined,
      owned: false,
    };
  }
  const { as, ...rest } = options ?? {};
  const owned = options === undefined || !('client' in options);
  const client = clientFromOptions(
    options === undefined ? undefined : (rest as ApiClientOptions | { client: ApiClient }),
  );
  if (as === undefined) {
    const bind = createApiFetchBinder(client, failureLog());
    return { bind: (req, response) => bind(response, req), client, owned };
  }
  if (typeof as !== 'function') {
    if (owned) client.close().catch(() => {}); // never used: nothing to report
    throw new ConfigError(
      [{ path: 'as', message: 'must be a function' }],
      'invalid authMiddleware() options',
    );
  }
  const bind = chooseAtFirstCall<Req>(
    (req) => {
      const who = as(req);
      return who === undefined ? client : client.as(who);
    },
    'as',
    failureLog,
  );
  return { bind, client, owned };
}

function chooseAtFirstCall<Req>(
  choose: (req: Req) => ApiClient,
  option: string,
  failureLog: () => ((error: unknown, req: Req) => void) | undefined,
): (req: Req, response: Disconnect) => ApiFetch {
  // A binder, and its log of failures, per client: each tenant's or identity's own.
  const binders = new WeakMap<ApiClient, (response: Disconnect, req: Req) => ApiFetch>();
  return (req, response) => {
    let bound: ApiFetch | undefined;
    return (input, init) => {
      if (bound === undefined) {
        let client: ApiClient;
        try {
          client = choose(req);
        } catch (error) {
          return Promise.reject(chooseError(error, option));
        }
        let bind = binders.get(client);
        if (bind === undefined) {
          binders.set(client, (bind = createApiFetchBinder(client, failureLog())));
        }
        bound = bind(response, req);
      }
      return bound(input, init);
    };
  };
}

/** tokenfetch's own errors carry no values; any other may (a tenant id, a user id). */
function chooseError(error: unknown, option: string): unknown {
  if (isTokenFetchError(error)) return error;
  return new ConfigError(
    [{ path: option, message: 'threw for this request' }],
    'could not choose the API client for this request',
  );
}
