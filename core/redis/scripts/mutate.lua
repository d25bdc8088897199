-- mutate: update or delete a chat or a message, queueing an event with its full new state.
-- KEYS[1] app: the application hash (id, seq, v, r)
-- KEYS[2] chat: the chat hash (seq = last message number, deleted, r)
-- KEYS[3] stream: the stream shard of the application
-- KEYS[4] overlay: the pending overlay of the entity's kind (chats of the app, or messages of the chat)
-- KEYS[5] channel: the pub/sub channel of the chat's live events
-- KEYS[6] eventLog: the chat's live event log (a short stream, for resuming with Last-Event-ID)
-- KEYS[7] watch: present while someone listens to the chat's live events
-- KEYS[8] instance: this instance's identity for the hash tag (see _instance.lua)
-- ARGV[1] token: the application token
-- ARGV[2] kind: chat | message
-- ARGV[3] action: updated | deleted
-- ARGV[4] chat: the chat number
-- ARGV[5] number: the entity's number (the chat number for a chat)
-- ARGV[6] hasValue: "1" when a new value is given ("0": a null name, or a delete)
-- ARGV[7] value: the new name or body
-- ARGV[8] persisted: the persisted state as JSON from MySQL, "" when not read yet, "gone" when MySQL has none
-- ARGV[9] logLength: events kept in the chat's event log
-- ARGV[10] logTtlMs: how long the event log lives
-- Returns {OK, version, state json, stream id} | {NEEDROW} (read MySQL, then call again with ARGV[8])
--   | {NOAPP} | {NOCHAT} (missing or stale hashes: seed them from MySQL) | {NOTFOUND}
-- @include _clock.lua
-- @include _overlay.lua
-- @include _instance.lua
-- @include _event.lua
local app_id, rid, last_v = checked_app(KEYS[1], KEYS[8])
if not app_id then return {'NOAPP'} end
local kind, action, chat = ARGV[2], ARGV[3], ARGV[4]
local number = tonumber(ARGV[5])

local chat_state = redis.call('HMGET', KEYS[2], 'deleted', 'r', 'seq')
if not chat_state[1] then
  if tonumber(chat) <= tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return {'NOCHAT'} end
  return {'NOTFOUND'}
end
if chat_state[1] == '1' then return {'NOTFOUND'} end
if chat_state[2] ~= rid then return {'NOCHAT'} end
if kind == 'message' and number > tonumber(chat_state[3] or '0') then return {'NOTFOUND'} end

local field = kind == 'chat' and 'name' or 'body'
local state
local pending = overlay_get(KEYS[4], number)
if pending then
  local _, created, updated, flag, text = overlay_decode(pending)
  if flag == 'x' then return {'NOTFOUND'} end
  state = {number = number, created_at = tonumber(created), updated_at = tonumber(updated)}
  if kind == 'message' then state.chat_number = tonumber(chat) end
  if flag == '~' then state[field] = cjson.null else state[field] = text end
elseif ARGV[8] == '' then
  return {'NEEDROW'}
elseif ARGV[8] == 'gone' then
  return {'NOTFOUND'}
else
  state = cjson.decode(ARGV[8])
end

local v, ms = next_version(KEYS[1], last_v)
local created = string.format('%.0f', state.created_at)
local deleted
if action == 'updated' then
  if ARGV[6] == '1' then state[field] = ARGV[7] else state[field] = cjson.null end
  state.updated_at = tonumber(ms)
else
  -- A delete carries the entity as it was; the overlay keeps a tombstone until it is persisted.
  deleted = ms
  if kind == 'chat' then redis.call('HSET', KEYS[2], 'deleted', 1) end
end
local has_value = state[field] ~= nil and state[field] ~= cjson.null
local entry = event_entry(kind .. '.' .. action, app_id, ARGV[1], chat, kind == 'message' and number or nil, v, created,
  string.format('%.0f', state.updated_at), deleted, has_value and state[field] or nil)
local updated = string.format('%.0f', state.updated_at)
if action == 'deleted' then
  overlay_put(KEYS[4], number, v, created, updated, 'x')
elseif has_value then
  overlay_put(KEYS[4], number, v, created, updated, '+', state[field])
else
  overlay_put(KEYS[4], number, v, created, updated, '~')
end
local id = redis.call('XADD', KEYS[3], '*', 'e', entry)
local json = cjson.encode(state)
if kind == 'message' and redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[9], id, 'e', 'message.' .. action, 'm', json)
  redis.call('PEXPIRE', KEYS[6], ARGV[10])
  redis.call('PUBLISH', KEYS[5], id .. '|message.' .. action .. '|' .. json)
end
return {'OK', v, json, id}
