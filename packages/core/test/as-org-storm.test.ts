// `client.as({ orgId })` with org ids a caller chooses (issue 20, item 4; found by the
// attack on it): the 1,000-client bound caps the heap, a refused password (401) cools every
// org down, and an org the user is not in (404) no longer costs a login each: once
// `orgRefusalBudget` orgs were refused within a login cooldown, an org never seen to work is
// not tried until the oldest refusal is that old. Orgs seen to work, and the root's own,
// are always tried.
import { describe, expect, it } from 'vitest';
import { orgRefusalBudget } from '../src/client/family.js';
import { createApiClient, NoActiveOrgError } from '../src/index.js';
import { rejectionOf, startMock, track } from './helpers.js';

const user = { email: 'svc@acme.example', password: 'pw-acme', orgs: [42, 43], id: 7 };

describe('org ids a caller chooses', () => {
  it('200 unknown org ids cost orgRefusalBudget logins per cooldown; known orgs still work; after the cooldown, unknown ones are tried again', async () => {
    const mock = await startMock({ users: [user] });
    let now = Date.parse('2026-12-04T12:00:00Z');
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 42 },
        loginCooldownMs: 30_000,
        now: () => now,
      }),
    );
    expect((await client.fetch('/user/users/me')).status).toBe(200);
    expect((await client.as({ orgId: 43 }).fetch('/user/users/me')).status).toBe(200);
    const before = mock.stats.loginAttempts;

    const refusals: unknown[] = [];
    for (let org = 1_000; org < 1_200; org++) {
      refusals.push(await rejectionOf(client.as({ orgId: org }).fetch('/user/users/me')));
    }

    expect(refusals.every((error) => error instanceof NoActiveOrgError)).toBe(true);
    expect(String(refusals.at(-1))).toMatch(/login not tried: 10 orgs of this user were refused/);
    expect(mock.stats.loginAttempts - before).toBe(orgRefusalBudget);
    // Orgs seen to work (and the root's own) are not held back by strangers' org ids.
    const known = mock.stats.loginAttempts;
    expect((await client.as({ orgId: 43 }).fetch('/data')).status).toBe(200);
    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(known);

    now += 30_000;
    expect(await rejectionOf(client.as({ orgId: 5_000 }).fetch('/data'))).toBeInstanceOf(
      NoActiveOrgError,
    );
    expect(mock.stats.loginAttempts).toBe(known + 1);
  });
});
