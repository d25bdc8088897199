-- create_message: allocate the next message number of a chat and queue its creation.
-- KEYS[1] app hash (id, seq, v)
-- KEYS[2] chat hash (seq = last message number, deleted)
-- KEYS[3] stream shard of the application
-- KEYS[4] pending messages hash of the chat (number -> "version|json")
-- KEYS[5] idempotency record of this request
-- KEYS[6] pub/sub channel of the chat's live events
-- KEYS[7] rate limit hash of the application
-- KEYS[8] the chat's live event log (a short stream, for resuming with Last-Event-ID)
-- ARGV[1] token, ARGV[2] chat number, ARGV[3] body, ARGV[4] idempotency fingerprint ("" = none),
-- ARGV[5] idempotency TTL seconds
-- Returns {status, number, version, ms, stream id}; status OK | REPLAY | CONFLICT | NOAPP |
-- NOCHAT (the chat hash is missing though the number was handed out: seed it from MySQL) | NOTFOUND
-- ARGV[6] rate limit per minute (0 = off); refused: {RATELIMITED, ms until the next token}
-- ARGV[7] event log length, ARGV[8] event log TTL ms
-- @include _clock.lua
-- @include _ratelimit.lua
local app_id = redis.call('HGET', KEYS[1], 'id')
if not app_id then return {'NOAPP'} end
local allowed, _, wait = take_token(KEYS[7], ARGV[6])
if not allowed then return {'RATELIMITED', wait} end
local deleted = redis.call('HGET', KEYS[2], 'deleted')
if not deleted then
  if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return {'NOCHAT'} end
  return {'NOTFOUND'}
end
if deleted == '1' then return {'NOTFOUND'} end
local replay = idempotent_replay(KEYS[5], ARGV[4])
if replay then return replay end

local n = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local v, ms = next_version(KEYS[1])
local message = {number = n, chat_number = tonumber(ARGV[2]), body = ARGV[3],
  created_at = tonumber(ms), updated_at = tonumber(ms)}
redis.call('HSET', KEYS[4], n, v .. '|' .. cjson.encode(message))
local id = redis.call('XADD', KEYS[3], '*', 't', 'message.created', 'a', app_id, 'k', ARGV[1],
  'c', ARGV[2], 'n', n, 'v', v, 'ts', ms, 'u', ms, 'b', ARGV[3])
local json = cjson.encode(message)
redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[7], id, 'e', 'message.created', 'm', json)
redis.call('PEXPIRE', KEYS[8], ARGV[8])
redis.call('PUBLISH', KEYS[6], id .. '|message.created|' .. json)
remember(KEYS[5], ARGV[4], ARGV[5], n, v, ms)
return {'OK', n, v, ms, id}
