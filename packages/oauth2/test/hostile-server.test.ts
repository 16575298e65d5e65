// A hostile or broken authorization server (a real HTTP server of the test's own): what it
// answers must not move a secret anywhere, nor a token to where it does not belong.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { createApiClient, CrossOriginError, LoginFailedError } from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../src/index.js';
import { rejectionOf, startApi, startAs, track } from './helpers.js';

const clientSecret = 'cs-Hostile-9f8e7d6c5b4a';

/** A server answering each request with `handle`, counting them by path. */
async function startServer(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      hits.push(req.url ?? '');
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  track({
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  });
  return { origin, hits };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('a hostile authorization server', () => {
  it('an error_description quoting the secret (plain, encoded) reaches no error or event', async () => {
    const basicPart = encodeURIComponent(clientSecret);
    const server = await startServer((_req, res) =>
      json(res, 400, {
        error: 'invalid_request',
        error_description: `secret ${clientSecret} / ${basicPart} / ${btoa(`c:${clientSecret}`)} was bad`,
      }),
    );
    const events: unknown[] = [];
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({
          tokenUrl: `${server.origin}/token`,
          clientId: 'c',
          clientSecret,
        }),
        onEvent: (event) => events.push(event),
      }),
    );
    const error = await rejectionOf(client.fetch('/a'));
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as Error).message).toContain('invalid_request');
    for (const text of [
      inspect(error, { depth: 10 }),
      String((error as Error).stack),
      JSON.stringify(events),
    ]) {
      expect(text).not.toContain(clientSecret);
    }
  });

  it('discovery naming a token endpoint elsewhere over plain http: refused before any request goes there', async () => {
    const elsewhere = await startServer((_req, res) => json(res, 200, { access_token: 'x' }));
    const evilTokenUrl = `${elsewhere.origin.replace('127.0.0.1', 'localhost.evil.example')}/token`;
    const issuer = await startServer((req, res) => {
      const self = `http://${req.headers.host}`;
      json(res, 200, { issuer: self, token_endpoint: evilTokenUrl });
    });
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({ issuer: issuer.origin, clientId: 'c', clientSecret }),
      }),
    );
    expect(await rejectionOf(client.fetch('/a'))).toBeInstanceOf(CrossOriginError);
    expect(elsewhere.hits).toEqual([]);
  });

  it('discovery answering another issuer is a LoginFailedError, and no token request is made', async () => {
    const issuer = await startServer((_req, res) =>
      json(res, 200, {
        issuer: 'https://someone-else.example',
        token_endpoint: 'https://someone-else.example/token',
      }),
    );
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({ issuer: issuer.origin, clientId: 'c', clientSecret }),
      }),
    );
    expect(await rejectionOf(client.fetch('/a'))).toBeInstanceOf(LoginFailedError);
    expect(issuer.hits.every((path) => path.startsWith('/.well-known/'))).toBe(true);
  });

  it('a redirect from the token endpoint is not followed: the secret goes nowhere else', async () => {
    const elsewhere = await startServer((_req, res) => json(res, 200, { access_token: 'stolen' }));
    const server = await startServer((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.origin}/token` });
      res.end();
    });
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({
          tokenUrl: `${server.origin}/token`,
          clientId: 'c',
          clientSecret,
        }),
      }),
    );
    expect(await rejectionOf(client.fetch('/a'))).toBeInstanceOf(LoginFailedError);
    expect(elsewhere.hits).toEqual([]);
  });

  it('a Bearer token answered to a DPoP token request is refused: it would not be bound to the key', async () => {
    const server = await startServer((_req, res) =>
      json(res, 200, { access_token: 'unbound-token', token_type: 'Bearer', expires_in: 60 }),
    );
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({
          tokenUrl: `${server.origin}/token`,
          clientId: 'c',
          clientSecret,
          dpop: true,
        }),
      }),
    );
    const error = await rejectionOf(client.fetch('/a'));
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as Error).message).toMatch(/DPoP/);
  });

  it('the token is never sent to the token endpoint’s origin by a call', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret: secret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret: secret }),
      }),
    );
    expect(await rejectionOf(client.fetch(`${as.issuer}/me`))).toBeInstanceOf(CrossOriginError);
    expect(as.tokenRequests).toHaveLength(0);
  });
});
