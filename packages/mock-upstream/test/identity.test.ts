import { describe, expect, it } from 'vitest';
import { demoApiKey } from '../src/index.js';
import { bearer, login, start, token } from './helpers.js';

const member = { email: 'multi@example.com', password: 'pw', orgs: [42, 43], id: 7 };
const as = (selectedOrg: unknown) => ({
  email: member.email,
  password: member.password,
  selectedOrg,
});

describe('several orgs per user', () => {
  it('logs a user in to each of its orgs, and each token acts in the org chosen at login', async () => {
    const mock = await start({ users: [member] });
    const in42 = await token(mock, as(42));
    const in43 = await token(mock, as('43'));
    const me = async (value: string) =>
      (await fetch(`${mock.baseUrl}/user/users/me`, { headers: bearer(value) })).json();

    expect(await me(in42)).toMatchObject({ id: 7, currentOrg: { id: 42 } });
    expect(await me(in43)).toMatchObject({ id: 7, currentOrg: { id: 43 } });
    expect(mock.requests.map((entry) => entry.actingAs)).toEqual([
      { credential: 'token', userId: 7, orgId: 42 },
      { credential: 'token', userId: 7, orgId: 43 },
    ]);
  });

  it('answers 404 to a selectedOrg the user is not a member of', async () => {
    const mock = await start({ users: [member] });
    const res = await login(mock, as(44));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.stringContaining('selected organisation') });
  });
});

describe('impersonate-user-id', () => {
  it('is recorded per request, and an API-key call with it acts as that user', async () => {
    const mock = await start({
      users: [member],
      apiKeys: [{ key: 'k-1', orgId: 42, userId: 1000 }],
    });
    const url = `${mock.baseUrl}/user/users/me`;
    const acting = await fetch(url, {
      headers: { 'x-api-key': 'k-1', 'impersonate-user-id': '7' },
    });
    const service = await fetch(url, { headers: { 'x-api-key': 'k-1' } });

    expect(await acting.json()).toMatchObject({
      id: 7,
      email: member.email,
      currentOrg: { id: 42 },
    });
    expect(await service.json()).toMatchObject({ id: 1000, currentOrg: { id: 42 } });
    expect(
      mock.requests.map(({ impersonateUserId, actingAs }) => ({ impersonateUserId, actingAs })),
    ).toEqual([
      { impersonateUserId: '7', actingAs: { credential: 'api-key', userId: 7, orgId: 42 } },
      {
        impersonateUserId: undefined,
        actingAs: { credential: 'api-key', userId: 1000, orgId: 42 },
      },
    ]);
  });

  it('is recorded even when it names no user, and then the key acts as its service user', async () => {
    const mock = await start({ apiKeys: [{ key: 'k-1', userId: 1000 }] });
    await fetch(`${mock.baseUrl}/echo`, {
      headers: { 'x-api-key': 'k-1', 'impersonate-user-id': '99' },
    });
    expect(mock.requests[0]).toMatchObject({
      impersonateUserId: '99',
      actingAs: { credential: 'api-key', userId: 1000 },
    });
  });

  it('is recorded on refused calls too, which act as nobody', async () => {
    const mock = await start();
    await fetch(`${mock.baseUrl}/echo`, { headers: { 'impersonate-user-id': '1' } });
    expect(mock.requests[0]).toMatchObject({ impersonateUserId: '1', actingAs: undefined });
  });
});

describe('unknownCredentialCalls', () => {
  it('counts a token issued by another server, and not a revoked or expired one of its own', async () => {
    let now = 0;
    const home = await start({ now: () => now, tokenTtlMs: 60_000 });
    const other = await start();
    const foreign = await token(other);
    const revoked = await token(home);
    home.revokeTokens();
    const expired = await token(home);
    now += 60_000;

    for (const value of [foreign, revoked, expired, 'made-up']) {
      expect((await fetch(`${home.baseUrl}/echo`, { headers: bearer(value) })).status).toBe(403);
    }
    await fetch(`${home.baseUrl}/echo`); // no credential at all

    expect(home.stats).toMatchObject({ rejectedCalls: 5, unknownCredentialCalls: 2 });
    expect(other.stats).toMatchObject({ calls: 0, unknownCredentialCalls: 0 });
  });

  it('counts an unknown API key, and a foreign token even when a valid API key lets the call in', async () => {
    const home = await start();
    const foreign = await token(await start());
    const wrongKey = await fetch(`${home.baseUrl}/echo`, { headers: { 'x-api-key': 'other-key' } });
    const both = await fetch(`${home.baseUrl}/echo`, {
      headers: { ...bearer(foreign), 'x-api-key': demoApiKey },
    });
    expect([wrongKey.status, both.status]).toEqual([403, 200]);
    expect(home.stats).toMatchObject({ rejectedCalls: 1, unknownCredentialCalls: 2 });
  });

  it('is zeroed by resetStats()', async () => {
    const mock = await start();
    await fetch(`${mock.baseUrl}/echo`, { headers: bearer('made-up') });
    expect(mock.stats.unknownCredentialCalls).toBe(1);
    mock.resetStats();
    expect(mock.stats.unknownCredentialCalls).toBe(0);
  });
});
