import {
  createRequestBinding,
  toProblemDetails,
  type ApiFetch,
  isLoginFailure,
  type AuthMiddlewareOptions,
  type LoggingOptions,
  type RequestBinding,
} from '@tokenfetch/core/adapter';
import { ConfigError, loadOptionsFromEnv, type AsOptions } from '@tokenfetch/core';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyRequest,
  RouteOptions,
  onRequestHookHandler,
} from 'fastify';
import fastifyPlugin from 'fastify-plugin';

export type { ApiFetch, AuthMiddlewareOptions } from '@tokenfetch/core/adapter';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * `fetch` against the configured API, always authenticated: a path resolves under
     * the base URL (`request.apiFetch('/user/users/me')`). Aborted when the client disconnects.
     */
    apiFetch: ApiFetch;
  }
}

/**
 * What `app.register(tokenfetch, options)` takes: the adapters' options (client options,
 * `{ client }`, `{ pool, tenant }`, each with `as` where it fits), none at all for the
 * environment's, and `problemDetails`.
 */
export type TokenfetchOptions = (AuthMiddlewareOptions<FastifyRequest> | FromEnvironment) & {
  /**
   * Answer tokenfetch errors as RFC 9457 `application/problem+json`; every other error
   * goes on to your error handlers (or Fastify's) as if the plugin were not there.
   * @default true
   */
  problemDetails?: boolean;
};

/** No client options: the client is made from the environment (`API_BASE_URL`, …). */
interface FromEnvironment extends LoggingOptions {
  as?: (request: FastifyRequest) => AsOptions | undefined;
  baseUrl?: never;
  auth?: never;
  client?: never;
  pool?: never;
}

/** The scopes the plugin is registered in. */
const scopes = new WeakSet<FastifyInstance>();

/** The plugin's own option, and Fastify's register options: none of them the client's. */
const notClientOptions = new Set(['problemDetails', 'prefix', 'logLevel', 'logSerializers']);

type ErrorHandler = NonNullable<RouteOptions['errorHandler']>;

/**
 * Adds `request.apiFetch` to every request of the scope it is registered in (and its
 * children). No options (or only `problemDetails`): the options come from the environment
 * (`API_BASE_URL`, `API_EMAIL`, …), checked at `register`: a bad or missing variable
 * rejects `register()` / `ready()` with `ConfigError`, never a request. Client options: a
 * client of the plugin's own, closed by `app.close()`. `{ client }` or `{ pool, tenant }`:
 * yours, shared, never closed by the plugin. `as: (request) => …` acts as someone else.
 *
 * @example
 * await app.register(tokenfetch);
 * app.get('/me', async (request) => (await request.apiFetch('/user/users/me')).json());
 */
// async: a throw (a ConfigError) rejects register() and ready().
const plugin: FastifyPluginAsync<TokenfetchOptions> = async (app, options) => {
  // Twice in one scope is a mistake (two clients, the first never used); a child scope's
  // own registration is not: fastify-plugin gives the plugin that child instance.
  if (scopes.has(app)) {
    throw new ConfigError(
      [{ path: 'register', message: 'is registered twice in the same scope' }],
      'invalid @tokenfetch/fastify registration',
    );
  }
  const { problemDetails = true } = options;
  const rest = Object.fromEntries(
    Object.entries(options).filter(([key]) => !notClientOptions.has(key)),
  ) as AuthMiddlewareOptions<FastifyRequest> | FromEnvironment;
  const { bind, client, owned } = bindingFor(rest, logToRequest);
  scopes.add(app); // only now: a registration that failed on its options may be retried
  if (owned) app.addHook('onClose', () => client!.close());

  // Declared up front, so every request has the same shape; set per request, as an own
  // property pointing at a closure of that request. Registered again in a child scope (a
  // client of its own there), the parent's declaration stands and this hook runs last.
  if (!app.hasRequestDecorator('apiFetch')) app.decorateRequest('apiFetch', null, []);
  const attach: onRequestHookHandler = (request, reply, next) => {
    request.apiFetch = bind(request, reply.raw);
    next();
  };
  app.addHook('onRequest', attach);

  if (problemDetails) {
    // A route-level error handler, not setErrorHandler: its parent is the scope's handler
    // (yours, or Fastify's default), so any other error goes on there untouched, and your
    // own setErrorHandler neither replaces it nor trips Fastify 5's override check.
    app.addHook('onRoute', (route) => {
      // Never around itself, should the same options pass through onRoute twice.
      if (route.errorHandler === undefined || !problemHandlers.has(route.errorHandler)) {
        route.errorHandler = problemHandler(route.errorHandler);
      }
    });
  }
};

/**
 * The per-request binding: no client options (only `as`, or nothing) means the
 * environment's, as `authMiddleware()` with no argument. A client made here is the
 * plugin's own, closed on `app.close()`; a `{ client }` or `{ pool }` belongs to the caller.
 */
function bindingFor(
  options: AuthMiddlewareOptions<FastifyRequest> | FromEnvironment,
  log: (line: string, request: FastifyRequest) => void,
): RequestBinding<FastifyRequest> {
  if ('pool' in options || 'client' in options) {
    return createRequestBinding(options as AuthMiddlewareOptions<FastifyRequest>, log);
  }
  const { as, logger, ...clientOptions } = options;
  if (Object.keys(clientOptions).length > 0) {
    return createRequestBinding(options as AuthMiddlewareOptions<FastifyRequest>, log);
  }
  return createRequestBinding(
    {
      ...loadOptionsFromEnv(),
      ...(as === undefined ? {} : { as }),
      ...(logger === undefined ? {} : { logger }),
    },
    log,
  );
}

/** A failed login goes to the request's logger: Fastify's, with its request id. */
function logToRequest(line: string, request: FastifyRequest): void {
  request.log.error(line);
}

const problemHandlers = new WeakSet<ErrorHandler>();

/** Answers tokenfetch errors; hands any other to `routeHandler`, else to the scope's handler. */
function problemHandler(routeHandler: ErrorHandler | undefined): ErrorHandler {
  // Fastify's type says void; it awaits a returned promise all the same.
  function handler(
    this: FastifyInstance,
    ...[error, request, reply]: Parameters<ErrorHandler>
  ): Promise<never> | void {
    const problem = toProblemDetails(error);
    if (problem === undefined) {
      if (routeHandler !== undefined) return routeHandler.call(this, error, request, reply);
      // On to the scope's error handler, as without the plugin. A rejection, not a throw:
      // Fastify 4.0 does not catch an error handler's throw, but chains its rejection.
      return Promise.reject(error);
    }
    // The status first: the log line shows the reply's status, as Fastify's own 5xx line does.
    reply.code(problem.status);
    // A failed login is logged where it happens, once per cooldown window, not per request.
    if (!isLoginFailure(error)) {
      reply.log.error({ req: request, res: reply, err: error }, problem.detail);
    }
    void reply.type('application/problem+json').send(JSON.stringify(problem));
  }
  problemHandlers.add(handler as ErrorHandler);
  return handler as ErrorHandler;
}

/**
 * `await app.register(tokenfetch, options?)`: `request.apiFetch` in every route. See
 * {@link TokenfetchOptions}.
 */
export const tokenfetch = fastifyPlugin(plugin, {
  fastify: '4.x || 5.x',
  name: '@tokenfetch/fastify',
});

export default tokenfetch;
