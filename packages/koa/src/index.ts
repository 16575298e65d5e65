import {
  createRequestBinder,
  toProblemDetails,
  type ApiFetch,
  type AuthMiddlewareOptions,
} from '@tokenfetch/core/adapter';
import type { Context, Middleware } from 'koa';

export type { ApiFetch, AuthMiddlewareOptions } from '@tokenfetch/core/adapter';

declare module 'koa' {
  interface ExtendableContext {
    /**
     * `fetch` against the configured API, always authenticated: a path resolves under
     * the base URL (`ctx.apiFetch('/user/users/me')`). Aborted when the client disconnects.
     */
    apiFetch: ApiFetch;
  }
}

/**
 * Adds `ctx.apiFetch` to every request. With no argument the options come from the
 * environment (`API_BASE_URL`, `API_EMAIL`, …), checked now: a bad or missing variable
 * throws `ConfigError` here, at start-up. Pass `{ client }` to share one client (and its
 * token) between apps. The token is fetched on the first `apiFetch()`.
 * Many tenants: `{ pool, tenant: (ctx) => id }` picks a pool's client per request; acting
 * as someone else: `{ ...options, as: (ctx) => ({ orgId }) }` (or `{ impersonateUserId }`).
 * Both run at the request's first `apiFetch()`; a throw there is a `ConfigError` (500).
 *
 * @example
 * app.use(authMiddleware());
 * app.use(async (ctx) => { ctx.body = await (await ctx.apiFetch('/user/users/me')).json(); });
 */
export function authMiddleware(options?: AuthMiddlewareOptions<Context>): Middleware {
  const bind = createRequestBinder<Context>(options);
  return (ctx, next) => {
    ctx.apiFetch = bind(ctx, ctx.res);
    return next();
  };
}

/**
 * Answers tokenfetch errors thrown downstream as RFC 9457 `application/problem+json`
 * (login failures 502, a refused cross-origin call 500, …) and rethrows any other error.
 * Use it before the routes.
 *
 * @example
 * app.use(problemDetails());
 * app.use(authMiddleware());
 */
export function problemDetails(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const problem = toProblemDetails(error);
      if (problem === undefined) throw error;
      ctx.status = problem.status;
      ctx.type = 'application/problem+json';
      ctx.body = JSON.stringify(problem);
    }
  };
}
