// Checked against the built packages' .d.ts: tokenfetch's fetch is fetch's own type.
import type { ApiClient, ApiFetch } from '@tokenfetch/core';
import { authMiddleware as expressAuth } from '@tokenfetch/express';
import tokenfetch from '@tokenfetch/fastify';
import { authMiddleware as koaAuth } from '@tokenfetch/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import ky from 'ky';
import createClient from 'openapi-fetch';
import { describe, expectTypeOf, it } from 'vitest';

declare const client: ApiClient;

describe('fetch signature', () => {
  it('client.fetch and ApiFetch are assignable to typeof fetch', () => {
    expectTypeOf(client.fetch).toExtend<typeof fetch>();
    expectTypeOf<ApiFetch>().toExtend<typeof fetch>();
    expectTypeOf<ApiFetch>().parameters.toEqualTypeOf<
      [input: string | URL | Request, init?: RequestInit]
    >();
    expectTypeOf(
      client.fetch(new Request('https://acme.resolver.com/api/x')),
    ).resolves.toEqualTypeOf<Response>();
    expectTypeOf(
      client.json<{ id: number }>(new Request('https://acme.resolver.com/api/x')),
    ).resolves.toEqualTypeOf<{ id: number }>();
  });

  it('is accepted where libraries take a fetch', () => {
    ky.create({ prefixUrl: 'https://acme.resolver.com/api', fetch: client.fetch });
    createClient({ baseUrl: 'https://acme.resolver.com/api', fetch: client.fetch });
  });

  it('req.apiFetch, ctx.apiFetch and request.apiFetch accept a Request', async () => {
    const app = express();
    app.use(expressAuth());
    app.get('/', async (req, res) => {
      const upstream = await req.apiFetch(new Request('https://acme.resolver.com/api/x'), {
        method: 'POST',
      });
      expectTypeOf(upstream).toEqualTypeOf<Response>();
      expectTypeOf(req.apiFetch).toExtend<typeof fetch>();
      res.end();
    });
    const koa = new Koa();
    koa.use(koaAuth());
    koa.use(async (ctx) => {
      const upstream = await ctx.apiFetch(new Request('https://acme.resolver.com/api/x'));
      expectTypeOf(upstream).toEqualTypeOf<Response>();
      expectTypeOf(ctx.apiFetch).toExtend<typeof fetch>();
    });
    const fastify = Fastify();
    await fastify.register(tokenfetch);
    fastify.get('/', async (request) => {
      const upstream = await request.apiFetch(new Request('https://acme.resolver.com/api/x'));
      expectTypeOf(upstream).toEqualTypeOf<Response>();
      expectTypeOf(request.apiFetch).toExtend<typeof fetch>();
      return upstream.status;
    });
  });
});
