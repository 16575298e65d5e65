// A small service in front of the upstream API. With API_* set it talks to that API; with
// none it starts the mock upstream in-process, so `pnpm start` works on a fresh clone.
// With METRICS=1 it serves Prometheus metrics of tokenfetch at /metrics.
import type { AddressInfo } from 'node:net';
import { loadOptionsFromEnv, type ApiClientOptions } from '@tokenfetch/core';
import { authMiddleware, problemDetails } from '@tokenfetch/express';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import express, { type NextFunction, type Request, type Response } from 'express';
import { prometheusMetrics } from './metrics.js';

const port = Number(process.env.PORT || 3000);
const configured = Object.keys(process.env).some((name) => name.startsWith('API_'));
const mock = configured ? undefined : await startMockUpstream();
const options: ApiClientOptions = mock
  ? {
      baseUrl: mock.baseUrl,
      auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: DEMO_USER.orgs[0] ?? 1 },
    }
  : loadOptionsFromEnv();
const metrics = process.env.METRICS === '1' ? prometheusMetrics() : undefined;

/** Express 4 needs this to see a rejected handler; Express 5 would catch it by itself. */
const route =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch(next);
  };

/** Sends the upstream's answer on: status, content type and body. */
async function relay(upstream: globalThis.Response, res: Response): Promise<void> {
  res.status(upstream.status).type(upstream.headers.get('content-type') ?? 'application/json');
  res.send(Buffer.from(await upstream.arrayBuffer()));
}

const app = express();
if (metrics) app.get('/metrics', metrics.handler);
app.use(authMiddleware(metrics ? { ...options, onEvent: metrics.onEvent } : options));

app.get(
  '/me',
  route(async (req, res) => relay(await req.apiFetch('/user/users/me'), res)),
);
app.get(
  '/objects/:id',
  route(async (req, res) =>
    relay(await req.apiFetch(`/data/object/${encodeURIComponent(String(req.params.id))}`), res),
  ),
);
app.use(problemDetails());

const server = app.listen(port, () => {
  const { port } = server.address() as AddressInfo; // the real one, also for PORT=0
  const where = mock ? `the mock upstream at ${mock.baseUrl}` : options.baseUrl;
  console.log(`tokenfetch Express example on http://localhost:${port}, calling ${where}`);
  console.log(`  try: curl localhost:${port}/me`);
  console.log(`       curl localhost:${port}/objects/42`);
  if (metrics) console.log(`       curl localhost:${port}/metrics`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void mock?.close();
  });
}
