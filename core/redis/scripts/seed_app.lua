-- seed_app: (re)create an application's hash from MySQL after Redis lost it (cold start, flush).
-- KEYS[1] app hash
-- ARGV[1] application id, ARGV[2] highest chat number persisted (tombstones included)
-- Returns 1. The counter only ever grows, so racing seeders and live creates are safe.
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(ARGV[2]) > seq then redis.call('HSET', KEYS[1], 'seq', ARGV[2]) end
redis.call('HSET', KEYS[1], 'id', ARGV[1])
return 1
