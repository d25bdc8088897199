-- webhooks_seed: replace an application's webhook registry with what MySQL holds.
-- KEYS[1] registry: the application's webhook registry (see webhooks_read.lua)
-- KEYS[2] instance: this instance's identity for the hash tag (see _instance.lua)
-- ARGV[1] version: applications.webhooks_version the endpoints were read at
-- ARGV[2..] endpoints: endpoint id, JSON, endpoint id, JSON, …
-- Returns 1 when written, 0 when the registry already holds that version or a later one (seeders
-- race: the API after each change, workers on a miss; the highest version wins).
-- @include _instance.lua
local rid = instance_id(KEYS[2])
local held = redis.call('HMGET', KEYS[1], '_v', '_r')
if held[2] == rid and tonumber(held[1] or '-1') >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_v', ARGV[1], '_r', rid)
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
