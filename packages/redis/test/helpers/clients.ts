import { Redis } from 'ioredis';
import { createClient } from 'redis';

/** The client libraries the store is tested on. */
export const libraries = ['ioredis', 'node-redis'] as const;
export type Library = (typeof libraries)[number];

/** A client of one library, and how to drop it. */
export interface Connection {
  readonly redis: Redis | ReturnType<typeof createClient>;
  close(): void;
}

/**
 * Connects a client of `library` to `url`; with `wait: false` it returns at once and keeps
 * connecting in the background (for a Redis that is not there).
 */
export async function connect(library: Library, url: string, wait = true): Promise<Connection> {
  if (library === 'ioredis') {
    const redis = new Redis(url, { lazyConnect: true });
    redis.on('error', () => {});
    await settle(redis.connect(), wait);
    return { redis, close: () => redis.disconnect() };
  }
  const redis = createClient({ url });
  redis.on('error', () => {});
  await settle(redis.connect(), wait);
  return { redis, close: () => redis.isOpen && redis.destroy() };
}

async function settle(connecting: Promise<unknown>, wait: boolean): Promise<void> {
  if (wait) await connecting;
  else connecting.catch(() => {});
}
