import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';
import tokenfetch from '@tokenfetch/fastify';
import type Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { AdapterHarness, ContractHooks, Http2Harness } from './contract.js';

/** The contract app on one Fastify instance: the plugin registered, then the routes. */
async function contractApp(
  app: FastifyInstance,
  options: AuthMiddlewareOptions | undefined,
  hooks: ContractHooks | undefined,
): Promise<void> {
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
}

/** The contract app on one Fastify major, over HTTP/1.1. */
export function fastifyHarness(createApp: typeof Fastify): AdapterHarness {
  return async (options, hooks) => {
    const log = hooks?.log;
    // With a log to collect, Fastify's logger at `error`, each line's message handed over.
    const app =
      log === undefined
        ? createApp()
        : createApp({
            logger: {
              level: 'error',
              stream: { write: (json: string) => log((JSON.parse(json) as { msg: string }).msg) },
            },
          });
    await contractApp(app, options, hooks);
    return app.server as Server;
  };
}

/** The same app over HTTP/2 (cleartext), which Fastify serves with `http2: true`. */
export function fastifyHttp2Harness(createApp: typeof Fastify): Http2Harness {
  return async (options, hooks) => {
    const app = createApp({ http2: true });
    // The routes only touch what HTTP/1 and HTTP/2 requests and replies have in common.
    await contractApp(app as unknown as FastifyInstance, options, hooks);
    return app.server;
  };
}
