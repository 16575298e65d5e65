import {
  createRequestBinder,
  toProblemDetails,
  type ApiFetch,
  type AuthMiddlewareOptions,
} from '@tokenfetch/core/adapter';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';

export type { ApiFetch, AuthMiddlewareOptions } from '@tokenfetch/core/adapter';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own augmentation point
  namespace Express {
    interface Request {
      /**
       * `fetch` against the configured API, always authenticated: a path resolves under
       * the base URL (`req.apiFetch('/user/users/me')`). Aborted when the client disconnects.
       */
      apiFetch: ApiFetch;
    }
  }
}

/**
 * Adds `req.apiFetch` to every request. With no argument the options come from the
 * environment (`API_BASE_URL`, `API_EMAIL`, …), checked now: a bad or missing variable
 * throws `ConfigError` here, at start-up. Pass `{ client }` to share one client (and its
 * token) between apps or routers. The token is fetched on the first `apiFetch()`.
 * Many tenants: `{ pool, tenant: (req) => id }` picks a pool's client per request; acting
 * as someone else: `{ ...options, as: (req) => ({ orgId }) }` (or `{ impersonateUserId }`).
 * Both run at the request's first `apiFetch()`; a throw there is a `ConfigError` (500).
 *
 * @example
 * app.use(authMiddleware());
 * app.get('/me', async (req, res) => res.json(await (await req.apiFetch('/user/users/me')).json()));
 */
export function authMiddleware(options?: AuthMiddlewareOptions<Request>): RequestHandler {
  const bind = createRequestBinder<Request>(options);
  return (req, res, next) => {
    // An own property: Express swaps request prototypes between apps.
    req.apiFetch = bind(req, res);
    next();
  };
}

/**
 * An error handler that answers tokenfetch errors as RFC 9457 `application/problem+json`
 * (login failures 502, a refused cross-origin call 500, …) and passes any other error on.
 *
 * @example
 * app.use(problemDetails());
 */
export function problemDetails(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const problem = toProblemDetails(error);
    if (problem === undefined || res.headersSent) {
      next(error);
      return;
    }
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  };
}
