import { describe, expect, it } from 'vitest';
import { DEMO_API_KEY } from '@tokenfetch/mock-upstream';
import {
  apiKeyAuth,
  ConfigError,
  createApiClient,
  CrossOriginError,
  sessionTokenAuth,
  type LoginContext,
} from '../src/index.js';
import { bearerOf, clientFor, demoAuth, rejectionOf, startMock, startRecorder } from './helpers.js';

describe('credentials stay home (guarantee 8)', () => {
  it('a relative path resolves under the base path', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    await client.fetch('/data/object/1?x=1');
    await client.fetch('data/object/2');

    expect(mock.requests.map((request) => request.path)).toEqual([
      '/api/data/object/1?x=1',
      '/api/data/object/2',
    ]);
  });

  it('an absolute URL to another origin is refused with CrossOriginError before any I/O', async () => {
    const mock = await startMock();
    const other = await startRecorder();
    const client = clientFor(mock);

    const error = await rejectionOf(client.fetch(`${other.origin}/api/data`));

    expect(error).toBeInstanceOf(CrossOriginError);
    expect(other.requests).toEqual([]);
    // Refused before the login, too.
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('a path that leaves the base path is refused with CrossOriginError', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    for (const input of [
      '../outside',
      '/%2e%2e/outside',
      `${mock.origin}/outside`,
      '//evil.example/x',
      // Forms a server behind a proxy, or Tomcat, Jetty and Spring, route outside /api.
      '..;/admin',
      'a/..;jsessionid=1/../admin',
      '/%252e%252e/admin',
      '/%252e%252e%252fadmin',
      '/a%255c..%255cadmin',
      `${mock.baseUrl}/..;/admin`,
      new URL(`${mock.baseUrl}/%252e%252e/admin`),
    ]) {
      await expect(client.fetch(input)).rejects.toBeInstanceOf(CrossOriginError);
    }
    expect(mock.stats.calls).toBe(0);
  });

  it('a login path outside the base URL is a ConfigError naming auth.path', async () => {
    const mock = await startMock();
    for (const path of [
      'https://login.evil.example/collect',
      'http://login.evil.example/collect',
      `${mock.origin}/collect`,
      '../collect',
      '..;/collect',
      '%252e%252e/collect',
    ]) {
      let caught: unknown;
      try {
        clientFor(mock, { auth: sessionTokenAuth({ ...demoAuth, path }) });
      } catch (error) {
        caught = error;
      }
      expect(caught, path).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).issues).toEqual([
        { path: 'auth.path', message: 'must be a path inside baseUrl: the password is sent there' },
      ]);
    }
    expect(mock.stats.loginAttempts).toBe(0);
    // Inside the base URL, written as a path or as an absolute URL, it is accepted.
    const client = clientFor(mock, {
      auth: sessionTokenAuth({ ...demoAuth, path: `${mock.baseUrl}/user/authenticate` }),
    });
    expect(typeof (await client.getToken())).toBe('string');
  });

  it("a strategy's login sent outside the base URL is refused before any I/O", async () => {
    const mock = await startMock();
    const elsewhere = await startRecorder();
    const strategy = {
      kind: 'session' as const,
      headerNames: ['authorization'],
      ttlMs: 60_000,
      identity: 'me|1',
      async login({ fetch }: LoginContext) {
        const response = await fetch(`${elsewhere.origin}/collect`, {
          method: 'POST',
          body: JSON.stringify({ password: 'secret-canary' }),
        });
        return { token: await response.text() };
      },
    };
    const client = clientFor(mock, { auth: strategy, allowedOrigins: [elsewhere.origin] });

    const error = await rejectionOf(client.getToken());

    expect(error).toBeInstanceOf(CrossOriginError);
    expect((error as CrossOriginError).message).toMatch(/refused to send the login/);
    expect(elsewhere.connections).toBe(0);
  });

  it('an origin in allowedOrigins receives the credentials', async () => {
    const mock = await startMock();
    const files = await startRecorder();
    const client = clientFor(mock, { allowedOrigins: [files.origin] });
    const token = await client.getToken();

    const response = await client.fetch(`${files.origin}/files/1`);

    expect(response.status).toBe(200);
    expect(bearerOf(files.requests[0]?.headers ?? {})).toBe(token);
  });

  it('a caller-set Authorization header is an error, not an override', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    for (const headers of [
      { Authorization: 'Bearer mine' },
      new Headers({ authorization: 'Basic x' }),
      [['AUTHORIZATION', 'Bearer mine']] as [string, string][],
    ]) {
      const error = await rejectionOf(client.fetch('/data', { headers }));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        { path: 'init.headers.authorization', message: 'is set by tokenfetch; remove it' },
      ]);
    }
    expect(mock.stats.calls).toBe(0);
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('a caller-set x-api-key or impersonate-user-id header is an error with API key auth', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { apiKey: DEMO_API_KEY, impersonateUserId: 1 } });

    for (const name of ['x-api-key', 'impersonate-user-id']) {
      const error = await rejectionOf(client.fetch('/data', { headers: { [name]: 'mine' } }));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues[0]?.path).toBe(`init.headers.${name}`);
    }
    expect(mock.stats.calls).toBe(0);
  });

  it('a caller-set Authorization or API-key header is an error whichever way the client authenticates', async () => {
    const mock = await startMock();
    const session = clientFor(mock);
    const keyed = clientFor(mock, { auth: { apiKey: DEMO_API_KEY } });

    for (const [client, name] of [
      [session, 'x-api-key'],
      [keyed, 'authorization'],
    ] as const) {
      const error = await rejectionOf(client.fetch('/data', { headers: { [name]: 'mine' } }));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        { path: `init.headers.${name}`, message: 'is set by tokenfetch; remove it' },
      ]);
      const request = new Request(`${mock.baseUrl}/data`, { headers: { [name]: 'mine' } });
      await expect(client.fetch(request)).rejects.toBeInstanceOf(ConfigError);
    }
    expect(() =>
      createApiClient({ baseUrl: mock.baseUrl, auth: demoAuth, headers: { 'X-Api-Key': 'k' } }),
    ).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ path: 'headers.x-api-key' })] }),
    );
    expect(mock.stats.calls).toBe(0);
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('a custom API key header is protected as well', async () => {
    const mock = await startMock();
    const client = clientFor(mock, {
      auth: apiKeyAuth({ apiKey: DEMO_API_KEY, header: 'X-Custom-Key' }),
    });

    await expect(
      client.fetch('/data', { headers: { 'x-custom-key': 'mine' } }),
    ).rejects.toBeInstanceOf(ConfigError);
    await client.fetch('/data');
    expect(mock.requests[0]?.headers['x-custom-key']).toBe(DEMO_API_KEY);
  });

  it('credential headers in the headers option are a ConfigError at construction', () => {
    expect(() =>
      createApiClient({
        baseUrl: 'https://x.example/api',
        auth: demoAuth,
        headers: { authorization: 'Bearer mine', 'user-agent': 'svc' },
      }),
    ).toThrow(
      expect.objectContaining({
        issues: [{ path: 'headers.authorization', message: 'is set by tokenfetch; remove it' }],
      }),
    );
    expect(() =>
      createApiClient({
        baseUrl: 'https://x.example/api',
        auth: { apiKey: 'k' },
        headers: [['X-Api-Key', 'other']],
      }),
    ).toThrow(ConfigError);
  });

  it('the headers option is sent on every call and on the login', async () => {
    const mock = await startMock();
    let loginAgent: unknown;
    mock.setLoginResponse((req) => {
      loginAgent = req.headers['user-agent'];
      return undefined;
    });
    const client = clientFor(mock, { headers: { 'user-agent': 'billing/1.0' } });

    await client.fetch('/data', { headers: { 'x-extra': '1' } });

    expect(loginAgent).toBe('billing/1.0');
    expect(mock.requests[0]?.headers).toMatchObject({
      'user-agent': 'billing/1.0',
      'x-extra': '1',
    });
  });
});

describe('API key auth', () => {
  it('sends x-api-key and impersonate-user-id and never logs in', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { apiKey: DEMO_API_KEY, impersonateUserId: 1 } });

    const me = await client.json<{ id: number; email: string }>('/user/users/me');
    await client.fetch('/data', { method: 'POST', body: 'x' });

    expect(me).toMatchObject({ id: 1, email: 'demo@example.com' });
    expect(mock.stats.loginAttempts).toBe(0);
    expect(mock.requests).toHaveLength(2);
    for (const request of mock.requests) {
      expect(request.headers['x-api-key']).toBe(DEMO_API_KEY);
      expect(request.headers['impersonate-user-id']).toBe('1');
      expect(request.headers.authorization).toBeUndefined();
    }
  });

  it('without impersonation only x-api-key is sent', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: apiKeyAuth({ apiKey: DEMO_API_KEY }) });

    const me = await client.json<{ id: number }>('/user/users/me');

    expect(me.id).toBe(0);
    expect(mock.requests[0]?.headers['impersonate-user-id']).toBeUndefined();
  });

  it('a 403 with an API key is returned as is: there is nothing to re-login', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { apiKey: 'unknown-key' } });

    const response = await client.fetch('/data');

    expect(response.status).toBe(403);
    expect(mock.requests).toHaveLength(1);
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('getToken() on an API key client is a ConfigError', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { apiKey: DEMO_API_KEY } });

    await expect(client.getToken()).rejects.toBeInstanceOf(ConfigError);
  });
});
