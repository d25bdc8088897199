-- Shared helpers, inlined by the loader where a script says `-- @include _overlay.lua`.

-- The pending overlay: what was accepted but is not persisted in MySQL yet, read by GETs and lists.
-- One sorted set per chat (its messages) or per application (its chats), scored by number, whose
-- member is "version|created_ms|updated_ms|<flag><text>": flag '+' (text follows), '0' (null
-- text) or 'x' (deleted). A page is one range read and one entry a score read, whatever the backlog,
-- and the text is held once (server/common/overlay.ts parses the same format).
local function overlay_get(key, n)
  return redis.call('ZRANGE', key, n, n, 'BYSCORE')[1]
end

local function overlay_put(key, n, v, created, updated, flag, text)
  redis.call('ZREMRANGEBYSCORE', key, n, n)
  redis.call('ZADD', key, n, v .. '|' .. created .. '|' .. updated .. '|' .. flag .. (text or ''))
end

-- Returns version, created, updated (strings), flag, text.
local function overlay_decode(entry)
  return string.match(entry, '^(%d+)|(%d+)|(%d+)|(.)(.*)$')
end
