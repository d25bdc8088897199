-- mutate: update or delete a chat or a message, queueing an event with its full new state.
-- KEYS[1] app hash (id, seq, v)
-- KEYS[2] chat hash (seq = last message number, deleted)
-- KEYS[3] stream shard of the application
-- KEYS[4] pending hash of the entity's kind (chats of the app, or messages of the chat)
-- KEYS[5] pub/sub channel of the chat's live events
-- KEYS[6] the chat's live event log (a short stream, for resuming with Last-Event-ID)
-- ARGV[1] token, ARGV[2] kind: chat | message, ARGV[3] action: updated | deleted,
-- ARGV[4] chat number, ARGV[5] entity number (= chat number for a chat),
-- ARGV[6] "1" when a new value is given, ARGV[7] the new name or body,
-- ARGV[8] the persisted state as JSON from MySQL, "" when not read yet, "gone" when MySQL has none
-- ARGV[9] event log length, ARGV[10] event log TTL ms
-- Returns {OK, version, state json, stream id} | {NEEDROW} (read MySQL, then call again with ARGV[8])
--   | {NOAPP} | {NOCHAT} | {NOTFOUND}
-- @include _clock.lua
local app_id = redis.call('HGET', KEYS[1], 'id')
if not app_id then return {'NOAPP'} end
local kind, action, chat = ARGV[2], ARGV[3], ARGV[4]
local number = tonumber(ARGV[5])

local deleted = redis.call('HGET', KEYS[2], 'deleted')
if not deleted then
  if tonumber(chat) <= tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return {'NOCHAT'} end
  return {'NOTFOUND'}
end
if deleted == '1' then return {'NOTFOUND'} end
if kind == 'message' and number > tonumber(redis.call('HGET', KEYS[2], 'seq') or '0') then
  return {'NOTFOUND'}
end

local state
local pending = redis.call('HGET', KEYS[4], number)
if pending then
  state = cjson.decode(string.match(pending, '^[^|]*|(.*)$'))
  if state.deleted then return {'NOTFOUND'} end
elseif ARGV[8] == '' then
  return {'NEEDROW'}
elseif ARGV[8] == 'gone' then
  return {'NOTFOUND'}
else
  state = cjson.decode(ARGV[8])
end

local v, ms = next_version(KEYS[1])
local field = kind == 'chat' and 'name' or 'body'
local fields = {'t', kind .. '.' .. action, 'a', app_id, 'k', ARGV[1], 'c', chat, 'v', v,
  'ts', string.format('%.0f', state.created_at)}
if kind == 'message' then table.insert(fields, 'n'); table.insert(fields, number) end
if action == 'updated' then
  if ARGV[6] == '1' then state[field] = ARGV[7] else state[field] = cjson.null end
  state.updated_at = tonumber(ms)
  table.insert(fields, 'u'); table.insert(fields, ms)
else
  -- A delete carries the entity as it was; the overlay keeps a tombstone until it is persisted.
  table.insert(fields, 'u'); table.insert(fields, string.format('%.0f', state.updated_at))
  table.insert(fields, 'd'); table.insert(fields, ms)
  if kind == 'chat' then redis.call('HSET', KEYS[2], 'deleted', 1) end
end
if state[field] ~= nil and state[field] ~= cjson.null then
  table.insert(fields, kind == 'chat' and 'nm' or 'b'); table.insert(fields, state[field])
end
local json = cjson.encode(state)
local overlay = state
if action == 'deleted' then
  overlay = {number = state.number, deleted = true}
end
redis.call('HSET', KEYS[4], number, v .. '|' .. cjson.encode(overlay))
local id = redis.call('XADD', KEYS[3], '*', unpack(fields))
if kind == 'message' then
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[9], id, 'e', 'message.' .. action, 'm', json)
  redis.call('PEXPIRE', KEYS[6], ARGV[10])
  redis.call('PUBLISH', KEYS[5], id .. '|message.' .. action .. '|' .. json)
end
return {'OK', v, json, id}
