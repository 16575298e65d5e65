import { once } from 'node:events';
import { createServer } from 'node:http';
import { authMiddleware, problemDetails } from '@tokenfetch/express';
import type express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AdapterHarness } from './contract.js';

type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * The contract app on one Express major. Express 4 does not catch a rejected handler, so
 * handlers pass their errors to `next` themselves, as users of Express 4 must.
 */
export function expressHarness(createApp: typeof express): AdapterHarness {
  const route =
    (handler: Handler): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      handler(req, res).catch(next);
    };
  return (options, hooks) => {
    const app = createApp();
    app.use(createApp.json());
    app.use(authMiddleware(options));
    app.get('/local', (_req, res) => {
      res.json({ ok: true });
    });
    app.get(
      '/me',
      route(async (req, res) => {
        const upstream = await req.apiFetch('/user/users/me');
        res.status(upstream.status).json(await upstream.json());
      }),
    );
    app.post(
      '/objects',
      route(async (req, res) => {
        const upstream = await req.apiFetch('/data/object', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(req.body),
        });
        res.status(upstream.status).json(await upstream.json());
      }),
    );
    app.get(
      '/external',
      route(async (req, res) => {
        const upstream = await req.apiFetch(String(req.query.url));
        res.sendStatus(upstream.status);
      }),
    );
    app.get(
      '/late',
      route(async (req, res) => {
        // Something else is awaited first; by the time apiFetch is called, the client has gone.
        await once(res, 'close');
        hooks?.lateCall?.(req.apiFetch(String(req.query.url)));
      }),
    );
    app.use(problemDetails());
    return createServer(app);
  };
}
