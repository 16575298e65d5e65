// examples/hono's portable app, with what runtimes.mjs checks: a count of the global fetch's
// calls (tokenfetch must send through it off Node: core's `#platform` web build, not
// undici), and a route whose upstream never answers (its call must end when the client
// hangs up).
import { authMiddleware } from '@tokenfetch/hono';
import { app } from '../src/portable.js';

const realFetch = globalThis.fetch;
let fetchCalls = 0;
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  fetchCalls++;
  return realFetch(...args);
}) as typeof fetch;

app.get('/fetch-calls', (c) => c.json({ fetchCalls }));
app.get(
  '/hang',
  authMiddleware({ baseUrl: process.env.HANG_URL!, auth: { apiKey: 'k' } }),
  async (c) => c.body(null, (await c.var.apiFetch('/hang')).status as 200),
);

export default app;
