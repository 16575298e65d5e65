// Serves examples/hono's portable app on Bun or Deno, on a free port, for runtimes.mjs.
// It counts the global fetch's calls first: tokenfetch must send through it on these
// runtimes (the `bun` / `deno` condition of core's `#platform`), not through undici.
const realFetch = globalThis.fetch;
let fetchCalls = 0;
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  fetchCalls++;
  return realFetch(...args);
}) as typeof fetch;

const { app } = await import('../src/portable.js');
const { authMiddleware } = await import('@tokenfetch/hono');
app.get('/fetch-calls', (c) => c.json({ fetchCalls }));
// A call to a server that never answers: it must be aborted when the client hangs up.
app.get(
  '/hang',
  authMiddleware({ baseUrl: process.env.HANG_URL!, auth: { apiKey: 'k' } }),
  async (c) => c.body(null, (await c.var.apiFetch('/hang')).status as 200),
);

interface Runtimes {
  Bun?: {
    serve(options: { port: number; hostname: string; fetch: typeof app.fetch }): { port: number };
  };
  Deno?: {
    serve(
      options: { port: number; hostname: string; onListen(address: { port: number }): void },
      handler: typeof app.fetch,
    ): unknown;
  };
}
const { Bun, Deno } = globalThis as Runtimes;
const ready = (port: number, runtime: string) => console.log(JSON.stringify({ port, runtime }));
if (Bun !== undefined) {
  ready(Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app.fetch }).port, 'bun');
} else if (Deno !== undefined) {
  Deno.serve(
    { port: 0, hostname: '127.0.0.1', onListen: ({ port }) => ready(port, 'deno') },
    app.fetch,
  );
} else {
  throw new Error('run me with bun or deno');
}
