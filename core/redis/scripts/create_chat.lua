-- create_chat: allocate the next chat number of an application and queue its creation.
-- KEYS[1] app: the application hash (id, seq = last chat number, v = version clock, r = instance)
-- KEYS[2] stream: the stream shard of the application
-- KEYS[3] overlay: the pending overlay of the application's chats (sorted set, see _overlay.lua)
-- KEYS[4] idempotency: the idempotency record of this request (any name when none is used)
-- KEYS[5] chatPrefix: prefix of the chat hashes ("chat:{tag}:token:"); a chat's hash is it .. number
-- KEYS[6] rateLimit: the rate limit hash of the application
-- KEYS[7] instance: this instance's identity for the hash tag (see _instance.lua)
-- ARGV[1] token: the application token
-- ARGV[2] hasName: "1" when a name is given, "0" for a null name
-- ARGV[3] name: the name
-- ARGV[4] fingerprint: the idempotency fingerprint ("" = no idempotency key)
-- ARGV[5] idempotencyTtl: seconds an idempotency record lives
-- ARGV[6] ratePerMinute: the rate limit (0 = off)
-- Returns {status, number, version, ms, app id}; status OK | REPLAY | CONFLICT |
--   NOAPP (the app hash is missing or stale: seed it from MySQL);
--   refused by the rate limit: {RATELIMITED, ms until the next token}
-- @include _clock.lua
-- @include _ratelimit.lua
-- @include _overlay.lua
-- @include _instance.lua
-- @include _event.lua
local app_id, rid, last_v = checked_app(KEYS[1], KEYS[7])
if not app_id then return {'NOAPP'} end
local allowed, _, wait = take_token(KEYS[6], ARGV[6])
if not allowed then return {'RATELIMITED', wait} end
local replay = idempotent_replay(KEYS[4], ARGV[4])
if replay then return replay end

local n = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local v, ms = next_version(KEYS[1], last_v)
redis.call('HSET', KEYS[5] .. n, 'seq', 0, 'deleted', 0, 'r', rid)
if ARGV[2] == '1' then
  overlay_add_new(KEYS[3], n, v, '+', ARGV[3])
else
  overlay_add_new(KEYS[3], n, v, '~')
end
redis.call('XADD', KEYS[2], '*', 'e', event_entry('chat.created', app_id, ARGV[1], n, nil, v, ms, ms, nil, ARGV[2] == '1' and ARGV[3] or nil))
remember(KEYS[4], ARGV[4], ARGV[5], n, v, ms)
return {'OK', n, v, ms, app_id}
