import { createApiClient } from '@tokenfetch/core';
import nock from 'nock';
import { afterEach, expect, it } from 'vitest';

// A service's own test, as nock's docs write it: the upstream's origin is mocked, and
// tokenfetch's calls (the login included) must reach the interceptors, not the network.
// The host does not resolve: a call that escaped the mock would fail with ENOTFOUND.
const origin = 'https://api.tokenfetch-mocks.invalid';

afterEach(() => nock.cleanAll());

it('nock answers the login and the call, and sees the bearer token', async () => {
  nock.disableNetConnect();
  const scope = nock(origin)
    .post('/api/user/authenticate', {
      email: 'svc@acme.test',
      password: 'not-a-secret',
      selectedOrg: 1,
    })
    .reply(200, { token: 'nock-token' })
    .get('/api/user/users/me')
    .matchHeader('authorization', 'Bearer nock-token')
    .reply(200, { email: 'svc@acme.test' });
  const client = createApiClient({
    baseUrl: `${origin}/api`,
    auth: { email: 'svc@acme.test', password: 'not-a-secret', orgId: 1 },
  });
  try {
    expect(await client.json('/user/users/me')).toEqual({ email: 'svc@acme.test' });
    expect(scope.isDone()).toBe(true);
  } finally {
    await client.close();
    nock.enableNetConnect();
  }
});
