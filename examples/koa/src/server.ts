// The Koa twin of the Express example. With API_* set it talks to that API; with none it
// starts the mock upstream in-process.
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { authMiddleware, problemDetails, type AuthMiddlewareOptions } from '@tokenfetch/koa';
import Koa, { type Context } from 'koa';

const port = Number(process.env.PORT || 3000);
const configured = Object.keys(process.env).some((name) => name.startsWith('API_'));
const mock = configured ? undefined : await startMockUpstream();
const options: AuthMiddlewareOptions | undefined = mock && {
  baseUrl: mock.baseUrl,
  auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: DEMO_USER.orgs[0] ?? 1 },
};

/** Sends the upstream's answer on: status, content type and body. */
async function relay(ctx: Context, upstream: Response): Promise<void> {
  ctx.status = upstream.status;
  ctx.type = upstream.headers.get('content-type') ?? 'application/json';
  ctx.body = Buffer.from(await upstream.arrayBuffer());
}

const app = new Koa();
app.use(problemDetails());
app.use(authMiddleware(options));
app.use(async (ctx) => {
  const object = /^\/objects\/([^/]+)$/.exec(ctx.path);
  if (ctx.path === '/me') await relay(ctx, await ctx.apiFetch('/user/users/me'));
  else if (object?.[1]) await relay(ctx, await ctx.apiFetch(`/data/object/${object[1]}`));
});

const server = app.listen(port, () => {
  const where = mock ? `the mock upstream at ${mock.baseUrl}` : process.env.API_BASE_URL;
  console.log(`tokenfetch Koa example on http://localhost:${port}, calling ${where}`);
  console.log(`  try: curl localhost:${port}/me`);
  console.log(`       curl localhost:${port}/objects/42`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void mock?.close();
  });
}
