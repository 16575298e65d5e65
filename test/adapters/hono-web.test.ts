// Hono as on Bun, Deno and Workers: core's web build (`#platform` is web.ts there, so calls
// go through the global fetch) and only the request's signal to tell a disconnect. A body
// still being read when the client hangs up must end, as it does on Node's undici path.
import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { authMiddleware, problemDetails } from '@tokenfetch/hono';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock(
  '../../packages/core/src/platform/node.js',
  () => import('../../packages/core/src/platform/web.js'),
);

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await once(server.listen(0, '127.0.0.1'), 'listening');
  return (server.address() as AddressInfo).port;
}

describe('@tokenfetch/hono on core’s web build, the request’s signal only', () => {
  it('a hang-up while the handler reads an upstream body aborts that read', async () => {
    // Logs anyone in; every call gets its headers and a first chunk, then nothing.
    const upstreamPort = await listen(
      createServer((req, res) => {
        req.resume();
        if (req.url === '/api/user/authenticate') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ token: 'hono-web-token' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
      }),
    );
    let headersIn!: () => void;
    const headers = new Promise<void>((resolve) => (headersIn = resolve));
    let readOutcome!: (outcome: unknown) => void;
    const outcome = new Promise<unknown>((resolve) => (readOutcome = resolve));
    const app = new Hono();
    app.use(
      authMiddleware({
        baseUrl: `http://127.0.0.1:${upstreamPort}/api`,
        auth: { email: 'a@example.com', password: 'pw', orgId: 1 },
      }),
    );
    app.get('/proxy', async (c) => {
      const upstream = await c.var.apiFetch('/x');
      headersIn();
      await new Promise((resolve) => setTimeout(resolve, 100)); // something else first
      const hang = new Promise((resolve) => setTimeout(resolve, 2_000, 'hang'));
      readOutcome(
        await Promise.race([upstream.text(), hang]).catch((error: unknown) => ({ error })),
      );
      return c.text('done');
    });
    app.onError(problemDetails());
    // As on a WHATWG server: no Node response in c.env.
    const port = await listen(
      createAdaptorServer({ fetch: (request: Request) => app.fetch(request) }) as Server,
    );
    const downstream = get(`http://127.0.0.1:${port}/proxy`);
    downstream.on('error', () => {});
    await headers;

    downstream.destroy();

    expect(await outcome).toMatchObject({ error: { name: 'AbortError' } });
  });
});
