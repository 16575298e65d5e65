// clientCredentials() against a real authorization server (oidc-provider, test/oauth) and
// the mock upstream as its resource server, over real HTTP.
import { inspect } from 'node:util';
import {
  ConfigError,
  createApiClient,
  InvalidCredentialsError,
  LoginFailedError,
  type TokenFetchEvent,
} from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../src/index.js';
import { issued, rejectionOf, startApi, startAs, track } from './helpers.js';

describe('clientCredentials()', () => {
  it('1,000 concurrent calls with a cold cache make one token request', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret }),
      }),
    );
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client.fetch(`/items/${i}`)),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    await Promise.all(answers.map((answer) => answer.arrayBuffer()));
    expect(as.tokenRequests).toHaveLength(1);
    expect(as.tokenRequests[0]).toMatchObject({
      grantType: 'client_credentials',
      clientId,
      issued: true,
    });
    expect(api.stats.oauthCalls).toBe(1000);
  });

  it('a revoked token costs one new token and no failed call', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretPost;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret,
          clientAuth: 'client_secret_post',
        }),
      }),
    );
    expect((await client.fetch('/warm')).status).toBe(200);
    api.revokeTokens();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.fetch(`/after/${i}`, { method: 'POST', body: `n=${i}` }),
      ),
    );
    expect(answers.map((answer) => answer.status).filter((status) => status !== 200)).toEqual([]);
    expect(issued(as)).toBe(2);
  });

  it('sends the secret to the token endpoint only and the token to the base URL only', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const seen: Array<{ url: string; headers: Headers; body: string }> = [];
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret }),
        // The user's own fetch sees every request tokenfetch sends.
        fetch: async (input, init) => {
          const request = new Request(input, init);
          seen.push({
            url: request.url,
            headers: request.headers,
            body: await request.clone().text(),
          });
          return fetch(request);
        },
      }),
    );
    expect((await client.fetch('/a')).status).toBe(200);
    const token = await client.getToken();
    for (const request of seen) {
      const toTokenEndpoint = request.url === as.tokenEndpoint;
      const authorization = request.headers.get('authorization') ?? '';
      expect(authorization.startsWith('Basic ')).toBe(toTokenEndpoint);
      expect(authorization.includes(token)).toBe(request.url.startsWith(api.baseUrl));
      if (!toTokenEndpoint) {
        expect(request.body).not.toContain(clientSecret);
        expect(JSON.stringify([...request.headers])).not.toMatch(/basic/i);
      }
    }
    expect(seen.map((request) => new URL(request.url).origin).sort()).toEqual(
      [new URL(as.tokenEndpoint).origin, new URL(api.baseUrl).origin].sort(),
    );
  });

  it('private_key_jwt with a CryptoKey (and its kid) or a private JWK', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, privateKey, kid, privateJwk } = as.clients.privateKeyJwt;
    for (const key of [
      { key: privateKey, kid },
      { ...privateJwk, kid },
    ]) {
      const client = track(
        createApiClient({
          baseUrl: api.baseUrl,
          auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, privateKey: key }),
        }),
      );
      expect((await client.fetch('/a')).status).toBe(200);
    }
    expect(as.tokenRequests.map((request) => [request.clientId, request.issued])).toEqual([
      [clientId, true],
      [clientId, true],
    ]);
  });

  it('finds the token endpoint by discovery from the issuer, once', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const discovery: string[] = [];
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ issuer: as.issuer, clientId, clientSecret, scope: 'read' }),
        fetch: (input, init) => {
          const url = new Request(input, init).url;
          if (url.includes('/.well-known/')) discovery.push(new URL(url).pathname);
          return fetch(input, init);
        },
      }),
    );
    expect((await client.fetch('/a')).status).toBe(200);
    api.revokeTokens();
    expect((await client.fetch('/b')).status).toBe(200);
    expect(issued(as)).toBe(2);
    expect(discovery).toEqual(['/.well-known/oauth-authorization-server']);
    expect(as.tokenRequests[0]!.scope).toBe('read');
  });

  it('refuses a token URL or issuer that is plain http to another host, and bad options, at creation', () => {
    const error = (() => {
      try {
        clientCredentials({
          tokenUrl: 'http://auth.example.com/token',
          clientId: '',
          clientSecret: 'top-secret-value',
          scope: 'a "b',
        });
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.map((issue) => issue.path).sort()).toEqual(
      ['auth.clientId', 'auth.scope', 'auth.tokenUrl'].sort(),
    );
    expect(error!.message).not.toContain('top-secret-value');
    expect(() =>
      clientCredentials({ issuer: 'http://login.example.com', clientId: 'c', clientSecret: 's' }),
    ).toThrow(/auth\.issuer/);
    expect(() => clientCredentials({ tokenUrl: 'https://a.example/t', clientId: 'c' })).toThrow(
      /auth\.clientAuth/,
    );
  });
});

describe('OAuth errors as tokenfetch errors', () => {
  it('invalid_client is an InvalidCredentialsError, remembered for the cooldown', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret: 'wrong-secret',
        }),
      }),
    );
    const errors = await Promise.all(
      Array.from({ length: 20 }, () => rejectionOf(client.fetch('/a'))),
    );
    for (const error of errors) expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect(await rejectionOf(client.fetch('/b'))).toBeInstanceOf(InvalidCredentialsError);
    expect(as.tokenRequests.map((request) => request.error)).toEqual(['invalid_client']);
  });

  it('invalid_scope is a ConfigError naming auth.scope, not retried before the cooldown', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret,
          scope: 'admin',
        }),
      }),
    );
    const error = await rejectionOf(client.fetch('/a'));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]!.path).toBe('auth.scope');
    expect(await rejectionOf(client.fetch('/b'))).toBe(error);
    expect(as.tokenRequests.map((request) => request.error)).toEqual(['invalid_scope']);
  });

  it('a 429 with Retry-After is a LoginFailedError saying when, and no token request before then', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret }),
      }),
    );
    as.failNextTokenRequests({ status: 429, retryAfter: 60 });
    const error = (await rejectionOf(client.fetch('/a'))) as LoginFailedError;
    expect(error).toBeInstanceOf(LoginFailedError);
    expect(error.status).toBe(429);
    const again = (await rejectionOf(client.fetch('/b'))) as LoginFailedError;
    expect(again.retryAfterMs).toBeGreaterThan(55_000);
    expect(as.tokenRequests).toHaveLength(1);
  });

  it('a 503 with a short Retry-After is waited out within the login, then the token comes', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret }),
      }),
    );
    as.failNextTokenRequests({ status: 503, retryAfter: 1 });
    const started = Date.now();
    expect((await client.fetch('/a')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(as.tokenRequests.map((request) => request.status)).toEqual([503, 200]);
  });

  it('no secret in any error, event, or printed client or strategy', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretPost;
    const events: TokenFetchEvent[] = [];
    const auth = clientCredentials({
      tokenUrl: as.tokenEndpoint,
      clientId,
      clientSecret,
      clientAuth: 'client_secret_post',
    });
    const client = track(
      createApiClient({ baseUrl: api.baseUrl, auth, onEvent: (event) => events.push(event) }),
    );
    const printed: string[] = [
      inspect(auth),
      JSON.stringify(auth),
      inspect(client),
      JSON.stringify(client),
    ];
    as.failNextTokenRequests({
      error: 'invalid_request',
      status: 400,
      headers: {},
    });
    const failures = [await rejectionOf(client.fetch('/a'))];
    const token = await client.getToken().catch(() => undefined);
    for (const failure of failures) {
      printed.push(
        inspect(failure, { depth: 10 }),
        JSON.stringify(failure),
        String((failure as Error).stack),
      );
    }
    printed.push(JSON.stringify(events));
    for (const text of printed) {
      expect(text).not.toContain(clientSecret);
      if (token !== undefined) expect(text).not.toContain(token);
    }
    expect(events.some((event) => event.type === 'login_failed')).toBe(true);
  });
});
