import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoApiKey, startMockUpstream } from '../src/index.js';
import type { MockOAuthOptions, MockUpstream } from '../src/index.js';
import { bearer, start, token as sessionToken } from './helpers.js';

// The mock as a resource server, fed tokens signed here with jose: every check and every
// refusal reason, without an authorization server. test/oauth/ runs it against oidc-provider.

const issuer = 'https://as.example.test';
const audience = 'https://api.example.test';

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let issuerKey: KeyPair;
let otherIssuerKey: KeyPair;
let proofKey: KeyPair;
let otherProofKey: KeyPair;

beforeAll(async () => {
  [issuerKey, otherIssuerKey, proofKey, otherProofKey] = await Promise.all([
    keyPair(),
    keyPair(),
    keyPair(),
    keyPair(),
  ]);
});

async function keyPair(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: randomUUID() } };
}

function startOAuth(oauth: Partial<MockOAuthOptions> = {}): Promise<MockUpstream> {
  return start({ oauth: { issuer, jwks: { keys: [issuerKey.publicJwk] }, audience, ...oauth } });
}

/** Claims that override a helper's defaults; `undefined` leaves one out. */
type Claims = Record<string, unknown>;

/** A JWT access token as an authorization server issues it. */
async function accessToken(
  claims: Claims = {},
  { key = issuerKey, typ = 'at+jwt' }: { key?: KeyPair; typ?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: issuer,
    aud: audience,
    sub: 'client-1',
    client_id: 'client-1',
    scope: 'read write',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ, kid: key.publicJwk.kid! })
    .sign(key.privateKey);
}

/** An access token bound to `proofKey` (`cnf.jkt`). */
async function boundToken(claims: Claims = {}): Promise<string> {
  return accessToken({ cnf: { jkt: await calculateJwkThumbprint(proofKey.publicJwk) }, ...claims });
}

/** A DPoP proof for `GET url` with `token`; `claims` override. */
async function proof(
  url: string,
  token: string,
  claims: Claims = {},
  key: KeyPair = proofKey,
): Promise<string> {
  return new SignJWT({
    htm: 'GET',
    htu: url,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    ath: createHash('sha256').update(token).digest('base64url'),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .sign(key.privateKey);
}

const dpop = (token: string, proofValue: string) => ({
  authorization: `DPoP ${token}`,
  dpop: proofValue,
});

describe('oauth: bearer access tokens', () => {
  it('accepts a JWT access token of the issuer for its audience and records what it said', async () => {
    const mock = await startOAuth();
    const res = await fetch(`${mock.baseUrl}/user/users/me`, {
      headers: bearer(await accessToken()),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 0, currentOrg: { id: 1 } });
    expect(mock.requests[0]?.actingAs).toEqual({
      credential: 'oauth',
      userId: 0,
      orgId: 1,
      oauth: {
        clientId: 'client-1',
        subject: 'client-1',
        scope: ['read', 'write'],
        audience: [audience],
        dpop: false,
      },
    });
    expect(mock.stats).toMatchObject({ oauthCalls: 1, dpopCalls: 0, rejectedCalls: 0 });
  });

  it("acts as the user whose id is the token's sub, in that user's first org", async () => {
    const mock = await start({
      users: [{ email: 'u@example.com', password: 'pw', orgs: [42, 43], id: 7 }],
      oauth: { issuer, jwks: { keys: [issuerKey.publicJwk] }, audience },
    });
    const res = await fetch(`${mock.baseUrl}/user/users/me`, {
      headers: bearer(await accessToken({ sub: '7' })),
    });
    expect(await res.json()).toMatchObject({ id: 7, currentOrg: { id: 42 } });
  });

  it('accepts any audience of a list', async () => {
    const mock = await startOAuth({ audience: ['https://a.example.test', audience] });
    const res = await fetch(`${mock.baseUrl}/x`, { headers: bearer(await accessToken()) });
    expect(res.status).toBe(200);
  });

  it.each([
    ['audience', () => accessToken({ aud: 'https://other.example.test' }), true],
    ['signature', () => accessToken({}, { key: otherIssuerKey }), true],
    ['issuer', () => accessToken({ iss: 'https://other-as.example.test' }), true],
    ['expired', () => accessToken({ exp: Math.floor(Date.now() / 1000) - 1 }), false],
    ['malformed', () => accessToken({}, { typ: 'JWT' }), false],
    ['malformed', () => accessToken({ client_id: undefined }), false],
  ] as const)(
    'refuses a token with 401 invalid_token, reason %s',
    async (reason, make, foreign) => {
      const mock = await startOAuth();
      const res = await fetch(`${mock.baseUrl}/x`, { headers: bearer(await make()) });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(await res.json()).toMatchObject({ error: 'invalid_token' });
      expect(mock.stats).toMatchObject({
        oauthCalls: 0,
        rejectedCalls: 1,
        oauthRejections: { [reason]: 1 },
        unknownCredentialCalls: foreign ? 1 : 0,
      });
    },
  );

  it('refuses a token whose payload was changed after signing', async () => {
    const mock = await startOAuth();
    const [header, , signature] = (await accessToken()).split('.');
    const payload = Buffer.from(JSON.stringify({ iss: issuer, aud: audience, sub: 'admin' }));
    const tampered = `${header}.${payload.toString('base64url')}.${signature}`;
    const res = await fetch(`${mock.baseUrl}/x`, { headers: bearer(tampered) });
    expect(res.status).toBe(401);
    expect(mock.stats.oauthRejections).toEqual({ signature: 1 });
  });

  it('checks expiry by the mock clock', async () => {
    let now = Date.now();
    const mock = await start({
      now: () => now,
      oauth: { issuer, jwks: { keys: [issuerKey.publicJwk] }, audience },
    });
    const value = await accessToken();
    expect((await fetch(`${mock.baseUrl}/x`, { headers: bearer(value) })).status).toBe(200);
    now += 301_000;
    expect((await fetch(`${mock.baseUrl}/x`, { headers: bearer(value) })).status).toBe(401);
    expect(mock.stats.oauthRejections).toEqual({ expired: 1 });
  });

  it('revokeTokens() refuses the access tokens accepted so far, not later ones', async () => {
    const mock = await startOAuth();
    const old = await accessToken();
    expect((await fetch(`${mock.baseUrl}/x`, { headers: bearer(old) })).status).toBe(200);
    mock.revokeTokens();
    const res = await fetch(`${mock.baseUrl}/x`, { headers: bearer(old) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_token' });
    const fresh = await accessToken();
    expect((await fetch(`${mock.baseUrl}/x`, { headers: bearer(fresh) })).status).toBe(200);
    expect(mock.stats).toMatchObject({ oauthCalls: 2, oauthRejections: { revoked: 1 } });
  });

  it('answers 403 insufficient_scope to a token without a required scope', async () => {
    const mock = await startOAuth({ requiredScope: 'write' });
    const res = await fetch(`${mock.baseUrl}/x`, {
      headers: bearer(await accessToken({ scope: 'read' })),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="access token lacks scope write", scope="write"',
    );
    const ok = await fetch(`${mock.baseUrl}/x`, { headers: bearer(await accessToken()) });
    expect(ok.status).toBe(200);
  });

  it('keeps session tokens and API keys working beside OAuth', async () => {
    const mock = await startOAuth();
    const session = await sessionToken(mock);
    expect((await fetch(`${mock.baseUrl}/x`, { headers: bearer(session) })).status).toBe(200);
    const keyed = await fetch(`${mock.baseUrl}/x`, { headers: { 'x-api-key': demoApiKey } });
    expect(keyed.status).toBe(200);
    expect(mock.requests.map((entry) => entry.actingAs?.credential)).toEqual(['token', 'api-key']);
    mock.revokeTokens();
    expect((await fetch(`${mock.baseUrl}/x`, { headers: bearer(session) })).status).toBe(403);
    expect(mock.stats).toMatchObject({ oauthCalls: 0, rejectedCalls: 1 });
  });

  it('rejects oauth options without exactly one key source, or without an audience', async () => {
    const keys = { keys: [] };
    await expect(startMockUpstream({ oauth: { issuer, audience } })).rejects.toThrow(TypeError);
    await expect(
      startMockUpstream({ oauth: { issuer, audience, jwks: keys, jwksUri: `${issuer}/jwks` } }),
    ).rejects.toThrow(TypeError);
    await expect(
      startMockUpstream({ oauth: { issuer, audience: [], jwks: keys } }),
    ).rejects.toThrow(TypeError);
  });
});

describe('oauth: DPoP', () => {
  it('accepts a bound token with its proof, and counts a DPoP call', async () => {
    const mock = await startOAuth();
    const url = `${mock.baseUrl}/widgets`;
    const value = await boundToken();
    const res = await fetch(url, { headers: dpop(value, await proof(url, value)) });
    expect(res.status).toBe(200);
    expect(mock.requests[0]?.actingAs?.oauth?.dpop).toBe(true);
    expect(mock.stats).toMatchObject({ oauthCalls: 1, dpopCalls: 1 });
  });

  it('ignores the query in htu', async () => {
    const mock = await startOAuth();
    const value = await boundToken();
    const res = await fetch(`${mock.baseUrl}/x?page=2`, {
      headers: dpop(value, await proof(`${mock.baseUrl}/x`, value)),
    });
    expect(res.status).toBe(200);
  });

  it('refuses a bound token sent as a bearer token, and any bearer token when DPoP is required', async () => {
    const mock = await startOAuth();
    const res = await fetch(`${mock.baseUrl}/x`, { headers: bearer(await boundToken()) });
    expect(res.status).toBe(401);
    const required = await startOAuth({ dpop: true });
    const unbound = await fetch(`${required.baseUrl}/x`, { headers: bearer(await accessToken()) });
    expect(unbound.status).toBe(401);
    expect(unbound.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token".*algs="/);
    expect(mock.stats.oauthRejections).toEqual({ dpop_required: 1 });
    expect(required.stats.oauthRejections).toEqual({ dpop_required: 1 });
  });

  const stale = () => Math.floor(Date.now() / 1000) - 120;
  it.each([
    ['dpop_htm', (url: string, t: string) => proof(url, t, { htm: 'POST' })],
    ['dpop_htu', (url: string, t: string) => proof(`${url}/other`, t)],
    ['dpop_htu', (url: string, t: string) => proof(url.replace('127.0.0.1', 'localhost'), t)],
    ['dpop_iat', (url: string, t: string) => proof(url, t, { iat: stale() })],
    ['dpop_ath', (url: string, t: string) => proof(url, `${t}x`)],
    ['dpop_binding', (url: string, t: string) => proof(url, t, {}, otherProofKey)],
    ['dpop_proof', (url: string, t: string) => proof(url, t, { jti: undefined })],
    ['dpop_proof', async (url: string, t: string) => `${await proof(url, t)}x`],
  ] as const)('refuses a proof with 401 invalid_dpop_proof, reason %s', async (reason, make) => {
    const mock = await startOAuth();
    const url = `${mock.baseUrl}/x`;
    const value = await boundToken();
    const res = await fetch(url, { headers: dpop(value, await make(url, value)) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    expect(mock.stats.oauthRejections).toEqual({ [reason]: 1 });
  });

  it('refuses an unbound token with a proof, a missing proof, and a replayed proof', async () => {
    const mock = await startOAuth();
    const url = `${mock.baseUrl}/x`;
    const unbound = await accessToken();
    await fetch(url, { headers: dpop(unbound, await proof(url, unbound)) });
    const value = await boundToken();
    await fetch(url, { headers: { authorization: `DPoP ${value}` } });
    const once = await proof(url, value);
    expect((await fetch(url, { headers: dpop(value, once) })).status).toBe(200);
    expect((await fetch(url, { headers: dpop(value, once) })).status).toBe(401);
    expect(mock.stats.oauthRejections).toEqual({ dpop_binding: 1, dpop_proof: 1, dpop_replay: 1 });
  });

  it('challenges a proof without the current nonce, and rotateDpopNonce() changes it', async () => {
    const mock = await startOAuth({ dpop: { nonce: true } });
    const url = `${mock.baseUrl}/x`;
    const value = await boundToken();
    const challenged = await fetch(url, { headers: dpop(value, await proof(url, value)) });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = challenged.headers.get('dpop-nonce') ?? '';
    expect(nonce).toMatch(/^[\w-]{22}$/);
    const accepted = await fetch(url, { headers: dpop(value, await proof(url, value, { nonce })) });
    expect(accepted.status).toBe(200);

    const next = mock.rotateDpopNonce();
    expect(next).not.toBe(nonce);
    const old = await fetch(url, { headers: dpop(value, await proof(url, value, { nonce })) });
    expect(old.status).toBe(401);
    expect(old.headers.get('dpop-nonce')).toBe(next);
    const fresh = await fetch(url, {
      headers: dpop(value, await proof(url, value, { nonce: next })),
    });
    expect(fresh.status).toBe(200);
    expect(mock.stats).toMatchObject({ dpopNonceChallenges: 2, rejectedCalls: 0, dpopCalls: 2 });
  });

  it('rotateDpopNonce() throws without DPoP nonces', async () => {
    const plain = await start();
    expect(() => plain.rotateDpopNonce()).toThrow(/oauth: \{ dpop: \{ nonce: true \} \}/);
    const withoutNonce = await startOAuth({ dpop: true });
    expect(() => withoutNonce.rotateDpopNonce()).toThrow(Error);
  });
});
