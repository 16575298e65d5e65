// The same kind of service for Bun and Deno (and, with its own entry, Workers): no Node
// server, only `app.fetch`. Options come from the environment (API_BASE_URL, …), read once
// at start-up. `bun src/portable.ts` · `deno run --allow-net --allow-env --allow-read src/portable.ts`
import { authMiddleware, problemDetails } from '@tokenfetch/hono';
import { Hono } from 'hono';

export const app = new Hono();
app.use(authMiddleware());
app.get('/me', async (c) => {
  const upstream = await c.var.apiFetch('/user/users/me');
  return c.json(await upstream.json(), upstream.status as 200);
});
app.onError(problemDetails());
