import { once } from 'node:events';
import { createServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { authMiddleware, problemDetails } from '@tokenfetch/koa';
import type Koa from 'koa';
import type { AdapterHarness, ContractHooks, Http2Harness } from './contract.js';
import type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';

async function readJson(req: NodeJS.ReadableStream): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.from(chunk as Buffer));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** The contract app on one Koa major. */
function koaApp(KoaClass: typeof Koa, options?: AuthMiddlewareOptions, hooks?: ContractHooks): Koa {
  const app = new KoaClass();
  app.silent = true;
  app.use(problemDetails());
  app.use(authMiddleware(options));
  app.use(async (ctx) => {
    if (ctx.path === '/local') {
      ctx.body = { ok: true };
    } else if (ctx.path === '/me') {
      const upstream = await ctx.apiFetch('/user/users/me');
      ctx.status = upstream.status;
      ctx.body = await upstream.json();
    } else if (ctx.path === '/objects' && ctx.method === 'POST') {
      const upstream = await ctx.apiFetch('/data/object', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(await readJson(ctx.req)),
      });
      ctx.status = upstream.status;
      ctx.body = await upstream.json();
    } else if (ctx.path === '/external') {
      const upstream = await ctx.apiFetch(String(ctx.query.url));
      ctx.status = upstream.status;
    } else if (ctx.path === '/late') {
      // Something else is awaited first; by the time apiFetch is called, the client has gone.
      await once(ctx.res, 'close');
      hooks?.lateCall?.(ctx.apiFetch(String(ctx.query.url)));
    }
  });
  return app;
}

/** The contract app on one Koa major, over HTTP/1.1. */
export function koaHarness(KoaClass: typeof Koa): AdapterHarness {
  return (options, hooks) => {
    const handle = koaApp(KoaClass, options, hooks).callback();
    // Koa's handler settles its own errors; nothing is left floating.
    return createServer((req, res) => void handle(req, res));
  };
}

/** The same app over HTTP/2 (cleartext), which Koa serves through node:http2's compatibility API. */
export function koaHttp2Harness(KoaClass: typeof Koa): Http2Harness {
  return (options, hooks) => {
    const handle = koaApp(KoaClass, options, hooks).callback();
    return createHttp2Server((req, res) => void handle(req, res));
  };
}
