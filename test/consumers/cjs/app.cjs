// A CommonJS app: require() of the ESM-only packages (Node ^20.19 / >=22.12).
const { DEMO_USER, startMockUpstream } = require('@tokenfetch/mock-upstream');
const { createApiClient } = require('@tokenfetch/core');
const { authMiddleware } = require('@tokenfetch/express');
const express = require('express');

async function main() {
  const upstream = await startMockUpstream();
  const app = express();
  app.use(
    authMiddleware({
      baseUrl: upstream.baseUrl,
      auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
    }),
  );
  app.get('/me', async (req, res, next) => {
    try {
      res.json(await (await req.apiFetch('/user/users/me')).json());
    } catch (error) {
      next(error);
    }
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const me = await (await fetch(`http://127.0.0.1:${server.address().port}/me`)).json();
  if (me.email !== DEMO_USER.email) throw new Error(`unexpected answer: ${JSON.stringify(me)}`);
  if (typeof createApiClient !== 'function') throw new Error('createApiClient missing');
  server.closeAllConnections();
  server.close();
  await upstream.close();
  console.log('cjs consumer: ok', me.email);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
