// The CommonJS app's calls under Jest, which loads CommonJS only (on Node 20 it cannot
// require() ESM): every @tokenfetch package comes from its dist/cjs build here.
/* global beforeAll, afterAll, test, expect -- Jest's */
const { once } = require('node:events');
const { DEMO_USER, startMockUpstream } = require('@tokenfetch/mock-upstream');
const { InvalidCredentialsError, createApiClient } = require('@tokenfetch/core');
const { authMiddleware, problemDetails } = require('@tokenfetch/express');
const express = require('express');

let upstream;
beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(() => upstream.close());

/** An Express app whose /me calls the API; resolves with its base URL and a close(). */
async function serve(password) {
  const app = express();
  app.use(
    authMiddleware({
      baseUrl: upstream.baseUrl,
      auth: { email: DEMO_USER.email, password, orgId: 1 },
    }),
  );
  app.get('/me', async (req, res, next) => {
    try {
      res.json(await (await req.apiFetch('/user/users/me')).json());
    } catch (error) {
      next(error);
    }
  });
  app.use(problemDetails());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve).closeAllConnections()),
  };
}

test('Jest loads the CommonJS build', () => {
  expect(require.resolve('@tokenfetch/core')).toMatch(/dist[\\/]cjs[\\/]index\.cjs$/);
  expect(require.resolve('@tokenfetch/express')).toMatch(/dist[\\/]cjs[\\/]index\.cjs$/);
});

test('a route calls the API through req.apiFetch', async () => {
  const app = await serve(DEMO_USER.password);
  try {
    const me = await (await fetch(`${app.url}/me`)).json();
    expect(me.email).toBe(DEMO_USER.email);
  } finally {
    await app.close();
  }
});

test('a refused login is answered as problem+json 502, without the password', async () => {
  const app = await serve('not-the-password');
  try {
    const answer = await fetch(`${app.url}/me`);
    expect(answer.status).toBe(502);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await answer.text()).not.toContain('not-the-password');
  } finally {
    await app.close();
  }
});

test('a client rejects with InvalidCredentialsError', async () => {
  const client = createApiClient({
    baseUrl: upstream.baseUrl,
    auth: { email: DEMO_USER.email, password: 'not-the-password', orgId: 1 },
  });
  try {
    await expect(client.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);
  } finally {
    await client.close();
  }
});
