-- seed_app: (re)create an application's hash from MySQL after Redis lost it (cold start, flush) or
-- after the instance changed (restart from the AOF, failover), when its counter may be behind MySQL.
-- KEYS[1] app: the application hash
-- KEYS[2] instance: this instance's identity for the hash tag (see _instance.lua)
-- ARGV[1] appId: the application id
-- ARGV[2] maxChat: the highest chat number persisted (tombstones included)
-- Returns 1. The counter only ever grows, so racing seeders and live creates are safe.
-- @include _instance.lua
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(ARGV[2]) > seq then redis.call('HSET', KEYS[1], 'seq', ARGV[2]) end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'r', instance_id(KEYS[2]))
return 1
