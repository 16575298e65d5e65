import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { createClient as createClientV4 } from 'redis-v4';

/** The client libraries the store is tested on: the peer range's majors. */
export const libraries = ['ioredis', 'node-redis', 'node-redis v4'] as const;
export type Library = (typeof libraries)[number];

/** A client of one library, and how to drop it. */
export interface Connection {
  readonly redis: Redis | ReturnType<typeof createClient> | ReturnType<typeof createClientV4>;
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
  if (library === 'node-redis') {
    const redis = createClient({ url });
    redis.on('error', () => {});
    await settle(redis.connect(), wait);
    return { redis, close: () => redis.isOpen && redis.destroy() };
  }
  const redis = createClientV4({ url });
  redis.on('error', () => {});
  await settle(redis.connect(), wait);
  return { redis, close: () => redis.isOpen && void redis.disconnect().catch(() => {}) };
}

/** A node-redis client of either major that was never connected. */
export function unconnected(
  library: Exclude<Library, 'ioredis'>,
  url: string,
): Connection['redis'] {
  return library === 'node-redis' ? createClient({ url }) : createClientV4({ url });
}

async function settle(connecting: Promise<unknown>, wait: boolean): Promise<void> {
  if (wait) await connecting;
  else connecting.catch(() => {});
}
