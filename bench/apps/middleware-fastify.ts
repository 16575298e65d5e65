/**
 * Scenario 2's app on Fastify 5: `GET /hello` answers a constant without any upstream call.
 * MIDDLEWARE=1 registers tokenfetch's plugin (it attaches `request.apiFetch` to every
 * request; the route never calls it); MIDDLEWARE=pass-through an empty `onRequest` hook,
 * what the plugin's own hook costs Fastify before any of tokenfetch's code runs.
 */
import tokenfetch from '@tokenfetch/fastify';
import Fastify from 'fastify';
import { profilingHandlers } from '../lib/profile.js';
import { serveIpc } from '../lib/taskset.js';
import { credentials } from './credentials.js';

const app = Fastify();
if (process.env.MIDDLEWARE === '1') {
  await app.register(tokenfetch, { baseUrl: process.env.BASE_URL!, auth: credentials });
} else if (process.env.MIDDLEWARE === 'pass-through') {
  app.addHook('onRequest', (_request, _reply, next) => next());
}
app.get('/hello', (_request, reply) => {
  void reply.type('application/json').send('{"hello":"world"}');
});

const url = await app.listen({ port: 0, host: '127.0.0.1' });
serveIpc(profilingHandlers(), { url: `${url}/hello` });
