import {
  createRequestBinder,
  toProblemDetails,
  type ApiFetch,
  type AuthMiddlewareOptions,
} from '@tokenfetch/core/adapter';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';

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

type Binder = (req: Request, res: Response) => ApiFetch;

/**
 * Where a request's binder and its `apiFetch` live: the response's `locals`, with the
 * response they belong to (an app may have assigned one object to every `res.locals`).
 * Registered symbols: another installed copy of this package defines the one accessor on
 * Express's base request too, and must find the bindings this copy's middleware left.
 */
const ownerSlot = Symbol.for('@tokenfetch/express response');
const binderSlot = Symbol.for('@tokenfetch/express binder');
const fetchSlot = Symbol.for('@tokenfetch/express apiFetch');

interface Slots {
  [ownerSlot]?: Response;
  [binderSlot]?: Binder;
  [fetchSlot]?: ApiFetch | undefined;
}

/** The prototypes (one per copy of Express) that already serve `apiFetch`. */
const served = new WeakSet<object>();
let servedLast: object | undefined;

/**
 * `req.apiFetch`, served by an accessor on Express's base request (`express.request`, the
 * prototype every app's requests share, sub-apps included) instead of an own property:
 * each Express request has a hidden class of its own, and adding a property to it cost
 * ~5 % of a minimal route (bench/README.md). The middleware leaves only its binder in
 * `res.locals`; the first read of `req.apiFetch` binds it. Assigning `req.apiFetch`
 * (a test double) makes it an own property again.
 */
function serveApiFetch(req: Request): void {
  const base = Object.getPrototypeOf((req.app as unknown as { request: object }).request) as object;
  if (base === servedLast) return;
  servedLast = base;
  if (served.has(base)) return;
  served.add(base);
  Object.defineProperty(base, 'apiFetch', {
    configurable: true,
    enumerable: false,
    get(this: Request): ApiFetch | undefined {
      const res = this.res;
      const slots = res?.locals as Slots | undefined;
      // Another response's slots (a res.locals shared by requests) are none of this one's.
      if (res === undefined || slots === undefined || slots[ownerSlot] !== res) return undefined;
      let bound = slots[fetchSlot];
      if (bound === undefined) {
        const bind = slots[binderSlot];
        if (bind === undefined) return undefined;
        bound = slots[fetchSlot] = bind(this, res);
      }
      return bound;
    },
    set(this: Request, value: ApiFetch) {
      Object.defineProperty(this, 'apiFetch', {
        configurable: true,
        enumerable: true,
        writable: true,
        value,
      });
    },
  });
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
  const bind: Binder = createRequestBinder<Request>(options);
  return (req, res, next) => {
    const slots = res.locals as Slots | undefined;
    // A Router on a plain Node server (`router(req, res, done)`): no app, so no base
    // request to serve from and no res.locals; an own property, as Express did before.
    if (slots === undefined || req.app === undefined) {
      req.apiFetch = bind(req, res);
      next();
      return;
    }
    serveApiFetch(req);
    const owner = slots[ownerSlot];
    if (owner !== undefined && owner !== res) {
      // res.locals is one object shared by requests (assigned before the middleware): a
      // binding there would serve another request's tenant and `as`. An own property.
      req.apiFetch = bind(req, res);
      next();
      return;
    }
    slots[ownerSlot] = res;
    slots[binderSlot] = bind;
    // A second authMiddleware() on the way (a router's own client) rebinds.
    if (slots[fetchSlot] !== undefined) slots[fetchSlot] = undefined;
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
