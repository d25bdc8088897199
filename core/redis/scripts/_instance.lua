-- Shared helper, inlined by the loader where a script says `-- @include _instance.lua`.

-- Counters must never fall behind what the worker already persisted to MySQL. After a restart from
-- the AOF (which can miss the last second of writes) or a failover to a replica that lagged, a
-- counter key can exist yet be behind MySQL. Every counter hash remembers the run id of the Redis
-- instance that validated it ('r'); a different run id means "re-seed from MySQL before use".
local function instance_id()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
end

-- The application id and this instance's run id, or nil when the app hash is missing or was
-- validated by another instance (then the caller answers NOAPP and the API re-seeds it).
local function checked_app(app_key)
  local app = redis.call('HMGET', app_key, 'id', 'r')
  if not app[1] then return nil end
  local rid = instance_id()
  if app[2] ~= rid then return nil end
  return app[1], rid
end
