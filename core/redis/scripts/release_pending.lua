-- release_pending: forget overlay entries that the MySQL sink has persisted.
-- KEYS[1] overlay: a pending overlay (sorted set, see _overlay.lua)
-- ARGV[1] persisted: "number:version" pairs joined by ",", the version each number was persisted at,
--   each pair written as the difference from the pair before it (the first from 0:0): a batch's
--   numbers and versions mostly climb by a little, and a difference is a few characters where a
--   version is sixteen, for the worker to write and for this script to parse
--   ("5:1795713979726933,1:1,1:3" is 5, 6 and 7 at ...933, ...934 and ...937). A difference may be negative.
-- An entry is removed only when its version is not newer, so a write accepted after the persisted
-- one stays visible until it is persisted too.
-- Returns the number of entries removed.
-- A batch's numbers are mostly consecutive (a chat's new messages): then range reads find every entry
-- (a window at a time, so a batch of long bodies never sits in the script's memory at once) and one
-- ZREMRANGEBYSCORE per run of removable entries drops them, instead of a read and a remove per number.
local version_of = function(entry) return tonumber(string.match(entry, '^(%d+)|')) end
local persisted, count, lo, hi = {}, 0, nil, nil
local n, v = 0, 0
for dn, dv in string.gmatch(ARGV[1], '(-?%d+):(-?%d+)') do
  -- Whole numbers below 2^53 (versions are microseconds): exact in Lua's doubles.
  n = n + tonumber(dn)
  v = v + tonumber(dv)
  persisted[n] = v
  count = count + 1
  if not lo or n < lo then lo = n end
  if not hi or n > hi then hi = n end
end
if count == 0 then return 0 end

local WINDOW = 256
local removed = 0
if hi - lo + 1 <= 2 * count then
  local first, last = nil, nil
  local function flush()
    if first then redis.call('ZREMRANGEBYSCORE', KEYS[1], first, last) end
    first = nil
  end
  local from = lo
  repeat
    local entries = redis.call('ZRANGE', KEYS[1], from, hi, 'BYSCORE', 'LIMIT', 0, WINDOW, 'WITHSCORES')
    for i = 1, #entries, 2 do
      local n = tonumber(entries[i + 1])
      local v = persisted[n]
      if v and version_of(entries[i]) <= v then
        if not first then first = n end
        last = n
        removed = removed + 1
      else
        flush()
      end
      from = '(' .. entries[i + 1]
    end
  until #entries < 2 * WINDOW
  flush()
  return removed
end

-- Scattered numbers (updates across a long backlog): one lookup each.
for n, v in pairs(persisted) do
  local entry = redis.call('ZRANGE', KEYS[1], n, n, 'BYSCORE')[1]
  if entry and version_of(entry) <= v then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], n, n)
    removed = removed + 1
  end
end
return removed
