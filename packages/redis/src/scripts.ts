// Lua run by EVAL. Every key a script touches is passed in KEYS and carries the same hash
// tag, so each script runs on one Cluster slot. Values are compared as strings.
//
// The token lives in a hash: `g` is the generation of the last accepted write and `v` the
// (possibly encrypted) token. Invalidation removes only `v`, so `g` keeps refusing a stale
// leader's late write until the old token's own expiry.

/** KEYS: token. → `[generation, value]`, each nil when absent. */
export const getScript = `return redis.call('HMGET', KEYS[1], 'g', 'v')`;

/** KEYS: fail. → the shared failure, or nil. */
export const getFailureScript = `return redis.call('GET', KEYS[1])`;

/**
 * KEYS: lock, gen, token, fail. ARGV: lease id, lock ttl (ms).
 * → the lease's generation, or 0 while another holder has the lock or a refusal is shared.
 *
 * The generation comes from INCR. It is lifted above the stored token's, in case the counter
 * was evicted, and to the Redis clock when the counter starts over (first use, or a Redis
 * that restarted empty): instances still remember generations from before, and a new
 * token must be newer than all of them.
 */
export const acquireScript = `
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local generation = redis.call('INCR', KEYS[2])
local floor = tonumber(redis.call('HGET', KEYS[3], 'g') or '0') + 1
if generation == 1 then
  local time = redis.call('TIME')
  local clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if clock > floor then floor = clock end
end
if generation < floor then
  generation = floor
  redis.call('SET', KEYS[2], string.format('%d', generation))
end
return generation
`;

/**
 * KEYS: token, lock, fail. ARGV: generation, lease id, value, token ttl (ms).
 * → 1 when written, 0 when the store already holds this or a newer generation.
 * The lock is released either way, if this lease still holds it.
 */
export const commitScript = `
local accepted = 0
if tonumber(redis.call('HGET', KEYS[1], 'g') or '0') < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'g', ARGV[1], 'v', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('DEL', KEYS[3])
  accepted = 1
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return accepted
`;

/**
 * KEYS: lock, fail. ARGV: lease id, [failure, failure ttl (ms)].
 * Shares a login refusal for its cooldown and releases the lock if this lease holds it.
 */
export const releaseScript = `
if ARGV[2] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/** KEYS: token. ARGV: generation. Drops the token only while it is still that generation. */
export const invalidateScript = `
if redis.call('HGET', KEYS[1], 'g') == ARGV[1] then return redis.call('HDEL', KEYS[1], 'v') end
return 0
`;
