// Lua run by EVAL. Every key a script touches is passed in KEYS and carries the same hash
// tag, so each script runs on one Cluster slot.
//
// The token lives in a hash: `g` is the generation of the last accepted write and `v` the
// (possibly encrypted) token. Invalidation removes only `v`, so `g` keeps refusing a stale
// leader's late write until the old token's own expiry.
//
// Every key expires: the token with the token, the lock after `lockTtlMs`, a shared failure
// with its cooldown, and the generation counter with the longer of the lock it was issued
// under and the token committed under it. A counter that expired starts over from the Redis
// clock (see `acquireScript`), so a generation issued after it is still newer than any
// issued before: fencing does not need the counter to live for ever, only a Redis clock
// that does not go back and fewer than one login per millisecond.
//
// Any key may hold what no store wrote: a value someone edited, a key of another type, a
// key without the TTL every store write sets. A script reads such a value as absent and
// deletes or overwrites it, and never fails because of it: a script that failed after
// `SET NX` would leave the login lock to its TTL, and every instance would wait it out.

/**
 * Helpers every script starts with.
 *
 * `read` runs a read command and answers its string, or nil for a missing key or one of
 * another type (pcall: WRONGTYPE is an answer, not an error).
 *
 * `generation` is a generation as the store writes it: a decimal integer of at most 15
 * digits without leading zeros (far above the Redis clock in ms that generations start
 * from, and below 2^53, so JavaScript reads it exactly), or nil.
 *
 * `failure` is the code of the shared failure at `key`: a JSON object whose `code` looks
 * like `E_SOMETHING`, with a TTL. Anything else there is deleted and answers nil. Other
 * fields (`until`, and whatever a later version records) are left to the reader.
 *
 * `unlock` releases the lock at `key` if lease `id` still holds it (compare-and-delete).
 *
 * `honoured` says whether ARGV, from index `first` on, lists `code`.
 */
const helpers = `
local function read(...)
  local value = redis.pcall(...)
  if type(value) == 'string' then return value end
  return nil
end
local function generation(value)
  if type(value) ~= 'string' or #value > 15 or not string.match(value, '^[1-9]%d*$') then
    return nil
  end
  return tonumber(value)
end
local function failure(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then return nil end
  if kind == 'string' and redis.call('PTTL', key) > 0 then
    local ok, record = pcall(cjson.decode, redis.call('GET', key))
    if ok and type(record) == 'table' and type(record.code) == 'string'
      and #record.code <= 64 and string.match(record.code, '^E_[A-Z_]+$') then
      return record.code
    end
  end
  redis.call('DEL', key)
  return nil
end
local function unlock(key, id)
  if read('GET', key) == id then redis.call('DEL', key) end
end
local function honoured(code, first)
  for i = first, #ARGV do
    if ARGV[i] == code then return true end
  end
  return false
end
`;

/** KEYS: token. → `[generation, value, ttl (ms)]`; a key of another type is a miss (nil). */
export const getScript = `${helpers}
local reply = redis.pcall('HMGET', KEYS[1], 'g', 'v')
if type(reply) ~= 'table' or reply.err then return nil end
return { reply[1], reply[2], redis.call('PTTL', KEYS[1]) }
`;

/**
 * KEYS: fail. ARGV: the failure codes the caller knows.
 * → `[code, value, ttl (ms)]` of a failure the caller knows, or nil.
 */
export const getFailureScript = `${helpers}
local code = failure(KEYS[1])
if code == nil or not honoured(code, 1) then return nil end
return { code, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }
`;

/**
 * KEYS: lock, gen, token, fail. ARGV: lease id, lock ttl (ms), the failure codes the caller
 * knows. → the lease's generation, or 0 while another holder has the lock or a failure the
 * caller knows is shared. (A failure of a kind it does not know, recorded by a later
 * version, is kept for those that know it.)
 *
 * Everything is read, and bad values cleared, before `SET NX`: from there on nothing can
 * fail. The generation is the counter's plus one, lifted above the stored token's, in
 * case the counter was evicted, and to the Redis clock when the counter starts over
 * (first use, a counter that expired, a Redis that restarted empty, a counter that held
 * garbage): instances still remember generations from before, and a new token must be
 * newer than all of them. The counter lives as long as the lock, or the stored token if
 * that lives longer; the commit extends it to the new token's life.
 */
export const acquireScript = `${helpers}
local code = failure(KEYS[4])
if code ~= nil and honoured(code, 3) then return 0 end
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('DEL', KEYS[1]) end
local counter = generation(read('GET', KEYS[2]))
local stored = generation(read('HGET', KEYS[3], 'g'))
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local next = (counter or 0) + 1
local floor = (stored or 0) + 1
if next == 1 then
  local time = redis.call('TIME')
  local clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if clock > floor then floor = clock end
end
if next < floor then next = floor end
local keep = math.max(tonumber(ARGV[2]), redis.call('PTTL', KEYS[3]))
redis.call('SET', KEYS[2], string.format('%d', next), 'PX', keep)
return next
`;

/**
 * KEYS: token, lock, fail, gen. ARGV: generation, lease id, value, token ttl (ms).
 * → 1 when written, 0 when the store already holds this or a newer generation.
 * The lock is released either way, if this lease still holds it. A token key that is not
 * a hash, or whose generation is not one, is replaced. A written token's counter lives at
 * least as long as the token (a counter without a TTL, left by an earlier version, gets
 * one).
 */
export const commitScript = `${helpers}
local accepted = 0
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
if (generation(read('HGET', KEYS[1], 'g')) or 0) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'g', ARGV[1], 'v', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('DEL', KEYS[3])
  local left = redis.call('PTTL', KEYS[4])
  if left == -1 or (left >= 0 and left < tonumber(ARGV[4])) then
    redis.call('PEXPIRE', KEYS[4], ARGV[4])
  end
  accepted = 1
end
unlock(KEYS[2], ARGV[2])
return accepted
`;

/**
 * KEYS: lock, fail. ARGV: lease id, [failure, failure ttl (ms)].
 * Shares a login failure for its cooldown and releases the lock if this lease holds it.
 */
export const releaseScript = `${helpers}
if ARGV[2] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
unlock(KEYS[1], ARGV[1])
return 1
`;

/** KEYS: token. ARGV: generation. Drops the token only while it is still that generation. */
export const invalidateScript = `${helpers}
if read('HGET', KEYS[1], 'g') == ARGV[1] then return redis.call('HDEL', KEYS[1], 'v') end
return 0
`;
