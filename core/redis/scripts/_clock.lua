-- Shared helpers, inlined by the loader where a script says `-- @include _clock.lua`.

-- A hybrid logical clock per application: microseconds from the Redis clock, forced to grow.
-- Every event's version comes from here, so the sinks can order any two events of one row.
-- It needs no seeding after a flush: the wall clock is already past every persisted version.
-- `last` is the app hash's 'v' as the caller already read it (checked_app).
local function next_version(app_key, last)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  last = tonumber(last or '0')
  if now <= last then now = last + 1 end
  local v = string.format('%.0f', now)
  redis.call('HSET', app_key, 'v', v)
  return v, string.format('%.0f', math.floor(now / 1000))
end

-- Idempotency: returns nil when the request is new, else the reply to give.
-- A record is "fingerprint|number|version|ms"; the fingerprint covers method, path and body.
local function idempotent_replay(idem_key, fingerprint)
  if fingerprint == '' then return nil end
  local record = redis.call('GET', idem_key)
  if not record then return nil end
  local fp, n, v, ms = string.match(record, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  if fp ~= fingerprint then return {'CONFLICT'} end
  return {'REPLAY', n, v, ms}
end

local function remember(idem_key, fingerprint, ttl, n, v, ms)
  if fingerprint == '' then return end
  redis.call('SET', idem_key, fingerprint .. '|' .. n .. '|' .. v .. '|' .. ms, 'EX', ttl)
end
