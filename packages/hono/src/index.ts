import {
  createRequestBinder,
  toProblemDetails,
  type ApiFetch,
  type AuthMiddlewareOptions,
  type Disconnect,
  type DisconnectSource,
} from '@tokenfetch/core/adapter';
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import type { StatusCode } from 'hono/utils/http-status';

export type { ApiFetch, AuthMiddlewareOptions } from '@tokenfetch/core/adapter';

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * `fetch` against the configured API, always authenticated: a path resolves under
     * the base URL (`c.var.apiFetch('/user/users/me')`). Aborted when the client disconnects.
     */
    apiFetch: ApiFetch;
  }
}

/** The variables `authMiddleware()` sets, for apps that spell their env out: `new Hono<TokenfetchEnv>()`. */
export type TokenfetchEnv = { Variables: { apiFetch: ApiFetch } };

/**
 * Sets `c.var.apiFetch` (also `c.get('apiFetch')`) on every request. With no argument the
 * options come from the environment (`API_BASE_URL`, `API_EMAIL`, …), checked now: a bad or
 * missing variable throws `ConfigError` here, at start-up. Pass `{ client }` to share one
 * client (and its token) between apps. The token is fetched on the first `apiFetch()`.
 * Many tenants: `{ pool, tenant: (c) => id }` picks a pool's client per request; acting as
 * someone else: `{ ...options, as: (c) => ({ orgId }) }` (or `{ impersonateUserId }`). Both
 * run at the request's first `apiFetch()`; a throw there is a `ConfigError` (500).
 *
 * @example
 * app.use(authMiddleware());
 * app.get('/me', async (c) => c.json(await (await c.var.apiFetch('/user/users/me')).json()));
 */
export function authMiddleware(
  options?: AuthMiddlewareOptions<Context>,
): MiddlewareHandler<TokenfetchEnv> {
  const bind = createRequestBinder<Context>(options);
  return (c, next) => {
    c.set('apiFetch', bind(c, disconnectOf(c)));
    return next();
  };
}

/**
 * How this request's client is seen to leave. On Node (@hono/node-server) it is the
 * response in `c.env.outgoing`: watched only from the first `apiFetch()`, and reading it
 * builds nothing, where the request's `signal` would make node-server build a whole
 * `Request` and, read only after the client left, would never abort. Elsewhere (Bun, Deno,
 * Workers) it is the request's own signal, which the runtime aborts on a disconnect.
 */
function disconnectOf(c: Context): Disconnect {
  const outgoing = (c.env as { outgoing?: Partial<DisconnectSource> } | undefined)?.outgoing;
  return typeof outgoing?.once === 'function' ? (outgoing as DisconnectSource) : c.req.raw.signal;
}

/**
 * An `onError` handler: tokenfetch errors become RFC 9457 `application/problem+json`
 * answers (login failures 502, a refused cross-origin call 500, a closed client 503), with
 * no secret in them. Any other error goes to `fallback`; without one it is answered as
 * Hono's default handler does (an `HTTPException`'s own response, else a logged 500).
 *
 * @example
 * app.onError(problemDetails());
 * app.onError(problemDetails((error, c) => c.json({ error: 'oops' }, 500)));
 */
export function problemDetails(fallback: ErrorHandler = honoDefault): ErrorHandler {
  return (error, c) => {
    const problem = toProblemDetails(error);
    if (problem === undefined) return fallback(error, c);
    return c.newResponse(JSON.stringify(problem), problem.status as StatusCode, {
      'content-type': 'application/problem+json',
    });
  };
}

/** Hono's own default `onError`, which `app.onError()` replaces. */
const honoDefault: ErrorHandler = (error, c) => {
  if ('getResponse' in error && typeof error.getResponse === 'function') {
    const response = (error.getResponse as () => Response)();
    return c.newResponse(response.body, response);
  }
  console.error(error);
  return c.text('Internal Server Error', 500);
};
