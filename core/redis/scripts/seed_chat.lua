-- seed_chat: (re)create a chat's hash from MySQL after Redis lost it, or after the instance changed
-- (restart from the AOF, failover), when its counter may be behind MySQL.
-- KEYS[1] chat: the chat hash
-- KEYS[2] instance: this instance's identity for the hash tag (see _instance.lua)
-- ARGV[1] maxMessage: the highest message number persisted (tombstones included)
-- ARGV[2] deleted: "1" when the chat is deleted in MySQL
-- ARGV[3] known: "1" when MySQL has the chat
-- Returns 1, or 0 when neither Redis nor MySQL knows the chat. The counter only grows and a
-- deletion is never undone.
-- @include _instance.lua
local deleted = redis.call('HGET', KEYS[1], 'deleted')
if not deleted and ARGV[3] ~= '1' then return 0 end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(ARGV[1]) > seq then redis.call('HSET', KEYS[1], 'seq', ARGV[1]) end
if ARGV[2] == '1' or not deleted then redis.call('HSET', KEYS[1], 'deleted', ARGV[2]) end
redis.call('HSET', KEYS[1], 'r', instance_id(KEYS[2]))
return 1
