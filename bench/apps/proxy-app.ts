/**
 * Scenario 1's app: Express 5, `GET /proxy` makes one upstream call and sends its answer
 * on. CONTENDER picks who makes the call; tokenfetch goes through its Express adapter
 * (`authMiddleware()` → `req.apiFetch`). BASE_URL is the mock upstream's.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createApiClient } from '@tokenfetch/core';
import { authMiddleware } from '@tokenfetch/express';
import { contenders, loadBaseline, type ContenderName } from '../contenders/index.js';
import { serveIpc } from '../lib/taskset.js';
import { credentials } from './credentials.js';
import { heapAfterGc } from './heap.js';

const name = process.env.CONTENDER as ContenderName;
const baseUrl = process.env.BASE_URL!;
const upstreamPath = '/items/1';

const app = express();
app.disable('x-powered-by');
app.disable('etag');

if (name === 'tokenfetch' || name === 'tokenfetch-baseline') {
  // The baseline is another build of tokenfetch (TOKENFETCH_BASELINE), wired the same way.
  const built = name === 'tokenfetch' ? { createApiClient, authMiddleware } : await loadBaseline();
  app.use(built.authMiddleware({ client: built.createApiClient({ baseUrl, auth: credentials }) }));
  app.get('/proxy', async (req, res) => {
    const upstream = await req.apiFetch(upstreamPath);
    res
      .status(upstream.status)
      .type('json')
      .send(await upstream.text());
  });
} else {
  const contender = contenders[name];
  if (contender === undefined) throw new Error(`unknown CONTENDER ${name}`);
  const client = await contender.create(baseUrl, credentials);
  app.get('/proxy', async (_req, res) => {
    const upstream = await client.fetch(upstreamPath);
    res.status(upstream.status).type('json').send(upstream.body);
  });
}

// A call aborted because autocannon closed its connection at the end of a round: the
// client is gone, there is no one to answer. Anything else is a real 502.
app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  if (res.headersSent || res.destroyed) return;
  res
    .status(502)
    .type('text')
    .send(error instanceof Error ? error.name : 'error');
});

const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const address = server.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;
serveIpc({ heap: heapAfterGc }, { url: `http://127.0.0.1:${port}/proxy` });
