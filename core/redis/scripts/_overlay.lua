-- Shared helpers, inlined by the loader where a script says `-- @include _overlay.lua`.

-- The pending overlay: what was accepted but is not persisted in MySQL yet, read by GETs and lists.
-- One sorted set per chat (its messages) or per application (its chats), scored by number, whose
-- member is "version|<flag><text>" when the entity was created at its version's millisecond and
-- never changed, else "version|created_ms|updated_ms|<flag><text>"; flag '+' (text follows), '~'
-- (null text) or 'x' (deleted). A page is one range read and one entry a score read, whatever the
-- backlog; the text is held once (server/common/overlay.ts parses the same format).
local function overlay_get(key, n)
  return redis.call('ZRANGE', key, n, n, 'BYSCORE')[1]
end

-- created and updated are nil for a fresh create (both are the version's millisecond).
local function overlay_put(key, n, v, created, updated, flag, text)
  local times = ''
  if created then times = created .. '|' .. updated .. '|' end
  redis.call('ZREMRANGEBYSCORE', key, n, n)
  redis.call('ZADD', key, n, v .. '|' .. times .. flag .. (text or ''))
end

-- A number just allocated has no entry yet: no ZREMRANGEBYSCORE (the counter only grows, so an
-- entry of that number can only have come from this counter).
local function overlay_add_new(key, n, v, flag, text)
  redis.call('ZADD', key, n, v .. '|' .. flag .. (text or ''))
end

-- Returns version, created, updated (strings), flag, text.
local function overlay_decode(entry)
  local v, rest = string.match(entry, '^(%d+)|(.*)$')
  local created, updated, flag, text = string.match(rest, '^(%d+)|(%d+)|([+~x])(.*)$')
  if created then return v, created, updated, flag, text end
  local ms = string.format('%.0f', math.floor(tonumber(v) / 1000))
  return v, ms, ms, string.sub(rest, 1, 1), string.sub(rest, 2)
end
