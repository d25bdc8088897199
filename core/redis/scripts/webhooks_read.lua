-- webhooks_read: an application's webhook endpoints, as the registry holds them.
-- KEYS[1] registry: the application's webhook registry (hash: endpoint id → JSON, _v version, _r instance)
-- KEYS[2] instance: this instance's identity for the hash tag (see _instance.lua)
-- Returns the registry's fields and values (flat), or false when it is missing or was written under
-- another instance (a restart from the AOF, a failover): then the caller re-seeds it from MySQL.
-- @include _instance.lua
if redis.call('HGET', KEYS[1], '_r') ~= instance_id(KEYS[2]) then return false end
return redis.call('HGETALL', KEYS[1])
