// DPoP (RFC 9449) against oidc-provider and the mock resource server, which checks every
// proof (htm, htu, ath, jti, the key's thumbprint in the token's cnf.jkt, its nonces).
import { createApiClient } from '@tokenfetch/core';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../src/index.js';
import { issued, startApi, startAs, track } from './helpers.js';

describe('DPoP', () => {
  it('proves possession on the token request and on each call (method, URL, token hash)', async () => {
    const as = await startAs();
    const api = await startApi(as, { dpop: true });
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret, dpop: true }),
      }),
    );
    const answers = await Promise.all([
      client.fetch('/a?x=1'),
      client.fetch('/b', { method: 'POST', body: 'hello' }),
      client.fetch('/c/d', { method: 'PUT', body: '{}' }),
      client.as({ scope: 'read' }).fetch('/e', { method: 'DELETE' }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(as.tokenRequests.map((request) => [request.dpop, request.issued])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(api.stats.dpopCalls).toBe(4);
    expect(api.stats.oauthRejections).toEqual({});
    // The calls carried the DPoP scheme, never Bearer.
    for (const request of api.requests) {
      expect(String(request.headers.authorization)).toMatch(/^DPoP /);
      expect(typeof request.headers.dpop).toBe('string');
    }
  });

  it('a key pair of your own is used as is', async () => {
    const as = await startAs();
    const api = await startApi(as, { dpop: true });
    const { clientId, clientSecret } = as.clients.secretBasic;
    const keyPair = await oauth.generateKeyPair('ES256');
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret,
          dpop: keyPair,
        }),
      }),
    );
    expect((await client.fetch('/a')).status).toBe(200);
    const thumbprint = await oauth.DPoP({}, keyPair).calculateThumbprint();
    const token = await client.getToken();
    const claims = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
      cnf?: { jkt?: string };
    };
    expect(claims.cnf?.jkt).toBe(thumbprint);
  });

  it('a nonce challenge at the API costs at most one extra request per call, none once the nonce is known, and never a new token', async () => {
    const as = await startAs();
    const api = await startApi(as, { dpop: { nonce: true } });
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret, dpop: true }),
      }),
    );
    const burst = async (n: number, tag: string) => {
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          client.fetch(`/${tag}/${i}`, { method: 'POST', body: `${i}` }),
        ),
      );
      expect(answers.map((answer) => answer.status).filter((status) => status !== 200)).toEqual([]);
    };
    await burst(20, 'cold');
    const cold = api.stats.dpopNonceChallenges;
    expect(cold).toBeGreaterThanOrEqual(1);
    expect(cold).toBeLessThanOrEqual(20);

    await burst(50, 'known');
    expect(api.stats.dpopNonceChallenges).toBe(cold); // the nonce is known: no challenge

    api.rotateDpopNonce();
    await burst(1, 'first-after-rotation');
    expect(api.stats.dpopNonceChallenges).toBe(cold + 1);
    await burst(30, 'rotated');
    expect(api.stats.dpopNonceChallenges).toBe(cold + 1);

    api.rotateDpopNonce();
    await burst(30, 'rotated-burst');
    expect(api.stats.dpopNonceChallenges - cold - 1).toBeLessThanOrEqual(30);

    expect(issued(as)).toBe(1); // never a new token
    expect(api.stats.oauthCalls).toBe(131);
    expect(api.stats.oauthRejections).toEqual({});
  });

  it('a nonce challenge at the token endpoint costs one more token request, then none', async () => {
    const as = await startAs({ dpopNonce: true });
    const api = await startApi(as, { dpop: true });
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret, dpop: true }),
      }),
    );
    expect((await client.fetch('/a')).status).toBe(200);
    expect((await client.as({ scope: 'read' }).fetch('/b')).status).toBe(200);
    expect(as.tokenRequests.map((request) => request.error ?? 'issued')).toEqual([
      'use_dpop_nonce',
      'issued',
      'issued',
    ]);
  });

  it('a revoked DPoP token is replaced once, the calls replayed with a proof for the new one', async () => {
    const as = await startAs();
    const api = await startApi(as, { dpop: { nonce: true } });
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret, dpop: true }),
      }),
    );
    expect((await client.fetch('/warm')).status).toBe(200);
    api.revokeTokens();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.fetch(`/r/${i}`)),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(issued(as)).toBe(2);
  });
});
