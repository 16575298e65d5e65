import { once } from 'node:events';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { InvalidCredentialsError } from '@tokenfetch/core';
import { authMiddleware, problemDetails, type TokenfetchEnv } from '@tokenfetch/hono';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// What the adapter contract does not cover: Hono's two ways to read a variable, a typed
// env, and problemDetails() as an onError handler beside Hono's own errors.
describe('@tokenfetch/hono', () => {
  let upstream: MockUpstream;
  const servers: Server[] = [];
  const serve = async (app: Hono<TokenfetchEnv> | Hono): Promise<Server> => {
    const server = createAdaptorServer({ fetch: app.fetch }) as Server;
    servers.push(server);
    await once(server.listen(0, '127.0.0.1'), 'listening');
    return server;
  };
  const options = () => ({
    baseUrl: upstream.baseUrl,
    auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
  });

  beforeEach(async () => {
    upstream = await startMockUpstream();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
    await upstream.close();
  });

  it('c.var.apiFetch and c.get("apiFetch") are the same function, on an app typed with TokenfetchEnv', async () => {
    const app = new Hono<TokenfetchEnv>();
    app.use(authMiddleware(options()));
    app.get('/both', async (c) => {
      const same = c.var.apiFetch === c.get('apiFetch');
      const [a, b] = await Promise.all([
        c.var.apiFetch('/user/users/me'),
        c.get('apiFetch')('/user/users/me'),
      ]);
      return c.json({ same, statuses: [a.status, b.status] });
    });
    const response = await request(await serve(app))
      .get('/both')
      .expect(200);
    expect(response.body).toEqual({ same: true, statuses: [200, 200] });
    expect(upstream.stats.successfulLogins).toBe(1);
  });

  it('each request gets its own apiFetch', async () => {
    const app = new Hono();
    const seen: unknown[] = [];
    app.use(authMiddleware(options()));
    app.get('/x', (c) => {
      seen.push(c.var.apiFetch);
      return c.text('ok');
    });
    const server = await serve(app);
    await request(server).get('/x').expect(200);
    await request(server).get('/x').expect(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
  });

  it('throws ConfigError at authMiddleware(), before any request', () => {
    expect(() => authMiddleware({ baseUrl: 'ftp://x', auth: { apiKey: 'k' } })).toThrow(/baseUrl/);
  });

  describe('problemDetails()', () => {
    const appThrowing = (error: unknown, handler = problemDetails()): Hono => {
      const app = new Hono();
      app.get('/throw', () => {
        throw error;
      });
      app.onError(handler);
      return app;
    };

    it('answers a tokenfetch error as problem+json, keeping headers the handler set', async () => {
      const app = new Hono();
      app.get('/throw', (c) => {
        c.header('x-request-id', 'r-1');
        throw new InvalidCredentialsError();
      });
      app.onError(problemDetails());
      const response = await request(await serve(app))
        .get('/throw')
        .expect(502);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['x-request-id']).toBe('r-1');
      expect(JSON.parse(response.text)).toMatchObject({
        status: 502,
        code: 'E_INVALID_CREDENTIALS',
      });
    });

    it("answers an HTTPException with its own response, as Hono's default handler does", async () => {
      const app = appThrowing(new HTTPException(418, { message: 'short and stout' }));
      const response = await request(await serve(app))
        .get('/throw')
        .expect(418);
      expect(response.text).toBe('short and stout');
    });

    it("answers a plain error with a logged 500 'Internal Server Error', as Hono's default handler does", async () => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
      const error = new Error('boom');
      const response = await request(await serve(appThrowing(error)))
        .get('/throw')
        .expect(500);
      expect(response.text).toBe('Internal Server Error');
      expect(logged).toHaveBeenCalledWith(error);
    });

    it('hands any other error to the fallback it is given, and tokenfetch errors never', async () => {
      const fallback = vi.fn((_error: Error, c: { json: (v: unknown, s: 503) => Response }) =>
        c.json({ mine: true }, 503),
      );
      const plain = await request(
        await serve(appThrowing(new Error('x'), problemDetails(fallback))),
      )
        .get('/throw')
        .expect(503);
      expect(plain.body).toEqual({ mine: true });
      await request(
        await serve(appThrowing(new InvalidCredentialsError(), problemDetails(fallback))),
      )
        .get('/throw')
        .expect(502);
      expect(fallback).toHaveBeenCalledTimes(1);
    });
  });
});
