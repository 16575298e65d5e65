// Fastify and Hono apps using the packed tarballs: one authenticated call through each
// adapter, and a refused login answered as problem+json.
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import tokenfetch from '@tokenfetch/fastify';
import { authMiddleware, problemDetails } from '@tokenfetch/hono';
import Fastify from 'fastify';
import { Hono } from 'hono';

const upstream = await startMockUpstream();
const options = (password) => ({
  baseUrl: upstream.baseUrl,
  auth: { email: DEMO_USER.email, password, orgId: 1 },
});
const check = (what, ok, detail) => {
  if (!ok) throw new Error(`${what}: ${detail}`);
};

for (const password of [DEMO_USER.password, 'wrong-password']) {
  const fastify = Fastify();
  await fastify.register(tokenfetch, options(password));
  fastify.get('/me', async (request) => (await request.apiFetch('/user/users/me')).json());
  const fromFastify = await fastify.inject('/me');

  const hono = new Hono();
  hono.use(authMiddleware(options(password)));
  hono.get('/me', async (c) => c.json(await (await c.var.apiFetch('/user/users/me')).json()));
  hono.onError(problemDetails());
  const fromHono = await hono.request('/me');

  if (password === DEMO_USER.password) {
    check('fastify', fromFastify.json().email === DEMO_USER.email, fromFastify.body);
    check('hono', (await fromHono.json()).email === DEMO_USER.email, fromHono.status);
  } else {
    const body = fromFastify.body + (await fromHono.text());
    check('fastify', fromFastify.statusCode === 502, fromFastify.statusCode);
    check('hono', fromHono.status === 502, fromHono.status);
    check(
      'problem+json',
      fromFastify.headers['content-type'].startsWith('application/problem+json'),
      fromFastify.headers['content-type'],
    );
    check('no secret', !body.includes('wrong-password'), 'the password was in an answer');
  }
  await fastify.close();
}
await upstream.close();
console.log('frameworks consumer: ok');
