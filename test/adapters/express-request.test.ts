import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiClient } from '@tokenfetch/core';
import { authMiddleware } from '@tokenfetch/express';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import type express from 'express';
import express4 from 'express-v4';
import express5 from 'express-v5';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * `req.apiFetch` is served by an accessor on Express's base request, not set as an own
 * property per request: these pin what users can see of that.
 */
for (const [name, createApp] of [
  ['Express 4', express4 as unknown as typeof express],
  ['Express 5', express5 as unknown as typeof express],
] as const) {
  describe(`req.apiFetch on ${name}`, () => {
    let upstream: MockUpstream;
    const servers: Server[] = [];
    const user = { email: 'svc@acme.com', password: 'pw-acme', orgs: [42, 43] };
    const options = (orgId = 42) => ({
      baseUrl: upstream.baseUrl,
      auth: { email: user.email, password: user.password, orgId },
    });
    const get = async (app: express.Express | RequestListener, path: string): Promise<unknown> => {
      const server = createServer(app).listen(0, '127.0.0.1');
      servers.push(server);
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return response.json();
    };
    const me = async (req: express.Request): Promise<unknown> =>
      ((await (await req.apiFetch('/user/users/me')).json()) as { email: string }).email;

    beforeEach(async () => {
      upstream = await startMockUpstream({ users: [user] });
    });
    afterEach(async () => {
      for (const server of servers.splice(0)) server.close();
      await upstream.close();
    });

    it('reaches the handlers of a mounted sub-app', async () => {
      const app = createApp();
      const sub = createApp();
      sub.get('/me', (req, res, next) => {
        me(req).then((email) => res.json({ email }), next);
      });
      app.use(authMiddleware(options()));
      app.use('/sub', sub);
      expect(await get(app, '/sub/me')).toEqual({ email: user.email });
    });

    it('is undefined on a request that did not pass the middleware', async () => {
      const app = createApp();
      app.get('/before', (req, res) => {
        res.json({ type: typeof req.apiFetch });
      });
      app.use(authMiddleware(options()));
      app.get('/after', (req, res) => {
        res.json({ type: typeof req.apiFetch, same: req.apiFetch === req.apiFetch });
      });
      expect(await get(app, '/before')).toEqual({ type: 'undefined' });
      expect(await get(app, '/after')).toEqual({ type: 'function', same: true });
    });

    it("is rebound by a router's own authMiddleware()", async () => {
      const app = createApp();
      const router = createApp.Router();
      const orgs: unknown[] = [];
      app.use(authMiddleware(options()));
      app.use((req, _res, next) => {
        orgs.push(typeof req.apiFetch);
        next();
      });
      router.use(authMiddleware(options(43)));
      router.get('/org', (req, res, next) => {
        req
          .apiFetch('/user/users/me')
          .then((upstreamResponse) => upstreamResponse.json())
          .then((body) => res.json(body), next);
      });
      app.use('/r', router);
      expect(await get(app, '/r/org')).toMatchObject({ currentOrg: { id: 43 } });
      expect(orgs).toEqual(['function']);
      expect(upstream.stats.successfulLogins).toBe(1);
    });

    it('is set by a Router on a plain Node server, with no app and no res.locals', async () => {
      const router = createApp.Router();
      router.use(authMiddleware(options()));
      router.get('/me', (req, res, next) => {
        me(req).then((email) => res.end(JSON.stringify({ email })), next);
      });
      const server: RequestListener = (req, res) => {
        router(req as express.Request, res as express.Response, (error?: unknown) => {
          res.statusCode = 500;
          res.end(JSON.stringify({ error: String(error) }));
        });
      };
      expect(await get(server, '/me')).toEqual({ email: user.email });
    });

    it('reaches an app of another copy of Express through its own authMiddleware({ client })', async () => {
      const other = (createApp === express4 ? express5 : express4) as unknown as typeof express;
      const client = createApiClient(options());
      const app = createApp();
      const handedOver = other();
      handedOver.use(authMiddleware({ client }));
      handedOver.get('/me', (req, res, next) => {
        me(req).then((email) => res.json({ email }), next);
      });
      app.use(authMiddleware({ client }));
      app.use((req, res, next) => {
        handedOver(req, res, next); // by hand: not mounted, so its requests do not inherit from app's
      });
      try {
        expect(await get(app, '/me')).toEqual({ email: user.email });
      } finally {
        await client.close();
      }
    });

    it('stays set for apps of each of two installed copies of @tokenfetch/express', async () => {
      // The same source under another module id: a second copy, as a dependency that
      // brings its own version of the adapter would load.
      const copy = '../../packages/express/src/index.ts?another-copy';
      const other = (await import(/* @vite-ignore */ copy)) as {
        authMiddleware: typeof authMiddleware;
      };
      expect(other.authMiddleware).not.toBe(authMiddleware);
      const appOf = (middleware: typeof authMiddleware) => {
        const app = createApp();
        app.use(middleware(options()));
        app.get('/me', (req, res, next) => {
          me(req).then((email) => res.json({ email }), next);
        });
        return app;
      };
      const first = appOf(authMiddleware);
      const second = appOf(other.authMiddleware);
      // Each copy's middleware has served a request; then each app serves another.
      for (const app of [first, second, first, second]) {
        expect(await get(app, '/me')).toEqual({ email: user.email });
      }
    });

    it('is never another request’s when res.locals is one object shared by requests', async () => {
      const app = createApp();
      const shared = {};
      let arrived = 0;
      let bothArrived!: () => void;
      const both = new Promise<void>((resolve) => (bothArrived = resolve));
      app.use((_req, res, next) => {
        res.locals = shared; // before the middleware: allowed, and here shared
        next();
      });
      app.use(authMiddleware({ ...options(), as: (req) => ({ orgId: Number(req.query.org) }) }));
      app.get('/org', (req, res, next) => {
        if (++arrived === 2) bothArrived();
        void both
          .then(async () => {
            // Both requests have passed the middleware; 42 reads req.apiFetch first.
            if (req.query.org === '43') await new Promise((resolve) => setImmediate(resolve));
            const upstreamResponse = await req.apiFetch('/user/users/me');
            res.json(await upstreamResponse.json());
          })
          .catch(next);
      });
      const [first, second] = await Promise.all([get(app, '/org?org=42'), get(app, '/org?org=43')]);
      expect(first).toMatchObject({ currentOrg: { id: 42 } });
      expect(second).toMatchObject({ currentOrg: { id: 43 } });
    });

    it('can be replaced by assignment (a test double)', async () => {
      const app = createApp();
      app.use(authMiddleware(options()));
      app.use((req, _res, next) => {
        req.apiFetch = async () => Response.json({ email: 'double@example.com' });
        next();
      });
      app.get('/me', (req, res, next) => {
        me(req).then((email) => res.json({ email }), next);
      });
      expect(await get(app, '/me')).toEqual({ email: 'double@example.com' });
      expect(upstream.stats.loginAttempts).toBe(0);
    });
  });
}
