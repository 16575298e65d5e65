// The strategy interface (packages/core/src/auth/strategy.ts) as a strategy of another
// package uses it: a login on its own origin (a token endpoint), found by discovery or
// given; a scheme other than Bearer and a proof per call; a challenge that is answered by
// one retry with the same token; `as()` options of its own; secrets core scrubs. Each part
// is checked by core, over real HTTP.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createApiClient,
  CrossOriginError,
  LoginFailedError,
  UpstreamError,
  type CallCredentials,
  type SessionAuthStrategy,
} from '../src/index.js';
import { rejectionOf, startRecorder, track, type RecordedRequest } from './helpers.js';

const clientSecret = 'cs-4f1b9e2d7a';

/** A token endpoint on an origin of its own: every POST with the secret gets a new token. */
async function startTokenEndpoint() {
  let issued = 0;
  const server = await startRecorder((request) =>
    request.method === 'POST' && request.body === `secret=${clientSecret}`
      ? {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: `tok-${++issued}` }),
        }
      : { status: 401, body: 'no' },
  );
  return { server, url: `${server.origin}/oauth/token`, issued: () => issued };
}

/** A strategy posting `secret=` to `loginUrl`, its tokens sent as `Proof <token>` with a proof header. */
function proofStrategy(
  loginUrl: NonNullable<SessionAuthStrategy['loginUrl']>,
  extra: Partial<SessionAuthStrategy> = {},
): SessionAuthStrategy {
  return {
    kind: 'session',
    headerNames: ['authorization', 'x-proof'],
    ttlMs: 60_000,
    identity: 'proof-client',
    loginUrl,
    async login({ fetch, loginUrl: url, signal }) {
      const response = await fetch(url!, {
        method: 'POST',
        body: `secret=${clientSecret}`,
        signal,
      });
      if (!response.ok) throw new LoginFailedError(`token endpoint answered ${response.status}`);
      return (await response.json()) as { token: string };
    },
    authorize: (token, method, url): CallCredentials => ({
      authorization: `Proof ${token}`,
      'x-proof': `${method} ${url}`,
    }),
    secrets: () => [clientSecret],
    ...extra,
  };
}

const apiAnswer = (request: RecordedRequest) =>
  /^Proof tok-\d+$/.test(String(request.headers.authorization))
    ? { body: 'ok' }
    : { status: 401, body: 'who?' };

describe('a strategy that logs in on its own origin (loginUrl)', () => {
  it('sends the secret to the token endpoint only, and the token to the base URL only', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startRecorder(apiAnswer);
    const client = track(
      createApiClient({ baseUrl: `${api.origin}/api`, auth: proofStrategy(endpoint.url) }),
    );

    expect((await client.fetch('/items/1')).status).toBe(200);
    expect(endpoint.server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /oauth/token',
    ]);
    expect(api.requests.every((r) => !r.body.includes(clientSecret))).toBe(true);
    // The token endpoint's origin is not trusted with the token.
    const error = await rejectionOf(client.fetch(`${endpoint.server.origin}/oauth/token`));
    expect(error).toBeInstanceOf(CrossOriginError);
    expect(endpoint.server.requests).toHaveLength(1);
  });

  it('refuses, before any I/O, a login that strays from its origin', async () => {
    const endpoint = await startTokenEndpoint();
    const elsewhere = await startRecorder();
    const api = await startRecorder(apiAnswer);
    const strategy = proofStrategy(endpoint.url, {
      login: async ({ fetch }) => {
        await fetch(`${elsewhere.origin}/collect`, { method: 'POST', body: clientSecret });
        return { token: 'never' };
      },
    });
    const client = track(
      createApiClient({ baseUrl: `${api.origin}/api`, auth: strategy, loginRetries: 0 }),
    );
    const error = await rejectionOf(client.fetch('/items/1'));
    expect(error).toBeInstanceOf(CrossOriginError);
    expect(String(error)).toContain(`it goes to ${endpoint.server.origin} only`);
    expect(elsewhere.requests).toEqual([]);
    expect(api.requests).toEqual([]);
  });

  it('checks a loginUrl given in the options at creation: https, or http to loopback only', () => {
    for (const bad of [
      'http://auth.example/token',
      'ftp://auth.example/token',
      'token',
      'https://u:p@auth.example/t',
    ]) {
      let error: unknown;
      try {
        createApiClient({ baseUrl: 'https://api.example/api', auth: proofStrategy(bad) });
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['auth.loginUrl']);
    }
    const client = createApiClient({
      baseUrl: 'https://api.example/api',
      auth: proofStrategy('http://auth.example/token'),
      allowInsecureHttp: true,
    });
    void client.close();
  });

  it('finds the endpoint by discovery with a public fetch, and checks what it found', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startRecorder(apiAnswer);
    const metadata = await startRecorder(() => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token_endpoint: endpoint.url }),
    }));
    const seen: string[] = [];
    const strategy = proofStrategy(async ({ fetch, signal }) => {
      // The discovery fetch only GETs: a POST (a secret in a body) is refused.
      seen.push(
        String(await rejectionOf(fetch(`${metadata.origin}/x`, { method: 'POST', body: 's' }))),
      );
      const response = await fetch(`${metadata.origin}/.well-known/oauth-authorization-server`, {
        signal,
      });
      return ((await response.json()) as { token_endpoint: string }).token_endpoint;
    });
    const client = track(createApiClient({ baseUrl: `${api.origin}/api`, auth: strategy }));

    expect((await client.fetch('/items/1')).status).toBe(200);
    expect(seen).toEqual([expect.stringContaining('CrossOriginError')]);
    expect(metadata.requests.map((r) => r.method)).toEqual(['GET']);
    expect(endpoint.server.requests).toHaveLength(1);

    const misled = proofStrategy(async () => 'http://attacker.example/token');
    const other = track(
      createApiClient({ baseUrl: `${api.origin}/api`, auth: misled, loginRetries: 0 }),
    );
    const error = await rejectionOf(other.fetch('/items/1'));
    expect(error).toBeInstanceOf(CrossOriginError);
    expect(String(error)).toContain('must be https');
    expect(endpoint.server.requests).toHaveLength(1);
  });
});

describe('what a call carries (authorize)', () => {
  it('sends the strategy’s scheme and a proof made for each request, and refuses a caller’s proof header', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startRecorder((request) =>
      request.url === '/api/old'
        ? { status: 307, headers: { location: '/api/new' } }
        : apiAnswer(request),
    );
    const client = track(
      createApiClient({ baseUrl: `${api.origin}/api`, auth: proofStrategy(endpoint.url) }),
    );

    await client.fetch('/old', { method: 'PUT', body: 'x' });
    expect(api.requests.map((r) => [r.headers.authorization, r.headers['x-proof']])).toEqual([
      ['Proof tok-1', `PUT ${api.origin}/api/old`],
      ['Proof tok-1', `PUT ${api.origin}/api/new`],
    ]);
    const error = await rejectionOf(client.fetch('/items', { headers: { 'x-proof': 'mine' } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(api.requests).toHaveLength(2);
  });

  it('awaits a proof that is a promise (a signature), and nothing when it is not', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startRecorder(apiAnswer);
    let signed = 0;
    const strategy = proofStrategy(endpoint.url, {
      authorize: async (token, method, url) => {
        signed++;
        await new Promise((resolve) => setImmediate(resolve));
        return { authorization: `Proof ${token}`, 'x-proof': `signed ${method} ${url}` };
      },
    });
    const client = track(createApiClient({ baseUrl: `${api.origin}/api`, auth: strategy }));
    await Promise.all([client.fetch('/a'), client.fetch('/b')]);
    expect(signed).toBe(2);
    expect(api.requests.map((r) => r.headers['x-proof']).sort()).toEqual([
      `signed GET ${api.origin}/api/a`,
      `signed GET ${api.origin}/api/b`,
    ]);
  });
});

describe('an answer that challenges the token (challenge)', () => {
  it('"retry" replays once with the same token and logs in no more', async () => {
    const endpoint = await startTokenEndpoint();
    let nonce = 0;
    const api = await startRecorder((request) => {
      if (request.headers['x-nonce'] !== String(nonce)) {
        nonce++;
        return { status: 401, headers: { 'x-next-nonce': String(nonce) } };
      }
      return apiAnswer(request);
    });
    let known = -1;
    const strategy = proofStrategy(endpoint.url, {
      headerNames: ['authorization', 'x-proof', 'x-nonce'],
      authorize: (token) => ({ authorization: `Proof ${token}`, 'x-nonce': String(known) }),
      challenge: (response) => {
        const next = response.headers.get('x-next-nonce');
        if (next === null) return 'reauth';
        known = Number(next);
        return 'retry';
      },
    });
    const client = track(createApiClient({ baseUrl: `${api.origin}/api`, auth: strategy }));

    expect((await client.fetch('/a', { method: 'POST', body: 'b' })).status).toBe(200);
    expect((await client.fetch('/a')).status).toBe(200);
    expect(endpoint.issued()).toBe(1);
    expect(api.requests.map((r) => r.headers['x-nonce'])).toEqual(['-1', '1', '1']);
    expect(api.requests[1]!.body).toBe('b');
  });

  it('"reauth" (the default) drops the token, logs in and replays once', async () => {
    const endpoint = await startTokenEndpoint();
    // The first token is revoked: the API refuses it.
    const api = await startRecorder((request) =>
      request.headers.authorization === 'Proof tok-1' ? { status: 401 } : apiAnswer(request),
    );
    const client = track(
      createApiClient({ baseUrl: `${api.origin}/api`, auth: proofStrategy(endpoint.url) }),
    );
    expect((await client.fetch('/a')).status).toBe(200);
    expect(endpoint.issued()).toBe(2);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      'Proof tok-1',
      'Proof tok-2',
    ]);
  });
});

describe('as() and secrets() of a strategy of its own', () => {
  it('derives clients by options the strategy takes, one per key, each with its own token', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startRecorder(apiAnswer);
    const derive = (options: object) => {
      const { scope } = options as { scope?: unknown };
      if (typeof scope !== 'string') {
        throw new ConfigError([{ path: 'as.scope', message: 'must be a string' }]);
      }
      return {
        strategy: proofStrategy(endpoint.url, { identity: `proof-client|${scope}` }),
        key: scope,
      };
    };
    const client = track(
      createApiClient({
        baseUrl: `${api.origin}/api`,
        auth: proofStrategy(endpoint.url, { derive }),
      }),
    );
    const read = client.as({ scope: 'read' });
    expect(client.as({ scope: 'read' })).toBe(read);
    await Promise.all([
      client.fetch('/a'),
      read.fetch('/a'),
      client.as({ scope: 'write' }).fetch('/a'),
    ]);
    expect(endpoint.issued()).toBe(3);
    expect(() => client.as({ scope: 1 } as never)).toThrow(ConfigError);
  });

  it('scrubs what secrets() names from an error excerpt', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startRecorder(() => ({
      status: 500,
      body: `failed: secret=${clientSecret}`,
    }));
    const client = track(
      createApiClient({ baseUrl: `${api.origin}/api`, auth: proofStrategy(endpoint.url) }),
    );
    const error = await rejectionOf(client.json('/a'));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).body).not.toContain(clientSecret);
    expect((error as UpstreamError).body).toContain('failed: secret=');
  });
});
