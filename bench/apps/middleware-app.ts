/**
 * Scenario 2's app: Express 5, `GET /hello` answers a constant without any upstream call.
 * MIDDLEWARE=1 puts tokenfetch's `authMiddleware()` in front of it (it attaches
 * `req.apiFetch` to every request; the route never calls it); MIDDLEWARE=pass-through an
 * empty middleware, for what any middleware costs.
 */
import express from 'express';
import { authMiddleware } from '@tokenfetch/express';
import { profilingHandlers } from '../lib/profile.js';
import { serveIpc } from '../lib/taskset.js';
import { credentials } from './credentials.js';

const app = express();
app.disable('x-powered-by');
app.disable('etag');
if (process.env.MIDDLEWARE === '1') {
  app.use(authMiddleware({ baseUrl: process.env.BASE_URL!, auth: credentials }));
} else if (process.env.MIDDLEWARE === 'pass-through') {
  // Any middleware's share: Express's dispatch of one more layer.
  app.use((_req, _res, next) => next());
}
app.get('/hello', (_req, res) => {
  res.type('json').send('{"hello":"world"}');
});

const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const address = server.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;
serveIpc(profilingHandlers(), { url: `http://127.0.0.1:${port}/hello` });
