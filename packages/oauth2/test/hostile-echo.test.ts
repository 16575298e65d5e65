import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { createApiClient } from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { clientCredentials, refreshToken } from '../src/index.js';
import { rejectionOf, track } from './helpers.js';

async function startServer(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
) {
  const bodies: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push({ url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  track({
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  });
  return { origin, bodies };
}
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

// A token endpoint quoting back what it was sent (a debugging server, a proxy's error page):
// the client's credentials in the form they were sent must reach no error.
describe('a token endpoint echoing the credentials', () => {
  it('a secret with form-encoded characters, quoted as sent (Basic value, post body)', async () => {
    const secret = 'a+b/c=d&e%f g~Zq9';
    for (const clientAuth of ['client_secret_basic', 'client_secret_post'] as const) {
      const server = await startServer((req, res, body) =>
        json(res, 400, {
          error: 'invalid_request',
          error_description: `got ${req.headers.authorization ?? ''} ${body}`,
        }),
      );
      const client = track(
        createApiClient({
          baseUrl: 'https://api.example.com',
          auth: clientCredentials({
            tokenUrl: `${server.origin}/token`,
            clientId: 'c',
            clientSecret: secret,
            clientAuth,
          }),
        }),
      );
      const error = await rejectionOf(client.fetch('/a'));
      const text = inspect(error, { depth: 10 });
      const sent = server.bodies[0]!;
      const basic = sent.headers.authorization?.slice(6) ?? '';
      expect(text).not.toContain(encodeURIComponent(secret).replace(/%20/g, '+'));
      if (basic) expect(text).not.toContain(basic.slice(0, 20));
    }
  });
  it('a secret straddling where the description is cut is not kept in part', async () => {
    const secret = 'S3cretValue-0123456789-abcdefghij-KLMNOP'; // 40
    expect(secret.length).toBe(40);
    const desc = secret.repeat(9) + 'yy' + secret;
    const server = await startServer((_q, res) =>
      json(res, 400, { error: 'invalid_request', error_description: desc }),
    );
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({
          tokenUrl: `${server.origin}/token`,
          clientId: 'c',
          clientSecret: secret,
        }),
      }),
    );
    const error = await rejectionOf(client.fetch('/a'));
    expect((error as Error).message).not.toContain(secret.slice(0, 30));
  });
  it('a private_key_jwt assertion’s signature, quoted back', async () => {
    const { privateKey } = (await crypto.subtle.generateKey(
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const server = await startServer((_q, res, body) => {
      const a = new URLSearchParams(body).get('client_assertion') ?? '';
      json(res, 400, { error: 'invalid_client', error_description: `sig ${a.split('.')[2]}` });
    });
    const s2 = await startServer((_q, res, body) => {
      const a = new URLSearchParams(body).get('client_assertion') ?? '';
      json(res, 400, { error: 'invalid_request', error_description: `sig ${a.split('.')[2]}` });
    });
    for (const srv of [server, s2]) {
      const client = track(
        createApiClient({
          baseUrl: 'https://api.example.com',
          auth: clientCredentials({ tokenUrl: `${srv.origin}/token`, clientId: 'c', privateKey }),
        }),
      );
      const error = await rejectionOf(client.fetch('/a'));
      const sig = new URLSearchParams(srv.bodies[0]!.body).get('client_assertion')!.split('.')[2]!;
      expect(inspect(error, { depth: 10 })).not.toContain(sig.slice(0, 30));
    }
  });
  it('a refresh token with form-encoded characters, quoted back with invalid_grant', async () => {
    const rt = 'rt+/=Secret&Value%20x';
    const server = await startServer((_q, res, body) =>
      json(res, 400, { error: 'invalid_grant', error_description: `bad ${body}` }),
    );
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: refreshToken({ tokenUrl: `${server.origin}/token`, clientId: 'c', refreshToken: rt }),
      }),
    );
    const error = await rejectionOf(client.fetch('/a'));
    expect(inspect(error, { depth: 10 })).not.toContain(
      new URLSearchParams({ r: rt }).toString().slice(2),
    );
  });
});
