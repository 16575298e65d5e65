import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import {
  asOAuthClient,
  clientCredentials,
  discover,
  insecure,
  startAs,
  startResourceServer,
  withNonceRetry,
} from './helpers.js';

// oidc-provider's tokens at the mock upstream as a resource server: what the oauth2
// package's tests will stand on, end to end over real HTTP with oauth4webapi.

/** GET `url` with `token` (DPoP when a handle is given) through oauth4webapi. */
function call(url: string, token: string, DPoP?: oauth.DPoPHandle): Promise<Response> {
  return oauth.protectedResourceRequest(token, 'GET', new URL(url), new Headers(), null, {
    ...insecure,
    ...(DPoP && { DPoP }),
  });
}

/** The status of a call that oauth4webapi may reject on a WWW-Authenticate challenge. */
async function statusOf(request: Promise<Response>): Promise<number> {
  try {
    return (await request).status;
  } catch (error) {
    if (error instanceof oauth.WWWAuthenticateChallengeError) return error.status;
    throw error;
  }
}

describe('bearer tokens', () => {
  it('accepts a client-credentials token, with the keys fetched from jwksUri', async () => {
    const as = await startAs();
    const mock = await startResourceServer(as);
    const { access_token } = await clientCredentials(as, { scope: 'read' });
    const res = await call(`${mock.baseUrl}/widgets`, access_token);
    expect(res.status).toBe(200);
    expect(mock.requests[0]?.actingAs).toEqual({
      credential: 'oauth',
      userId: 0,
      orgId: 1,
      oauth: {
        clientId: 'secret-basic',
        subject: 'secret-basic',
        scope: ['read'],
        audience: [as.resource],
        dpop: false,
      },
    });
  });

  it("acts as the refresh token's user: sub 1 is the mock's demo user", async () => {
    const as = await startAs();
    const mock = await startResourceServer(as);
    const metadata = await discover(as);
    const { client, auth } = asOAuthClient(as.clients.secretBasic);
    const response = await oauth.refreshTokenGrantRequest(
      metadata,
      client,
      auth,
      await as.issueRefreshToken(),
      insecure,
    );
    const { access_token } = await oauth.processRefreshTokenResponse(metadata, client, response);
    const me = await call(`${mock.baseUrl}/user/users/me`, access_token);
    expect(await me.json()).toMatchObject({ id: 1, email: 'demo@example.com' });
  });

  it("refuses a token for another resource: another server's token, counted as unknown", async () => {
    const as = await startAs({
      resources: { 'https://a.test': { scope: 'read' }, 'https://b.test': { scope: 'read' } },
    });
    const forA = await startResourceServer(as, { audience: 'https://a.test' });
    const forB = await startResourceServer(as, { audience: 'https://b.test' });
    const tokenB = (await clientCredentials(as, { resource: 'https://b.test' })).access_token;
    expect(await statusOf(call(`${forA.baseUrl}/x`, tokenB))).toBe(401);
    expect(await statusOf(call(`${forB.baseUrl}/x`, tokenB))).toBe(200);
    expect(forA.stats).toMatchObject({
      oauthRejections: { audience: 1 },
      unknownCredentialCalls: 1,
    });
  });

  it('refuses an expired token (mock clock) and a tampered one', async () => {
    const as = await startAs({ accessTokenTtl: 60 });
    let now = Date.now();
    const mock = await startResourceServer(as, {}, () => now);
    const { access_token } = await clientCredentials(as);
    const [header, payload = '', signature] = access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'read write admin' }));
    const tampered = `${header}.${widened.toString('base64url')}.${signature}`;
    expect(await statusOf(call(`${mock.baseUrl}/x`, tampered))).toBe(401);
    now += 61_000;
    expect(await statusOf(call(`${mock.baseUrl}/x`, access_token))).toBe(401);
    expect(mock.stats.oauthRejections).toEqual({ signature: 1, expired: 1 });
  });

  it('revokeTokens(): the token in use is refused, a new one from the server is accepted', async () => {
    const as = await startAs();
    const mock = await startResourceServer(as);
    const first = (await clientCredentials(as)).access_token;
    expect(await statusOf(call(`${mock.baseUrl}/x`, first))).toBe(200);
    mock.revokeTokens();
    expect(await statusOf(call(`${mock.baseUrl}/x`, first))).toBe(401);
    const second = (await clientCredentials(as)).access_token;
    expect(await statusOf(call(`${mock.baseUrl}/x`, second))).toBe(200);
    expect(mock.stats).toMatchObject({ oauthCalls: 2, oauthRejections: { revoked: 1 } });
    expect(as.tokenRequests).toHaveLength(2);
  });
});

describe('DPoP', () => {
  it('nonces at both servers: one challenge each, then every call goes through at once', async () => {
    const as = await startAs({ dpopNonce: true });
    const mock = await startResourceServer(as, { dpop: { nonce: true } });
    const DPoP = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    const token = await withNonceRetry(() => clientCredentials(as, {}, { DPoP }));
    expect(token.token_type).toBe('dpop');
    const url = `${mock.baseUrl}/widgets`;
    expect((await withNonceRetry(() => call(url, token.access_token, DPoP))).status).toBe(200);
    expect((await call(url, token.access_token, DPoP)).status).toBe(200);
    mock.rotateDpopNonce();
    expect((await withNonceRetry(() => call(url, token.access_token, DPoP))).status).toBe(200);
    expect(as.tokenRequests.map((request) => request.error ?? request.status)).toEqual([
      'use_dpop_nonce',
      200,
    ]);
    expect(mock.stats).toMatchObject({ dpopNonceChallenges: 2, dpopCalls: 3, rejectedCalls: 0 });
    expect(mock.requests.at(-1)?.actingAs?.oauth?.dpop).toBe(true);
  });

  it('refuses a DPoP-bound token sent as a bearer token, and a proof by another key', async () => {
    const as = await startAs();
    const mock = await startResourceServer(as);
    const DPoP = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    const { access_token } = await clientCredentials(as, {}, { DPoP });
    const url = `${mock.baseUrl}/x`;
    expect(await statusOf(call(url, access_token))).toBe(401);
    const stranger = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    expect(await statusOf(call(url, access_token, stranger))).toBe(401);
    expect(await statusOf(call(url, access_token, DPoP))).toBe(200);
    expect(mock.stats.oauthRejections).toEqual({ dpop_required: 1, dpop_binding: 1 });
  });

  it('with dpop: true, refuses a bearer token and accepts the same client with DPoP', async () => {
    const as = await startAs();
    const mock = await startResourceServer(as, { dpop: true });
    const bearer = (await clientCredentials(as)).access_token;
    expect(await statusOf(call(`${mock.baseUrl}/x`, bearer))).toBe(401);
    const DPoP = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    const bound = (await clientCredentials(as, {}, { DPoP })).access_token;
    expect(await statusOf(call(`${mock.baseUrl}/x`, bound, DPoP))).toBe(200);
  });
});
