import type { RedisClientLike } from '@tokenfetch/redis';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { createClient as createClientV4, createCluster as createClusterV4 } from 'redis-v4';
import type { RedisCluster } from './redis-cluster.js';
import type { RedisSentinelGroup } from './redis-sentinel.js';

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
  await new Promise((resolve) => redis.once('ready', resolve));
  return { redis, close: () => redis.disconnect() };
}
