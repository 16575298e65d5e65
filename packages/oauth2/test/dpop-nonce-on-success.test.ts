import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createApiClient } from '@tokenfetch/core';
import { clientCredentials } from '../src/index.js';
import { track } from './helpers.js';
// RFC 9449 §8.2: a resource server may send the next nonce on a success, and the client
// must use it. A server rotating its nonce on every answer then costs no extra request;
// a client reading nonces from 401 challenges only pays one per call.
describe('a DPoP nonce sent on a success', () => {
  it('is used by the next call: a nonce rotating on every answer costs one extra request in all', async () => {
    let nonce = 'n0',
      apiRequests = 0,
      rotations = 0;
    const claims = (h: string | undefined) =>
      JSON.parse(Buffer.from((h ?? '..').split('.')[1]!, 'base64url').toString() || '{}') as {
        nonce?: string;
      };
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        if (req.url === '/token') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'at', token_type: 'DPoP', expires_in: 300 }));
          return;
        }
        apiRequests++;
        if (claims(req.headers.dpop as string).nonce !== nonce) {
          res.writeHead(401, {
            'www-authenticate': 'DPoP error="use_dpop_nonce"',
            'dpop-nonce': nonce,
          });
          res.end();
          return;
        }
        nonce = `n${++rotations}`;
        res.writeHead(200, { 'dpop-nonce': nonce });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    track({
      close: () =>
        new Promise((r) => {
          s.closeAllConnections();
          s.close(r);
        }),
    });
    const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const client = track(
      createApiClient({
        baseUrl: `${origin}/api`,
        auth: clientCredentials({
          tokenUrl: `${origin}/token`,
          clientId: 'c',
          clientSecret: 'x',
          dpop: true,
        }),
      }),
    );
    for (let i = 0; i < 10; i++) expect((await client.fetch('/a')).status).toBe(200);
    expect(apiRequests).toBe(11); // the first call's challenge, then one request per call
  });
});
