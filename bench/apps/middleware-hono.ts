/**
 * Scenario 2's app on Hono 4, served on Node by @hono/node-server: `GET /hello` answers a
 * constant without any upstream call. MIDDLEWARE=1 puts tokenfetch's `authMiddleware()`
 * in front of it (it sets `c.var.apiFetch`; the route never calls it);
 * MIDDLEWARE=pass-through an empty `app.use`, what any Hono middleware costs.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { authMiddleware } from '@tokenfetch/hono';
import { Hono } from 'hono';
import { profilingHandlers } from '../lib/profile.js';
import { serveIpc } from '../lib/taskset.js';
import { credentials } from './credentials.js';

const app = new Hono();
if (process.env.MIDDLEWARE === '1') {
  app.use(authMiddleware({ baseUrl: process.env.BASE_URL!, auth: credentials }));
} else if (process.env.MIDDLEWARE === 'pass-through') {
  app.use((_c, next) => next());
}
app.get('/hello', (c) => c.body('{"hello":"world"}', 200, { 'content-type': 'application/json' }));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
serveIpc(profilingHandlers(), {
  url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hello`,
});
