// Serves runtime-app.ts on Bun or Deno, on a free port, for runtimes.mjs.
import app from './runtime-app.js';

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
