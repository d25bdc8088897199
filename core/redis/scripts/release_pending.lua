-- release_pending: forget overlay entries that the MySQL sink has persisted.
-- KEYS[1] overlay: a pending overlay (sorted set, see _overlay.lua)
-- ARGV[1..] pairs: number, persisted version, number, persisted version, …
-- An entry is removed only when its version is not newer, so a write accepted after the persisted
-- one stays visible until it is persisted too.
-- Returns the number of entries removed.
-- @include _overlay.lua
local removed = 0
for i = 1, #ARGV, 2 do
  local entry = overlay_get(KEYS[1], ARGV[i])
  if entry and tonumber(string.match(entry, '^(%d+)|')) <= tonumber(ARGV[i + 1]) then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[i], ARGV[i])
    removed = removed + 1
  end
end
return removed
