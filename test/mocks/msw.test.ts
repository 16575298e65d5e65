import { createApiClient } from '@tokenfetch/core';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, expect, it } from 'vitest';

// A service's own test, as msw's docs write it: the upstream is mocked with request
// handlers, and tokenfetch's calls (the login included) must reach them, not the network.
// The host does not resolve: a call that escaped the mock would fail with ENOTFOUND.
const baseUrl = 'https://api.tokenfetch-mocks.invalid/api';
const seen: Array<{ method: string; path: string; authorization: string | null }> = [];
const server = setupServer(
  http.post(`${baseUrl}/user/authenticate`, () => HttpResponse.json({ token: 'msw-token' })),
  http.get(`${baseUrl}/user/users/me`, ({ request }) => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      path: url.pathname,
      authorization: request.headers.get('authorization'),
    });
    return HttpResponse.json({ email: 'svc@acme.test' });
  }),
);

// Made when the app's module loads, before the test's listen(): the mock is looked for at
// each call, not when the client is made.
const client = createApiClient({
  baseUrl,
  auth: { email: 'svc@acme.test', password: 'not-a-secret', orgId: 1 },
});

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(async () => {
  await client.close();
  server.close();
});

it('msw answers the login and the call of a client made before listen()', async () => {
  expect(await client.json('/user/users/me')).toEqual({ email: 'svc@acme.test' });
  expect(seen).toEqual([
    { method: 'GET', path: '/api/user/users/me', authorization: 'Bearer msw-token' },
  ]);
});
