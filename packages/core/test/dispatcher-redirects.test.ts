// A dispatcher of the caller's that follows redirects itself (undici's redirect interceptor):
// tokenfetch asks it not to, as fetch does, so that no credential follows a 3xx to another
// origin — the key of a call, the password of a login.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeyAuth, createApiClient, sessionTokenAuth } from '@tokenfetch/core';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: string[] = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
      handle(req, res);
    });
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        s.closeAllConnections();
        s.close(resolve);
      }),
  );
  return { origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

function redirecting(): Dispatcher {
  const agent = new Agent();
  closers.push(() => agent.close());
  return agent.compose(interceptors.redirect({ maxRedirections: 3 }));
}

describe('a dispatcher that follows redirects', () => {
  for (const where of ['init.dispatcher', 'the dispatcher option'] as const) {
    it(`given as ${where}: the key does not follow a redirect to another origin`, async () => {
      const elsewhere = await server((_req, res) => res.end('ok'));
      const api = await server((_req, res) => {
        res.writeHead(302, { location: `${elsewhere.origin}/steal` });
        res.end();
      });
      const dispatcher = redirecting();
      const client = createApiClient({
        baseUrl: `${api.origin}/api`,
        auth: apiKeyAuth({ apiKey: 'key-Secret-8d7c6b' }),
        ...(where === 'the dispatcher option' ? { dispatcher } : {}),
      });
      closers.push(() => client.close());
      const response = await client.fetch(
        '/x',
        (where === 'init.dispatcher' ? { dispatcher } : {}) as RequestInit,
      );
      expect(response.status).toBe(302); // handed back, as a cross-origin redirect is
      expect(elsewhere.seen).toEqual([]);
    });
  }

  it('the password of a login does not follow a 307 to another origin', async () => {
    const elsewhere = await server((_req, res) => res.end('{}'));
    const api = await server((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.origin}/steal` });
      res.end();
    });
    const client = createApiClient({
      baseUrl: `${api.origin}/api`,
      auth: sessionTokenAuth({ email: 'a@b.c', password: 'pw-Secret-1a2b3c', orgId: 1 }),
      dispatcher: redirecting(),
      loginRetries: 0,
    });
    closers.push(() => client.close());
    await client.fetch('/x').catch(() => undefined);
    expect(api.seen.length).toBeGreaterThan(0);
    expect(elsewhere.seen).toEqual([]);
  });
});
