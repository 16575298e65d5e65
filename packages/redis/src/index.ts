export { RedisTokenStore } from './redis-token-store.js';
export type { RedisTokenStoreOptions } from './options.js';
export type { IoRedisLike, NodeRedisLike, RedisClientLike } from './redis-client.js';
