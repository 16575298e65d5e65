import { createApiClient } from '@tokenfetch/core';
import { getGlobalDispatcher, MockAgent, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterEach, beforeEach, expect, it } from 'vitest';

// A service's own test, as undici's docs write it: a MockAgent installed as the global
// dispatcher, and tokenfetch's calls (the login included) must reach it, not the network.
// The host does not resolve: a call that escaped the mock would fail with ENOTFOUND.
const origin = 'https://api.tokenfetch-mocks.invalid';
let previous: Dispatcher;
let agent: MockAgent;

beforeEach(() => {
  previous = getGlobalDispatcher();
  agent = new MockAgent();
  agent.disableNetConnect();
  setGlobalDispatcher(agent);
});

afterEach(async () => {
  setGlobalDispatcher(previous);
  await agent.close();
});

it("undici's global MockAgent answers the login and the call", async () => {
  const pool = agent.get(origin);
  pool
    .intercept({ path: '/api/user/authenticate', method: 'POST' })
    .reply(200, { token: 'agent-token' }, { headers: { 'content-type': 'application/json' } });
  pool
    .intercept({
      path: '/api/user/users/me',
      method: 'GET',
      headers: { authorization: 'Bearer agent-token' },
    })
    .reply(200, { email: 'svc@acme.test' }, { headers: { 'content-type': 'application/json' } });
  const client = createApiClient({
    baseUrl: `${origin}/api`,
    auth: { email: 'svc@acme.test', password: 'not-a-secret', orgId: 1 },
  });
  try {
    expect(await client.json('/user/users/me')).toEqual({ email: 'svc@acme.test' });
    agent.assertNoPendingInterceptors();
  } finally {
    await client.close();
  }
});
