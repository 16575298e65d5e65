// The Fastify twin of the Express example. With API_* set it talks to that API; with none
// it starts the mock upstream in-process, so `pnpm start` works on a fresh clone.
import tokenfetch, { type TokenfetchOptions } from '@tokenfetch/fastify';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import Fastify, { type FastifyReply } from 'fastify';

const port = Number(process.env.PORT || 3000);
const configured = Object.keys(process.env).some((name) => name.startsWith('API_'));
const mock = configured ? undefined : await startMockUpstream();
// No options: the plugin reads API_BASE_URL, API_EMAIL, … (a bad one fails register()).
const options: TokenfetchOptions = mock
  ? {
      baseUrl: mock.baseUrl,
      auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: DEMO_USER.orgs[0] ?? 1 },
    }
  : {};

/** Sends the upstream's answer on: status, content type and body. */
async function relay(reply: FastifyReply, upstream: Response): Promise<FastifyReply> {
  return reply
    .code(upstream.status)
    .type(upstream.headers.get('content-type') ?? 'application/json')
    .send(Buffer.from(await upstream.arrayBuffer()));
}

const app = Fastify();
await app.register(tokenfetch, options); // tokenfetch errors → application/problem+json

app.get('/me', async (request, reply) => relay(reply, await request.apiFetch('/user/users/me')));
app.get<{ Params: { id: string } }>('/objects/:id', async (request, reply) =>
  relay(reply, await request.apiFetch(`/data/object/${encodeURIComponent(request.params.id)}`)),
);

const address = await app.listen({ port });
const where = mock ? `the mock upstream at ${mock.baseUrl}` : process.env.API_BASE_URL;
console.log(`tokenfetch Fastify example on ${address}, calling ${where}`);
console.log(`  try: curl ${address}/me`);
console.log(`       curl ${address}/objects/42`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Closes the server, then the client the plugin made.
    void app.close().then(() => mock?.close());
  });
}
