import type { RedisClientLike } from '@tokenfetch/redis';
import { Cluster, Redis } from 'ioredis';
import { Redis as RedisV6 } from 'ioredis-v6';
import { createClient, createCluster } from 'redis';
import { createClient as createClientV4, createCluster as createClusterV4 } from 'redis-v4';
import { createClient as createClientV6 } from 'redis-v6';
import type { RedisCluster } from './redis-cluster.js';
import type { RedisSentinelGroup } from './redis-sentinel.js';

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

/** The Cluster clients the store is tested on. */
export const clusterLibraries = [
  'ioredis Cluster',
  'node-redis createCluster',
  'node-redis v4 createCluster',
] as const;
export type ClusterLibrary = (typeof clusterLibraries)[number];

/**
 * A connected Cluster client of `library`, made as the README's "Running a fleet" section
 * makes it (its defaults), and how to drop it.
 */
export async function clusterClient(
  library: ClusterLibrary,
  cluster: Pick<RedisCluster, 'rootNodes'>,
): Promise<{ redis: RedisClientLike; close(): void }> {
  if (library === 'ioredis Cluster') {
    const redis = new Cluster([...cluster.rootNodes]);
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    return { redis, close: () => redis.disconnect() };
  }
  const rootNodes = cluster.rootNodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` }));
  if (library === 'node-redis createCluster') {
    const redis = createCluster({ rootNodes });
    redis.on('error', () => {});
    await redis.connect();
    return { redis, close: () => redis.destroy() };
  }
  const redis = createClusterV4({ rootNodes });
  redis.on('error', () => {});
  await redis.connect();
  return { redis, close: () => void redis.disconnect().catch(() => {}) };
}

/**
 * A connected ioredis client of a Sentinel group, made as the README makes it:
 * `failoverDetector` on, so that it leaves a frozen master as soon as the sentinels switch.
 */
export async function sentinelClient(
  group: Pick<RedisSentinelGroup, 'sentinelAddresses' | 'name'>,
): Promise<{ redis: Redis; close(): void }> {
  const redis = new Redis({
    sentinels: [...group.sentinelAddresses],
    name: group.name,
    failoverDetector: true,
  });
  redis.on('error', () => {});
  // As the README does: ioredis 5.11 can end a Sentinel client for good when the sentinels'
  // switch lands while it is reconnecting; it is started again, unless it is being closed.
  let closing = false;
  redis.on('end', () => {
    if (!closing) redis.connect().catch(() => {});
  });
  await new Promise((resolve) => redis.once('ready', resolve));
  return {
    redis,
    close: () => {
      closing = true;
      redis.disconnect();
    },
  };
}
