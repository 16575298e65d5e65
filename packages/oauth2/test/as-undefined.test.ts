// `client.as({ scope, resource: undefined })` — an optional value passed on, which TypeScript
// allows without exactOptionalPropertyTypes — keeps the client's own resource (and scope):
// the token is not asked for without the resource indicator the client was made with.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiClient, type OAuthAsOptions } from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../src/index.js';
import { track } from './helpers.js';

describe('client.as() with an option given as undefined', () => {
  it('keeps the client’s own value for it', async () => {
    const asked: Array<{ scope: string | null; resource: string[] }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.url === '/token') {
          const form = new URLSearchParams(body);
          asked.push({ scope: form.get('scope'), resource: form.getAll('resource') });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'at', token_type: 'Bearer', expires_in: 300 }));
          return;
        }
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = track(
      createApiClient({
        baseUrl: `${origin}/api`,
        auth: clientCredentials({
          tokenUrl: `${origin}/token`,
          clientId: 'c',
          clientSecret: 'cs-1',
          scope: 'read',
          resource: 'https://api.example.com',
        }),
      }),
    );
    const maybe = (value?: string) => value;
    // As a project without exactOptionalPropertyTypes writes it.
    const as = (options: { scope?: string | undefined; resource?: string | undefined }) =>
      client.as(options as OAuthAsOptions);
    await (await as({ scope: 'write', resource: maybe() }).fetch('/a')).text();
    await (await as({ scope: maybe(), resource: 'https://b.example.com' }).fetch('/a')).text();
    expect(asked).toEqual([
      { scope: 'write', resource: ['https://api.example.com'] },
      { scope: 'read', resource: ['https://b.example.com'] },
    ]);
  });
});
