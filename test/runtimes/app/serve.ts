// The matrix's app on Bun or Deno, on a free port: prints `{"port":…,"runtime":…}` once it
// listens. The Hono example's portable app, or with TOKEN_STORE=redis the same app sharing
// its token through RedisTokenStore (REDIS_URL, REDIS_PREFIX; REDIS_CLIENT: ioredis, the
// default, or node-redis).
import { loadOptionsFromEnv } from '@tokenfetch/core';
import { countEvent, createApp, instrument } from './app.js';
import { app as portable } from '../../../examples/hono/src/portable.js';

interface Runtimes {
  Bun?: {
    version: string;
    serve(options: { port: number; hostname: string; fetch: Handler }): { port: number };
  };
  Deno?: {
    version: { deno: string };
    serve(
      options: { port: number; hostname: string; onListen(address: { port: number }): void },
      handler: Handler,
    ): unknown;
  };
}
type Handler = (request: Request) => Response | Promise<Response>;

const app = instrument(
  process.env.TOKEN_STORE === 'redis'
    ? createApp({ ...loadOptionsFromEnv(), store: await redisStore(), onEvent: countEvent })
    : portable,
);

const { Bun, Deno } = globalThis as Runtimes;
const ready = (port: number, runtime: string, version: string) =>
  console.log(JSON.stringify({ port, runtime, version }));
if (Bun !== undefined) {
  const { port } = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app.fetch });
  ready(port, 'bun', Bun.version);
} else if (Deno !== undefined) {
  const version = Deno.version.deno;
  Deno.serve(
    { port: 0, hostname: '127.0.0.1', onListen: ({ port }) => ready(port, 'deno', version) },
    app.fetch,
  );
} else {
  throw new Error('run me with bun or deno');
}

async function redisStore() {
  const { RedisTokenStore } = await import('@tokenfetch/redis');
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = process.env.REDIS_PREFIX ?? 'tokenfetch-matrix';
  if (process.env.REDIS_CLIENT === 'node-redis') {
    const { createClient } = await import('redis');
    const redis = await createClient({ url })
      .on('error', () => {})
      .connect();
    return new RedisTokenStore({ redis, prefix });
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  await new Promise((resolve) => redis.once('ready', resolve));
  return new RedisTokenStore({ redis, prefix });
}
