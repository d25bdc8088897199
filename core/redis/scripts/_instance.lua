-- Shared helper, inlined by the loader where a script says `-- @include _instance.lua`.

-- Counters must never fall behind what the worker already persisted to MySQL. After a restart from
-- the AOF (which can miss the last second of writes) or a failover to a replica that lagged, a
-- counter key can exist yet be behind MySQL. Every counter hash remembers the run id of the Redis
-- instance that validated it ('r'); a different run id means "re-seed from MySQL before use".
local function instance_id()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
end
