// refreshToken() against oidc-provider's rotation: every use of a refresh token answers a
// new one and consumes the old (a reuse revokes the whole chain), over real HTTP.
import { inspect } from 'node:util';
import {
  createApiClient,
  InvalidGrantError,
  MemoryTokenStore,
  type StoredToken,
  type TokenFetchEvent,
  type TokenLease,
  type TokenStore,
} from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { refreshToken } from '../src/index.js';
import { issued, rejectionOf, startApi, startAs, track } from './helpers.js';

/** A MemoryTokenStore that keeps a copy of every state written with a token. */
function recordingStore(): TokenStore & { states: string[] } {
  const inner = new MemoryTokenStore();
  const states: string[] = [];
  return {
    states,
    get: (key) => inner.get(key),
    acquire: (key) => inner.acquire(key),
    commit(lease: TokenLease, token: Omit<StoredToken, 'generation'>) {
      if (token.state !== undefined) states.push(token.state);
      return inner.commit(lease, token);
    },
    release: (lease, failure) => inner.release(lease, failure),
    invalidate: (key, generation) => inner.invalidate(key, generation),
    getFailure: (key) => inner.getFailure(key),
  };
}

describe('refreshToken()', () => {
  it('calls as the user: one refresh for 1,000 concurrent calls', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: refreshToken({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret,
          refreshToken: await as.issueRefreshToken(),
        }),
      }),
    );
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client.fetch(`/u/${i}`)),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    await Promise.all(answers.map((answer) => answer.arrayBuffer()));
    expect(as.tokenRequests.map((request) => [request.grantType, request.issued])).toEqual([
      ['refresh_token', true],
    ]);
    expect(api.requests.at(-1)!.actingAs).toMatchObject({
      credential: 'oauth',
      userId: 1,
      oauth: { subject: '1' },
    });
  });

  it('honours rotation: each refresh uses the newest token, hands it to onRotate and seals it in the store', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretPost;
    const first = await as.issueRefreshToken({ clientId });
    const rotated: string[] = [];
    const store = recordingStore();
    const client = track(
      createApiClient({
        baseUrl: api.baseUrl,
        store,
        auth: refreshToken({
          issuer: as.issuer,
          clientId,
          clientSecret,
          clientAuth: 'client_secret_post',
          refreshToken: first,
          onRotate: (token) => {
            rotated.push(token);
          },
        }),
      }),
    );
    for (let round = 0; round < 3; round++) {
      expect((await client.fetch(`/round/${round}`)).status).toBe(200);
      api.revokeTokens();
    }
    expect(as.tokenRequests.map((request) => request.error ?? 'issued')).toEqual([
      'issued',
      'issued',
      'issued',
    ]);
    expect(new Set([first, ...rotated]).size).toBe(4);
    // The store holds each newest refresh token sealed: never the token itself.
    expect(store.states).toHaveLength(3);
    for (const state of store.states) {
      for (const token of [first, ...rotated]) expect(state).not.toContain(token);
    }
  });

  it('instances sharing a store refresh with the newest token, whichever of them rotated it', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const first = await as.issueRefreshToken();
    const store = new MemoryTokenStore();
    const instance = () =>
      track(
        createApiClient({
          baseUrl: api.baseUrl,
          store,
          auth: refreshToken({
            tokenUrl: as.tokenEndpoint,
            clientId,
            clientSecret,
            refreshToken: first,
          }),
        }),
      );
    const a = instance();
    const b = instance();
    expect((await a.fetch('/a1')).status).toBe(200); // refresh: first → r1
    expect((await b.fetch('/b1')).status).toBe(200); // the stored token
    api.revokeTokens();
    expect((await b.fetch('/b2')).status).toBe(200); // b refreshes with r1 (from the store)
    expect((await a.fetch('/a2')).status).toBe(200); // a takes b's token from the store
    api.revokeTokens();
    expect((await a.fetch('/a3')).status).toBe(200); // a refreshes with r2, which b got
    expect(as.tokenRequests.map((request) => request.error ?? 'issued')).toEqual([
      'issued',
      'issued',
      'issued',
    ]);
  });

  it('an instance that saw no rotation refreshes with the newest even after the stored token expired', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const first = await as.issueRefreshToken();
    const inner = new MemoryTokenStore();
    // Tokens expire from the store (as Redis drops an entry with its token); other keys stay.
    let tokensExpired = false;
    const store: TokenStore = {
      get: (key) =>
        tokensExpired && !key.endsWith(':state') ? Promise.resolve(undefined) : inner.get(key),
      acquire: (key) => inner.acquire(key),
      commit: (lease, token) => inner.commit(lease, token),
      release: (lease, failure) => inner.release(lease, failure),
      invalidate: (key, generation) => inner.invalidate(key, generation),
      getFailure: (key) => inner.getFailure(key),
    };
    const instance = () =>
      track(
        createApiClient({
          baseUrl: api.baseUrl,
          store,
          auth: refreshToken({
            tokenUrl: as.tokenEndpoint,
            clientId,
            clientSecret,
            refreshToken: first,
          }),
        }),
      );
    const busy = instance();
    const idle = instance();
    expect((await busy.fetch('/a')).status).toBe(200); // first → r1
    tokensExpired = true;
    api.revokeTokens();
    expect((await busy.fetch('/b')).status).toBe(200); // r1 → r2
    expect((await idle.fetch('/c')).status).toBe(200); // never saw r1 or r2: r2 → r3
    expect(as.tokenRequests.map((request) => request.error ?? 'issued')).toEqual([
      'issued',
      'issued',
      'issued',
    ]);
  });

  it('invalid_grant is an InvalidGrantError, that token is not tried again, and the store shares it', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const dead = await as.issueRefreshToken();
    await as.revokeRefreshToken(dead);
    const store = new MemoryTokenStore();
    const events: TokenFetchEvent[] = [];
    const options = {
      baseUrl: api.baseUrl,
      store,
      onEvent: (event: TokenFetchEvent) => events.push(event),
      auth: refreshToken({
        tokenUrl: as.tokenEndpoint,
        clientId,
        clientSecret,
        refreshToken: dead,
      }),
    };
    const client = track(createApiClient(options));
    const errors = await Promise.all(
      Array.from({ length: 10 }, () => rejectionOf(client.fetch('/a'))),
    );
    for (const error of errors) expect(error).toBeInstanceOf(InvalidGrantError);
    expect(await rejectionOf(client.fetch('/b'))).toBeInstanceOf(InvalidGrantError);
    const other = track(
      createApiClient({
        ...options,
        auth: refreshToken({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret,
          refreshToken: dead,
        }),
      }),
    );
    expect(await rejectionOf(other.fetch('/c'))).toBeInstanceOf(InvalidGrantError);
    expect(as.tokenRequests.map((request) => request.error)).toEqual(['invalid_grant']);
    const printed = [
      inspect(errors[0], { depth: 10 }),
      JSON.stringify(events),
      inspect(options.auth),
      JSON.stringify(client),
    ];
    for (const text of printed) {
      expect(text).not.toContain(dead);
      expect(text).not.toContain(clientSecret);
    }
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'login_failed', code: 'E_INVALID_GRANT' }),
    );
  });

  it('revokes the newest refresh token (RFC 7009) on close when asked', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const rotated: string[] = [];
    const client = createApiClient({
      baseUrl: api.baseUrl,
      auth: refreshToken({
        issuer: as.issuer,
        clientId,
        clientSecret,
        refreshToken: await as.issueRefreshToken(),
        revokeOnClose: true,
        onRotate: (token) => {
          rotated.push(token);
        },
      }),
    });
    expect((await client.fetch('/a')).status).toBe(200);
    await client.close();
    const after = track(
      createApiClient({
        baseUrl: api.baseUrl,
        auth: refreshToken({
          tokenUrl: as.tokenEndpoint,
          clientId,
          clientSecret,
          refreshToken: rotated.at(-1)!,
        }),
      }),
    );
    expect(await rejectionOf(after.fetch('/b'))).toBeInstanceOf(InvalidGrantError);
    expect(issued(as)).toBe(1);
  });

  it('has no as(): its refresh token is one chain', async () => {
    const as = await startAs();
    const client = track(
      createApiClient({
        baseUrl: 'https://api.example.com',
        auth: refreshToken({
          tokenUrl: as.tokenEndpoint,
          clientId: 'c',
          clientSecret: 's',
          refreshToken: 'rt',
        }),
      }),
    );
    expect(() => client.as({ scope: 'read' })).toThrow(/as\.options/);
  });
});
