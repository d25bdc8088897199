-- Shared helper, inlined by the loader where a script says `-- @include _instance.lua`.

-- Counters must never fall behind what the worker already persisted to MySQL. After a restart from
-- the AOF (which can miss the last second of writes) or a failover to a replica that lagged, a
-- counter key can exist yet be behind MySQL. Every counter hash remembers the identity of the Redis
-- instance that validated it ('r'); a different identity means "re-seed from MySQL before use".

-- This instance's identity, kept per hash tag in a marker key that is never written to the AOF nor
-- sent to replicas (REPL_NONE): a restarted instance or a promoted replica starts without it and
-- makes a new one. (It replaces INFO's run_id: a GET costs far less than INFO on every write.)
local function instance_id(marker)
  local id = redis.call('GET', marker)
  if id then return id end
  local t = redis.call('TIME')
  id = t[1] .. '.' .. t[2]
  redis.set_repl(redis.REPL_NONE)
  redis.call('SET', marker, id)
  redis.set_repl(redis.REPL_ALL)
  return id
end

-- The application id, this instance's identity and the app's version clock ('v'), or nil when the
-- app hash is missing or was validated by another instance (then the caller answers NOAPP and the
-- API re-seeds it).
local function checked_app(app_key, marker)
  local app = redis.call('HMGET', app_key, 'id', 'r', 'v')
  if not app[1] then return nil end
  local rid = instance_id(marker)
  if app[2] ~= rid then return nil end
  return app[1], rid, app[3]
end
