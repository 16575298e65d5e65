// The app every runtime of the matrix serves (test/runtimes/matrix.mjs): the Hono example's
// portable app (examples/hono/src/portable.ts: `authMiddleware()` made once, at module
// scope, from the environment), or the same app with a shared token store; and on either,
// what the matrix looks at:
//
//   GET /me      the upstream's /user/users/me through c.var.apiFetch
//   GET /stats   { isolate, fetchCalls, events }: which isolate or process answered, how
//                many calls went through the global fetch (core's web build sends through
//                it off Node, not undici), and the client's events by type (with a store)
//   GET /hang    a call to HANG_URL, which never answers: it ends only if the runtime
//                aborts it when the downstream client hangs up
//   GET /pool/me?tenant=a   /user/users/me as tenant `a` of a pool made once, at module
//                scope (tenant `a` logs in at POOL_BASE_URL as a@example.com, password pw-a)
//   GET /store-key   the store keys of fixed credentials, as this runtime derives them
//
// An error that is not tokenfetch's is answered as a 500 whose body is the error itself,
// so that the matrix can say what failed (workerd's own errors, say).
import { createClientPool, type TokenFetchEvent } from '@tokenfetch/core';
import { authMiddleware, problemDetails, type AuthMiddlewareOptions } from '@tokenfetch/hono';
import { Hono, type Context } from 'hono';
import { storeKeys } from './store-keys.js';

const realFetch = globalThis.fetch;
let fetchCalls = 0;
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  fetchCalls++;
  return realFetch(...args);
}) as typeof fetch;

/** The client's events by type (`login:store`, `store_error:get`, …), for `GET /stats`. */
const events: Record<string, number> = {};
export function countEvent(event: TokenFetchEvent): void {
  const detail =
    event.type === 'login' ? event.source : event.type === 'store_error' ? event.operation : '';
  const name = detail === '' ? event.type : `${event.type}:${detail}`;
  events[name] = (events[name] ?? 0) + 1;
}

// Made at the first request: workerd refuses random values at global scope.
let isolate: string | undefined;

// One pool for every request, made at module scope as the middleware is: on workerd its
// tenants' clients and logins outlive the request that made them.
const pool = createClientPool({
  resolve: (tenant) => ({
    baseUrl: process.env.POOL_BASE_URL!,
    auth: { email: `${tenant}@example.com`, password: `pw-${tenant}`, orgId: 1 },
  }),
});

/** The example's app with `authMiddleware(options)` instead of `authMiddleware()`. */
export function createApp(options: AuthMiddlewareOptions<Context>): Hono {
  const app = new Hono();
  app.use(authMiddleware(options));
  app.get('/me', async (c) => {
    const upstream = await c.var.apiFetch('/user/users/me');
    return c.json(await upstream.json(), upstream.status as 200);
  });
  return app;
}

/** Adds the matrix's routes and error answer to `app`. */
export function instrument(app: Hono): Hono {
  app.get('/stats', (c) => {
    isolate ??= crypto.randomUUID();
    return c.json({ isolate, fetchCalls, events });
  });
  app.get(
    '/hang',
    authMiddleware({ baseUrl: process.env.HANG_URL!, auth: { apiKey: 'k' } }),
    async (c) => c.body(null, (await c.var.apiFetch('/hang')).status as 200),
  );
  app.get(
    '/pool/me',
    authMiddleware({ pool, tenant: (c) => c.req.query('tenant') ?? '' }),
    async (c) => {
      const upstream = await c.var.apiFetch('/user/users/me');
      return c.json(await upstream.json(), upstream.status as 200);
    },
  );
  app.get('/store-key', async (c) => c.json(await storeKeys()));
  app.onError(problemDetails((error, c) => c.text(String(error), 500)));
  return app;
}
