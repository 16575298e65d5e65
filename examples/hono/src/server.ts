// A small Hono service in front of the upstream API, served on Node by @hono/node-server.
// With API_* set it talks to that API; with none it starts the mock upstream in-process,
// so `pnpm start` works on a fresh clone.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { loadOptionsFromEnv, type ApiClientOptions } from '@tokenfetch/core';
import { authMiddleware, problemDetails } from '@tokenfetch/hono';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { Hono } from 'hono';

const port = Number(process.env.PORT || 3000);
const configured = Object.keys(process.env).some((name) => name.startsWith('API_'));
const mock = configured ? undefined : await startMockUpstream();
const options: ApiClientOptions = mock
  ? {
      baseUrl: mock.baseUrl,
      auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: DEMO_USER.orgs[0] ?? 1 },
    }
  : loadOptionsFromEnv();

/** Sends the upstream's answer on: status, content type and body, streamed. */
const relay = (upstream: Response): Response =>
  new Response(upstream.body, {
    status: upstream.status,
    headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' },
  });

const app = new Hono();
app.use(authMiddleware(options));
app.get('/me', async (c) => relay(await c.var.apiFetch('/user/users/me')));
app.get('/objects/:id', async (c) =>
  relay(await c.var.apiFetch(`/data/object/${encodeURIComponent(c.req.param('id'))}`)),
);
app.onError(problemDetails());

const server = serve({ fetch: app.fetch, port }, ({ port }: AddressInfo) => {
  const where = mock ? `the mock upstream at ${mock.baseUrl}` : options.baseUrl;
  console.log(`tokenfetch Hono example on http://localhost:${port}, calling ${where}`);
  console.log(`  try: curl localhost:${port}/me`);
  console.log(`       curl localhost:${port}/objects/42`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void mock?.close();
  });
}
