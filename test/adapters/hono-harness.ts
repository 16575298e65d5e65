import { createAdaptorServer } from '@hono/node-server';
import { authMiddleware, problemDetails } from '@tokenfetch/hono';
import type { Server } from 'node:http';
import type { Hono } from 'hono';
import type { AdapterHarness } from './contract.js';

/** Resolves when `signal` aborts (at once if it has). */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/**
 * The contract app on Hono, served on Node by @hono/node-server (`serve`: its
 * `createAdaptorServer`, 1.x unless another major's is given). `env: 'node'` is how
 * node-server runs it (Node's request and response in `c.env`); `env: 'none'` hides them,
 * as on a WHATWG server (Bun, Deno, Workers), so that only the request's signal tells a
 * disconnect.
 */
export function honoHarness(
  HonoClass: typeof Hono,
  {
    env = 'node',
    serve = createAdaptorServer,
  }: { env?: 'node' | 'none'; serve?: typeof createAdaptorServer } = {},
): AdapterHarness {
  return (options, hooks) => {
    const app = new HonoClass();
    app.use(authMiddleware(options));
    app.get('/local', (c) => c.json({ ok: true }));
    app.get('/me', async (c) => {
      const upstream = await c.var.apiFetch('/user/users/me');
      return c.json(await upstream.json(), upstream.status as 200);
    });
    app.post('/objects', async (c) => {
      const upstream = await c.get('apiFetch')('/data/object', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(await c.req.json()),
      });
      return c.json(await upstream.json(), upstream.status as 200);
    });
    app.get('/external', async (c) => {
      const upstream = await c.var.apiFetch(String(c.req.query('url')));
      return c.body(null, upstream.status as 200);
    });
    app.get('/late', async (c) => {
      // Something else is awaited first; by the time apiFetch is called, the client has gone.
      await aborted(c.req.raw.signal);
      hooks?.lateCall?.(c.var.apiFetch(String(c.req.query('url'))));
      return c.body(null, 204);
    });
    app.onError(problemDetails());
    const fetch = env === 'node' ? app.fetch : (request: Request) => app.fetch(request);
    return serve({ fetch }) as Server;
  };
}
