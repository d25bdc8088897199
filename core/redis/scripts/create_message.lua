-- create_message: allocate the next message number of a chat and queue its creation.
-- KEYS[1] app: the application hash (id, seq, v, r)
-- KEYS[2] chat: the chat hash (seq = last message number, deleted, r)
-- KEYS[3] stream: the stream shard of the application
-- KEYS[4] overlay: the pending overlay of the chat (sorted set, see _overlay.lua)
-- KEYS[5] idempotency: the idempotency record of this request
-- KEYS[6] channel: the pub/sub channel of the chat's live events
-- KEYS[7] rateLimit: the rate limit hash of the application
-- KEYS[8] eventLog: the chat's live event log (a short stream, for resuming with Last-Event-ID)
-- KEYS[9] watch: present while someone listens to the chat's live events
-- KEYS[10] instance: this instance's identity for the hash tag (see _instance.lua)
-- ARGV[1] token: the application token
-- ARGV[2] chat: the chat number
-- ARGV[3] body: the message body
-- ARGV[4] fingerprint: the idempotency fingerprint ("" = no idempotency key)
-- ARGV[5] idempotencyTtl: seconds an idempotency record lives
-- ARGV[6] ratePerMinute: the rate limit (0 = off)
-- ARGV[7] logLength: events kept in the chat's event log
-- ARGV[8] logTtlMs: how long the event log lives
-- Returns {status, number, version, ms, stream id}; status OK | REPLAY | CONFLICT |
--   NOAPP (the app hash is missing or stale: seed it from MySQL) |
--   NOCHAT (the chat hash is missing or stale though the number was handed out: seed it) | NOTFOUND;
--   refused by the rate limit: {RATELIMITED, ms until the next token}
-- @include _clock.lua
-- @include _ratelimit.lua
-- @include _overlay.lua
-- @include _instance.lua
-- @include _event.lua
local app_id, rid, last_v = checked_app(KEYS[1], KEYS[10])
if not app_id then return {'NOAPP'} end
local allowed, _, wait = take_token(KEYS[7], ARGV[6])
if not allowed then return {'RATELIMITED', wait} end
local chat = redis.call('HMGET', KEYS[2], 'deleted', 'r')
if not chat[1] then
  if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return {'NOCHAT'} end
  return {'NOTFOUND'}
end
if chat[1] == '1' then return {'NOTFOUND'} end
if chat[2] ~= rid then return {'NOCHAT'} end
local replay = idempotent_replay(KEYS[5], ARGV[4])
if replay then return replay end

local n = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local v, ms = next_version(KEYS[1], last_v)
overlay_add_new(KEYS[4], n, v, '+', ARGV[3])
local id = redis.call('XADD', KEYS[3], '*', 'e', event_entry('message.created', app_id, ARGV[1], ARGV[2], n, v, ms, ms, nil, ARGV[3]))
-- Only a watched chat pays for the JSON, its event log and the publish.
if redis.call('EXISTS', KEYS[9]) == 1 then
  local json = cjson.encode({number = n, chat_number = tonumber(ARGV[2]), body = ARGV[3],
    created_at = tonumber(ms), updated_at = tonumber(ms)})
  redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[7], id, 'e', 'message.created', 'm', json)
  redis.call('PEXPIRE', KEYS[8], ARGV[8])
  redis.call('PUBLISH', KEYS[6], id .. '|message.created|' .. json)
end
remember(KEYS[5], ARGV[4], ARGV[5], n, v, ms)
return {'OK', n, v, ms, id}
