import { describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  ClientClosedError,
  ConfigError,
  createApiClient,
  sessionTokenAuth,
  type SessionAuthStrategy,
} from '../src/index.js';
import { collectEvents, rejectionOf, startMock, track } from './helpers.js';

const user = { email: 'svc@acme.com', password: 'pw-secret-1', orgs: [42, 43, 44], id: 7 };
const apiKey = 'k-secret-1';
const mockOptions = {
  users: [user, { email: 'other@acme.com', password: 'pw-2', orgs: [42], id: 8 }],
  apiKeys: [{ key: apiKey, orgId: 42 }],
};

async function me(client: { json(path: string): Promise<unknown> }): Promise<unknown> {
  return client.json('/user/users/me');
}

describe('client.as({ orgId }): the same user in another org', () => {
  it('logs in once per org under concurrency, and each call acts in its own org', async () => {
    const mock = await startMock(mockOptions);
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    const in43 = client.as({ orgId: 43 });

    await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? client : in43).fetch('/data/object/1')),
    );

    expect(mock.stats.successfulLogins).toBe(2);
    const orgs = mock.requests.map((request) => request.actingAs?.orgId);
    expect(orgs.filter((org) => org === 42)).toHaveLength(25);
    expect(orgs.filter((org) => org === 43)).toHaveLength(25);
    expect(await me(in43)).toMatchObject({ currentOrg: { id: 43 } });
    expect(await me(client)).toMatchObject({ currentOrg: { id: 42 } });
  });

  it('is made once per org and reused; as() on a derived client acts from the root', () => {
    const client = track(
      createApiClient({
        baseUrl: 'https://acme.example/api',
        auth: sessionTokenAuth({ email: user.email, password: user.password, orgId: 42 }),
      }),
    );
    const in43 = client.as({ orgId: 43 });
    const in44 = client.as({ orgId: 44 });
    // One client per org: another org is another client, with a token of its own.
    expect(in44).not.toBe(in43);
    expect(in44).not.toBe(client);
    expect(client.as({ orgId: 43 })).toBe(in43);
    expect(client.as({ orgId: '43' })).toBe(in43);
    expect(client.as({ orgId: 44 })).toBe(in44);
    expect(in43.as({ orgId: 44 })).toBe(in44);
    expect(in43.as({ orgId: 43 })).toBe(in43);
    // Its own org is the client itself, with its token.
    expect(client.as({ orgId: 42 })).toBe(client);
    expect(in43.as({ orgId: 42 })).toBe(client);
  });

  it('keeps each org’s token apart: a revocation re-logs in only the org whose call was refused', async () => {
    const mock = await startMock(mockOptions);
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    const in43 = client.as({ orgId: 43 });
    await client.fetch('/data/object/1');
    await in43.fetch('/data/object/1');
    mock.revokeTokens();

    expect((await in43.fetch('/data/object/1')).status).toBe(200);
    expect(mock.stats.successfulLogins).toBe(3);
    expect(await me(in43)).toMatchObject({ currentOrg: { id: 43 } });
  });

  it('an org the user is not in fails that client’s calls only', async () => {
    const mock = await startMock(mockOptions);
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    const error = await rejectionOf(client.as({ orgId: 99 }).fetch('/data/object/1'));
    expect(error).toMatchObject({ code: 'E_NO_ACTIVE_ORG' });
    expect((await client.fetch('/data/object/1')).status).toBe(200);
  });

  it('events of a derived client name their own client id', async () => {
    const mock = await startMock(mockOptions);
    const { events, onEvent } = collectEvents();
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
        onEvent,
      }),
    );
    await client.fetch('/data/object/1');
    await client.as({ orgId: 43 }).fetch('/data/object/1');
    const logins = events.filter((event) => event.type === 'login');
    expect(logins).toHaveLength(2);
    expect(logins[0]?.clientId).not.toBe(logins[1]?.clientId);
  });

  it('on an API-key client is a ConfigError naming the field, not the value', () => {
    const client = track(
      createApiClient({ baseUrl: 'https://acme.example/api', auth: { apiKey } }),
    );
    const error = catchError(() => client.as({ orgId: 43 }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'as.orgId', message: expect.stringContaining('needs session auth') },
    ]);
    expect(String((error as Error).message)).not.toContain(apiKey);
  });

  it('on a strategy not made by sessionTokenAuth is a ConfigError', () => {
    const custom: SessionAuthStrategy = {
      kind: 'session',
      headerNames: ['authorization'],
      ttlMs: 60_000,
      identity: 'custom',
      login: () => Promise.resolve({ token: 't' }),
    };
    const client = track(createApiClient({ baseUrl: 'https://acme.example/api', auth: custom }));
    expect(catchError(() => client.as({ orgId: 43 }))).toBeInstanceOf(ConfigError);
  });

  it('refuses malformed options with a ConfigError', () => {
    const client = track(
      createApiClient({
        baseUrl: 'https://acme.example/api',
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    for (const bad of [{}, { orgId: '' }, { orgId: 1.5 }, { orgId: 1, impersonateUserId: 2 }]) {
      expect(catchError(() => client.as(bad as never))).toBeInstanceOf(ConfigError);
    }
  });
});

describe('client.as({ impersonateUserId }): the API key acting as a user', () => {
  it('sends impersonate-user-id on the derived client’s calls and never on the parent’s', async () => {
    const mock = await startMock(mockOptions);
    const client = track(createApiClient({ baseUrl: mock.baseUrl, auth: { apiKey } }));
    const asUser = client.as({ impersonateUserId: 7 });

    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? client : asUser).fetch(`/data/object/${i}`),
      ),
    );

    for (const request of mock.requests) {
      const index = Number(request.path.split('/').at(-1));
      expect(request.impersonateUserId).toBe(index % 2 === 0 ? undefined : '7');
    }
    expect(await me(asUser)).toMatchObject({ id: 7 });
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('replaces the impersonation of the root, and is reused per user', async () => {
    const mock = await startMock(mockOptions);
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: apiKeyAuth({ apiKey, impersonateUserId: 8 }),
      }),
    );
    const as7 = client.as({ impersonateUserId: 7 });
    expect(client.as({ impersonateUserId: '7' })).toBe(as7);
    expect(client.as({ impersonateUserId: 9 })).not.toBe(as7);
    await as7.fetch('/data/object/1');
    await client.fetch('/data/object/1');
    expect(mock.requests.map((request) => request.impersonateUserId)).toEqual(['7', '8']);
  });

  it('a caller-set impersonate-user-id is refused on every API-key client', async () => {
    const mock = await startMock(mockOptions);
    const client = track(createApiClient({ baseUrl: mock.baseUrl, auth: { apiKey } }));
    for (const target of [client, client.as({ impersonateUserId: 7 })]) {
      const error = await rejectionOf(
        target.fetch('/data/object/1', { headers: { 'impersonate-user-id': '8' } }),
      );
      expect(error).toBeInstanceOf(ConfigError);
    }
    expect(mock.requests).toEqual([]);
    expect(() =>
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { apiKey },
        headers: { 'impersonate-user-id': '8' },
      }),
    ).toThrow(ConfigError);
  });

  it('on a session client is a ConfigError', () => {
    const client = track(
      createApiClient({
        baseUrl: 'https://acme.example/api',
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    const error = catchError(() => client.as({ impersonateUserId: 7 }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('as.impersonateUserId');
    expect((error as Error).message).not.toContain(user.password);
  });
});

describe('closing derived clients', () => {
  it('closing the parent closes its derived clients', async () => {
    const mock = await startMock(mockOptions);
    const client = createApiClient({
      baseUrl: mock.baseUrl,
      auth: { email: user.email, password: user.password, orgId: 42 },
    });
    const in43 = client.as({ orgId: 43 });
    await in43.fetch('/data/object/1');
    await client.close();
    expect(await rejectionOf(in43.fetch('/data/object/1'))).toBeInstanceOf(ClientClosedError);
    expect(catchError(() => client.as({ orgId: 44 }))).toBeInstanceOf(ClientClosedError);
  });

  it('closing a derived client leaves the parent and its connections working', async () => {
    const mock = await startMock(mockOptions);
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
      }),
    );
    const in43 = client.as({ orgId: 43 });
    await in43.fetch('/data/object/1');
    await in43.close();
    expect(await rejectionOf(in43.fetch('/data/object/1'))).toBeInstanceOf(ClientClosedError);
    expect((await client.fetch('/data/object/1')).status).toBe(200);
    // A closed derived client is not handed out again.
    const again = client.as({ orgId: 43 });
    expect(again).not.toBe(in43);
    expect((await again.fetch('/data/object/1')).status).toBe(200);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
