import { once } from 'node:events';
import type { Server } from 'node:http';
import tokenfetch from '@tokenfetch/fastify';
import type Fastify from 'fastify';
import type { AdapterHarness } from './contract.js';

/** The contract app on one Fastify major: the plugin registered, then the routes. */
export function fastifyHarness(createApp: typeof Fastify): AdapterHarness {
  return async (options, hooks) => {
    const app = createApp();
    await app.register(tokenfetch, options ?? {});
    app.get('/local', () => ({ ok: true }));
    app.get('/me', async (request, reply) => {
      const upstream = await request.apiFetch('/user/users/me');
      return reply.code(upstream.status).send(await upstream.json());
    });
    app.post('/objects', async (request, reply) => {
      const upstream = await request.apiFetch('/data/object', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request.body),
      });
      return reply.code(upstream.status).send(await upstream.json());
    });
    app.get<{ Querystring: { url: string } }>('/external', async (request, reply) => {
      const upstream = await request.apiFetch(request.query.url);
      return reply.code(upstream.status).send();
    });
    app.get<{ Querystring: { url: string } }>('/late', (request, reply) => {
      // Something else is awaited first; by the time apiFetch is called, the client has gone.
      // Nothing is ever sent: the handler returns nothing and Fastify waits for a send.
      void once(reply.raw, 'close').then(() => {
        hooks?.lateCall?.(request.apiFetch(request.query.url));
      });
    });
    await app.ready();
    return app.server as Server;
  };
}
