import { Redis } from 'ioredis';
import { Redis as RedisV6 } from 'ioredis-v6';
import { createClient } from 'redis';
import { createClient as createClientV4 } from 'redis-v4';
import { createClient as createClientV6 } from 'redis-v6';
import type { RedisClientLike } from '@tokenfetch/redis';

/**
 * The client libraries the store is tested on: the peer range's majors (`ioredis` and
 * `node-redis` are ioredis 5 and node-redis 5).
 */
export const libraries = [
  'ioredis',
  'ioredis v6',
  'node-redis',
  'node-redis v4',
  'node-redis v6',
] as const;
export type Library = (typeof libraries)[number];

/** A client of one library, and how to drop it. */
export interface Connection {
  readonly redis: RedisClientLike;
  close(): void;
}

/**
 * Connects a client of `library` to `url`; with `wait: false` it returns at once and keeps
 * connecting in the background (for a Redis that is not there).
 */
export async function connect(library: Library, url: string, wait = true): Promise<Connection> {
  switch (library) {
    case 'ioredis':
    case 'ioredis v6': {
      const options = { lazyConnect: true };
      const redis = library === 'ioredis' ? new Redis(url, options) : new RedisV6(url, options);
      redis.on('error', () => {});
      await settle(redis.connect(), wait);
      return { redis, close: () => redis.disconnect() };
    }
    case 'node-redis v4': {
      const redis = createClientV4({ url });
      redis.on('error', () => {});
      await settle(redis.connect(), wait);
      return { redis, close: () => redis.isOpen && void redis.disconnect().catch(() => {}) };
    }
    case 'node-redis': {
      const redis = createClient({ url });
      redis.on('error', () => {});
      await settle(redis.connect(), wait);
      return { redis, close: () => redis.isOpen && redis.destroy() };
    }
    case 'node-redis v6': {
      const redis = createClientV6({ url });
      redis.on('error', () => {});
      await settle(redis.connect(), wait);
      return { redis, close: () => redis.isOpen && redis.destroy() };
    }
  }
}

/** A node-redis client of any major that was never connected. */
export function unconnected(
  library: Exclude<Library, 'ioredis' | 'ioredis v6'>,
  url: string,
): RedisClientLike {
  if (library === 'node-redis v4') return createClientV4({ url });
  return library === 'node-redis' ? createClient({ url }) : createClientV6({ url });
}

async function settle(connecting: Promise<unknown>, wait: boolean): Promise<void> {
  if (wait) await connecting;
  else connecting.catch(() => {});
}
