// Checked against the built packages' .d.ts (no path mapping here): importing an adapter
// is what makes `req.apiFetch` / `ctx.apiFetch` / `request.apiFetch` / `c.var.apiFetch`
// known to TypeScript.
import { createClientPool, type ApiClient, type ApiFetch } from '@tokenfetch/core';
import type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';
import { authMiddleware as expressAuth, problemDetails } from '@tokenfetch/express';
import tokenfetch, { type TokenfetchOptions } from '@tokenfetch/fastify';
import {
  authMiddleware as honoAuth,
  problemDetails as honoProblemDetails,
  type TokenfetchEnv,
} from '@tokenfetch/hono';
import { authMiddleware as koaAuth } from '@tokenfetch/koa';
import express, { type Request } from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import Koa, { type DefaultState } from 'koa';
import { describe, expectTypeOf, it } from 'vitest';

describe('@tokenfetch/express types', () => {
  it('adds apiFetch to every Express request', () => {
    const app = express();
    app.use(expressAuth());
    app.use(problemDetails());
    app.get('/me', (req, res) => {
      expectTypeOf(req.apiFetch).toEqualTypeOf<ApiFetch>();
      expectTypeOf(req.apiFetch('/user/users/me')).resolves.toEqualTypeOf<Response>();
      res.end();
    });
  });

  it('accepts client options or a shared client, and nothing else', () => {
    expectTypeOf(expressAuth)
      .parameter(0)
      .toEqualTypeOf<AuthMiddlewareOptions<Request> | undefined>();
    expectTypeOf<{ client: ApiClient }>().toExtend<AuthMiddlewareOptions>();
    // @ts-expect-error -- baseUrl must be a string
    expressAuth({ baseUrl: 1, auth: { apiKey: 'k' } });
  });

  it('takes a pool and a tenant, or `as`, both given the Express request', () => {
    const pool = createClientPool({
      resolve: () => ({ baseUrl: 'https://x.test', auth: { apiKey: 'k' } }),
    });
    expressAuth({ pool, tenant: (req) => req.hostname });
    expressAuth({
      baseUrl: 'https://x.test',
      auth: { apiKey: 'k' },
      as: (req) => ({ impersonateUserId: req.get('x-user') ?? '' }),
    });
    // @ts-expect-error -- a pool needs a tenant
    expressAuth({ pool });
  });
});

describe('@tokenfetch/koa types', () => {
  it('adds apiFetch to the default context', () => {
    const app = new Koa();
    app.use(koaAuth());
    app.use(async (ctx) => {
      expectTypeOf(ctx.apiFetch).toEqualTypeOf<ApiFetch>();
      ctx.body = await (await ctx.apiFetch('/user/users/me')).json();
    });
  });

  it('keeps apiFetch on a custom context', () => {
    interface AppContext {
      tenant: string;
    }
    const app = new Koa<DefaultState, AppContext>();
    app.use(koaAuth());
    app.use((ctx) => {
      expectTypeOf(ctx.tenant).toEqualTypeOf<string>();
      expectTypeOf(ctx.apiFetch).toEqualTypeOf<ApiFetch>();
    });
  });
});

describe('@tokenfetch/fastify types', () => {
  it('adds apiFetch to every Fastify request', async () => {
    const app = Fastify();
    await app.register(tokenfetch);
    app.get('/me', async (request) => {
      expectTypeOf(request.apiFetch).toEqualTypeOf<ApiFetch>();
      expectTypeOf(request.apiFetch('/user/users/me')).resolves.toEqualTypeOf<Response>();
      return (await request.apiFetch('/user/users/me')).json();
    });
  });

  it('takes no options, client options, a shared client, or a pool and a tenant', async () => {
    const app = Fastify();
    await app.register(tokenfetch, { problemDetails: false });
    await app.register(tokenfetch, {
      baseUrl: 'https://x.test',
      auth: { apiKey: 'k' },
      as: (request) => ({ impersonateUserId: request.headers['x-user']?.toString() ?? '' }),
    });
    const pool = createClientPool({
      resolve: () => ({ baseUrl: 'https://x.test', auth: { apiKey: 'k' } }),
    });
    await app.register(tokenfetch, { pool, tenant: (request) => request.hostname });
    expectTypeOf<{ client: ApiClient }>().toExtend<TokenfetchOptions>();
    expectTypeOf<AuthMiddlewareOptions<FastifyRequest>>().toExtend<TokenfetchOptions>();
    // @ts-expect-error -- baseUrl must be a string
    await app.register(tokenfetch, { baseUrl: 1, auth: { apiKey: 'k' } });
    // @ts-expect-error -- client options need auth
    await app.register(tokenfetch, { baseUrl: 'https://x.test' });
    // @ts-expect-error -- a pool needs a tenant
    await app.register(tokenfetch, { pool });
  });
});

describe('@tokenfetch/hono types', () => {
  it('adds apiFetch to every context through ContextVariableMap', () => {
    const app = new Hono();
    app.use(honoAuth());
    app.onError(honoProblemDetails());
    app.get('/me', async (c) => {
      expectTypeOf(c.var.apiFetch).toEqualTypeOf<ApiFetch>();
      expectTypeOf(c.get('apiFetch')).toEqualTypeOf<ApiFetch>();
      return c.json(await (await c.var.apiFetch('/user/users/me')).json());
    });
  });

  it('keeps apiFetch beside an app’s own bindings and variables', () => {
    const app = new Hono<{ Bindings: { API_KEY: string }; Variables: { user: string } }>();
    app.use(honoAuth());
    app.get('/', (c) => {
      expectTypeOf(c.env.API_KEY).toEqualTypeOf<string>();
      expectTypeOf(c.var.user).toEqualTypeOf<string>();
      expectTypeOf(c.var.apiFetch).toEqualTypeOf<ApiFetch>();
      return c.text('ok');
    });
    expectTypeOf<TokenfetchEnv['Variables']['apiFetch']>().toEqualTypeOf<ApiFetch>();
  });

  it('gives tenant and as the Hono context, and problemDetails a fallback', () => {
    const pool = createClientPool({
      resolve: () => ({ baseUrl: 'https://x.test', auth: { apiKey: 'k' } }),
    });
    honoAuth({ pool, tenant: (c) => c.req.header('x-tenant') ?? '' });
    honoAuth({
      baseUrl: 'https://x.test',
      auth: { apiKey: 'k' },
      as: (c) => ({ impersonateUserId: c.req.header('x-user') ?? '' }),
    });
    honoProblemDetails((_error, c) => c.text('no', 500));
    // @ts-expect-error -- a pool needs a tenant
    honoAuth({ pool });
  });
});
