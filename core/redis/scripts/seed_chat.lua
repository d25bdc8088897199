-- seed_chat: (re)create a chat's hash from MySQL after Redis lost it.
-- KEYS[1] chat hash
-- ARGV[1] highest message number persisted (tombstones included), ARGV[2] "1" when the chat is deleted
-- Returns 1. The counter only grows and a deletion is never undone.
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(ARGV[1]) > seq then redis.call('HSET', KEYS[1], 'seq', ARGV[1]) end
if ARGV[2] == '1' or not redis.call('HGET', KEYS[1], 'deleted') then
  redis.call('HSET', KEYS[1], 'deleted', ARGV[2])
end
return 1
