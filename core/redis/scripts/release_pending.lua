-- release_pending: forget overlay entries that the MySQL sink has persisted.
-- KEYS[1] pending hash (number -> "version|json")
-- ARGV pairs: number, persisted version. An entry is removed only when its version is not newer,
-- so a write accepted after the persisted one stays visible until it is persisted too.
-- Returns the number of entries removed.
local removed = 0
for i = 1, #ARGV, 2 do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry then
    local v = tonumber(string.match(entry, '^([^|]*)|'))
    if v <= tonumber(ARGV[i + 1]) then
      redis.call('HDEL', KEYS[1], ARGV[i])
      removed = removed + 1
    end
  end
end
return removed
