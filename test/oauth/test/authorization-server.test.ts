import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  asOAuthClient,
  claimsOf,
  clientCredentials,
  discover,
  insecure,
  startAs,
  withNonceRetry,
} from './helpers.js';
import type { AuthorizationServer } from '../src/index.js';

// The authorization-server fixture, driven with oauth4webapi as @tokenfetch/oauth2 will be.

afterEach(() => {
  vi.useRealTimers();
});

async function refresh(
  as: AuthorizationServer,
  refreshToken: string,
  options: { clientId?: string; resource?: string; DPoP?: oauth.DPoPHandle } = {},
): Promise<oauth.TokenEndpointResponse> {
  const metadata = await discover(as);
  const registered = Object.values(as.clients).find(
    (candidate) => candidate.clientId === (options.clientId ?? as.clients.secretBasic.clientId),
  );
  if (registered === undefined) throw new Error('no such client');
  const { client, auth } = asOAuthClient(registered);
  const response = await oauth.refreshTokenGrantRequest(metadata, client, auth, refreshToken, {
    ...insecure,
    ...(options.resource !== undefined && {
      additionalParameters: { resource: options.resource },
    }),
    ...(options.DPoP && { DPoP: options.DPoP }),
  });
  return oauth.processRefreshTokenResponse(metadata, client, response);
}

/** The OAuth error code a rejected token request failed with. */
async function oauthError(request: Promise<unknown>): Promise<string | undefined> {
  const error = await request.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (error instanceof oauth.ResponseBodyError) return error.error;
  throw new Error(`expected an OAuth error response, got ${String(error)}`);
}

describe('discovery', () => {
  it('serves RFC 8414 and OpenID metadata on a loopback http issuer', async () => {
    const as = await startAs();
    expect(as.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const metadata = await discover(as);
    expect(metadata).toMatchObject({
      issuer: as.issuer,
      token_endpoint: as.tokenEndpoint,
      revocation_endpoint: as.revocationEndpoint,
      introspection_endpoint: as.introspectionEndpoint,
      jwks_uri: as.jwksUri,
      token_endpoint_auth_methods_supported: expect.arrayContaining([
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'none',
      ]) as unknown,
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256']) as unknown,
    });
    const openid = await fetch(`${as.issuer}/.well-known/openid-configuration`);
    expect(await openid.json()).toMatchObject({ token_endpoint: as.tokenEndpoint });
    const jwks = (await (await fetch(as.jwksUri)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual(as.jwks.keys.map((key) => key.kid));
    expect(JSON.stringify(as.jwks)).not.toContain('"d"');
  });
});

describe('client credentials', () => {
  it.each(['secretBasic', 'secretPost', 'privateKeyJwt'] as const)(
    'issues a JWT access token for the default resource to the %s client',
    async (name) => {
      const as = await startAs({ accessTokenTtl: 120 });
      const client = as.clients[name];
      const token = await clientCredentials(as, { scope: 'read' }, { client });
      expect(token).toMatchObject({ token_type: 'bearer', expires_in: 120, scope: 'read' });
      expect(claimsOf(token.access_token)).toMatchObject({
        iss: as.issuer,
        aud: as.resource,
        client_id: client.clientId,
        sub: client.clientId,
        scope: 'read',
      });
      expect(as.tokenRequests).toEqual([
        {
          grantType: 'client_credentials',
          clientId: client.clientId,
          resources: [],
          scope: 'read',
          dpop: false,
          status: 200,
          issued: true,
          error: undefined,
          injected: false,
        },
      ]);
    },
  );

  it('refuses a wrong secret with invalid_client, recorded under the claimed client', async () => {
    const as = await startAs();
    const wrong = { ...as.clients.secretPost, clientSecret: 'wrong' };
    expect(await oauthError(clientCredentials(as, {}, { client: wrong }))).toBe('invalid_client');
    expect(as.tokenRequests).toMatchObject([
      { clientId: wrong.clientId, status: 401, issued: false, error: 'invalid_client' },
    ]);
  });

  it('issues a token per resource (RFC 8707) with only that resource’s scopes and lifetime', async () => {
    const as = await startAs({
      resources: {
        'https://orders.test': { scope: 'orders:read orders:write' },
        'https://billing.test': { scope: 'billing:read', accessTokenTtl: 30 },
      },
    });
    expect(as.resource).toBe('https://orders.test');
    const billing = await clientCredentials(as, {
      resource: 'https://billing.test',
      scope: 'billing:read',
    });
    expect(billing.expires_in).toBe(30);
    expect(claimsOf(billing.access_token)).toMatchObject({
      aud: 'https://billing.test',
      scope: 'billing:read',
    });
    const orders = await clientCredentials(as, { scope: 'orders:read' });
    expect(claimsOf(orders.access_token)).toMatchObject({ aud: 'https://orders.test' });
    expect(orders.expires_in).toBe(300);
    expect(
      await oauthError(clientCredentials(as, { resource: 'https://orders.test', scope: 'x' })),
    ).toBe('invalid_scope');
    expect(await oauthError(clientCredentials(as, { resource: 'https://unknown.test' }))).toBe(
      'invalid_target',
    );
    expect(as.tokenRequests.map((request) => request.resources)).toEqual([
      ['https://billing.test'],
      [],
      ['https://orders.test'],
      ['https://unknown.test'],
    ]);
  });

  it('setAccessTokenTtl() changes the lifetime of the tokens issued next', async () => {
    const as = await startAs();
    as.setAccessTokenTtl(5);
    expect((await clientCredentials(as)).expires_in).toBe(5);
    expect(() => as.setAccessTokenTtl(0.5)).toThrow(RangeError);
  });
});

describe('refresh tokens', () => {
  it('rotates the refresh token at each use; reusing a rotated one revokes the chain', async () => {
    const as = await startAs();
    const first = await as.issueRefreshToken();
    const refreshed = await refresh(as, first);
    expect(claimsOf(refreshed.access_token)).toMatchObject({
      sub: '1',
      aud: as.resource,
      scope: 'read write',
    });
    const second = refreshed.refresh_token ?? '';
    expect(second).not.toBe('');
    expect(second).not.toBe(first);
    expect(await oauthError(refresh(as, first))).toBe('invalid_grant');
    expect(await oauthError(refresh(as, second))).toBe('invalid_grant');
    expect(as.tokenRequests.map((request) => [request.grantType, request.error])).toEqual([
      ['refresh_token', undefined],
      ['refresh_token', 'invalid_grant'],
      ['refresh_token', 'invalid_grant'],
    ]);
  });

  it('serves a public client, a chosen user and scope, and one resource of several', async () => {
    const as = await startAs({
      resources: { 'https://a.test': { scope: 'a1 a2' }, 'https://b.test': { scope: 'b1' } },
    });
    const token = await as.issueRefreshToken({
      clientId: as.clients.public.clientId,
      accountId: 'user-9',
      resource: ['https://a.test', 'https://b.test'],
      scope: 'a1 b1',
    });
    const forB = await refresh(as, token, {
      clientId: as.clients.public.clientId,
      resource: 'https://b.test',
    });
    expect(claimsOf(forB.access_token)).toMatchObject({
      sub: 'user-9',
      aud: 'https://b.test',
      scope: 'b1',
      client_id: 'public',
    });
    const forA = await refresh(as, forB.refresh_token ?? '', {
      clientId: as.clients.public.clientId,
      resource: 'https://a.test',
    });
    expect(claimsOf(forA.access_token)).toMatchObject({ aud: 'https://a.test', scope: 'a1' });
  });

  it('refuses a refresh token of another client with invalid_grant', async () => {
    const as = await startAs();
    const token = await as.issueRefreshToken({ clientId: as.clients.secretPost.clientId });
    expect(await oauthError(refresh(as, token))).toBe('invalid_grant');
  });

  it('revocation (RFC 7009) and revokeRefreshToken() end a refresh token; introspection sees it; a JWT is not revocable', async () => {
    const as = await startAs();
    const metadata = await discover(as);
    const { client, auth } = asOAuthClient(as.clients.secretBasic);
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(
        metadata,
        client,
        await oauth.introspectionRequest(metadata, client, auth, token, insecure),
      );

    const revoked = await as.issueRefreshToken();
    expect(await introspect(revoked)).toMatchObject({ active: true, client_id: client.client_id });
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(metadata, client, auth, revoked, insecure),
    );
    expect(await introspect(revoked)).toMatchObject({ active: false });
    expect(await oauthError(refresh(as, revoked))).toBe('invalid_grant');

    const direct = await as.issueRefreshToken();
    const rotated = (await refresh(as, direct)).refresh_token ?? '';
    await as.revokeRefreshToken(direct);
    expect(await oauthError(refresh(as, rotated))).toBe('invalid_grant');

    // JWT access tokens are not stored: only the resource server can refuse them.
    const { access_token } = await clientCredentials(as);
    const revokeJwt = oauth.revocationRequest(metadata, client, auth, access_token, insecure);
    expect(await oauthError(revokeJwt.then(oauth.processRevocationResponse))).toBe(
      'unsupported_token_type',
    );
  });

  it('expires refresh tokens after refreshTokenTtl', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const as = await startAs({ refreshTokenTtl: 60 });
    const token = await as.issueRefreshToken();
    vi.setSystemTime(Date.now() + 61_000);
    expect(await oauthError(refresh(as, token))).toBe('invalid_grant');
  });
});

describe('DPoP', () => {
  it('binds the access token to the proof key (cnf.jkt)', async () => {
    const as = await startAs();
    const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
    const DPoP = oauth.DPoP({}, keyPair);
    const token = await clientCredentials(as, {}, { DPoP });
    expect(token.token_type).toBe('dpop');
    const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
    expect(claimsOf(token.access_token)).toMatchObject({ cnf: { jkt: await thumbprint(jwk) } });
    expect(as.tokenRequests).toMatchObject([{ dpop: true, issued: true }]);
  });

  it('with nonces required, the first proof costs one use_dpop_nonce answer, later ones none', async () => {
    const as = await startAs({ dpopNonce: true });
    const DPoP = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    await withNonceRetry(() => clientCredentials(as, {}, { DPoP }));
    await clientCredentials(as, {}, { DPoP });
    const refreshToken = await as.issueRefreshToken();
    await refresh(as, refreshToken, { DPoP });
    expect(as.tokenRequests.map((request) => request.error ?? request.status)).toEqual([
      'use_dpop_nonce',
      200,
      200,
      200,
    ]);
  });

  it('setDpopNonceRequired() switches nonces on; a nonce from an earlier answer serves until the clock moves ~5 min', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const as = await startAs();
    const holder = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    await clientCredentials(as, {}, { DPoP: holder }); // its answer carries a DPoP-Nonce
    as.setDpopNonceRequired(true);
    const newcomer = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    await withNonceRetry(() => clientCredentials(as, {}, { DPoP: newcomer }));
    await clientCredentials(as, {}, { DPoP: holder });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    await withNonceRetry(() => clientCredentials(as, {}, { DPoP: holder }));
    expect(as.tokenRequests.map((request) => request.error ?? request.status)).toEqual([
      200,
      'use_dpop_nonce',
      200,
      200,
      'use_dpop_nonce',
      200,
    ]);
  });
});

describe('failNextTokenRequests', () => {
  it.each([
    [{ error: 'invalid_client' }, 401, 'invalid_client'],
    [{ error: 'invalid_grant' }, 400, 'invalid_grant'],
    [{ error: 'invalid_scope' }, 400, 'invalid_scope'],
  ])('answers %j with %i and that error, then lets requests through', async (failure, status) => {
    const as = await startAs();
    as.failNextTokenRequests(failure);
    const metadata = await discover(as);
    const { client, auth } = asOAuthClient(as.clients.secretPost);
    const response = await oauth.clientCredentialsGrantRequest(
      metadata,
      client,
      auth,
      {},
      insecure,
    );
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: failure.error });
    await clientCredentials(as);
    expect(as.tokenRequests).toMatchObject([
      { clientId: 'secret-post', grantType: 'client_credentials', injected: true, status },
      { injected: false, issued: true },
    ]);
  });

  it('answers 429 and 503 with Retry-After, in the order queued, and consumes no refresh token', async () => {
    const as = await startAs();
    as.failNextTokenRequests({ status: 429, retryAfter: 3 });
    as.failNextTokenRequests({ status: 503, retryAfter: 1 }, 2);
    const token = await as.issueRefreshToken();
    const metadata = await discover(as);
    const { client, auth } = asOAuthClient(as.clients.secretBasic);
    const answers: Array<[number, string | null]> = [];
    for (let i = 0; i < 3; i++) {
      const response = await oauth.refreshTokenGrantRequest(
        metadata,
        client,
        auth,
        token,
        insecure,
      );
      answers.push([response.status, response.headers.get('retry-after')]);
    }
    expect(answers).toEqual([
      [429, '3'],
      [503, '1'],
      [503, '1'],
    ]);
    expect((await refresh(as, token)).access_token).toBeTypeOf('string');
    expect(as.tokenRequests.map((request) => request.injected)).toEqual([true, true, true, false]);
  });

  it('rejects a failure with neither error nor status, and a bad count', async () => {
    const as = await startAs();
    expect(() => as.failNextTokenRequests({})).toThrow(TypeError);
    expect(() => as.failNextTokenRequests({ status: 503 }, -1)).toThrow(RangeError);
  });
});

it('resetTokenRequests() forgets the requests so far; close() is idempotent', async () => {
  const as = await startAs();
  await clientCredentials(as);
  as.resetTokenRequests();
  expect(as.tokenRequests).toEqual([]);
  await as.close();
  await as.close();
  await expect(fetch(as.tokenEndpoint, { method: 'POST' })).rejects.toThrow(TypeError);
});

/** The RFC 7638 thumbprint of an EC public key. */
async function thumbprint(jwk: JsonWebKey): Promise<string> {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return Buffer.from(digest).toString('base64url');
}
