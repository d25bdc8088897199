-- webhooks_settle: the outcome of one delivery attempt.
-- KEYS[1] ready: endpoints of the shard with their earliest due time (sorted set)
-- KEYS[2] jobs: deliveries of the shard by id (hash: id → JSON)
-- KEYS[3] stats: delivery counters of the shard (hash, read by /metrics)
-- KEYS[4] queuePrefix: prefix of the endpoint queues (sorted sets of delivery ids by due time)
-- ARGV[1] endpoint: the endpoint id
-- ARGV[2] id: the delivery id
-- ARGV[3] outcome: success | failure (retried) | dead_letter | dropped (the endpoint is gone)
-- ARGV[4] dueAt: milliseconds of the next attempt (failure only)
-- ARGV[5] job: the delivery's JSON for its next attempt (failure only)
-- ARGV[6..] counters: stats field, increment, … (outcomes, attempts, latency histogram)
-- Returns 1.
local queue = KEYS[4] .. ARGV[1]
if ARGV[3] == 'failure' then
  redis.call('ZADD', queue, ARGV[4], ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[5])
else
  redis.call('ZREM', queue, ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
for i = 6, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
local first = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
if first[2] then redis.call('ZADD', KEYS[1], first[2], ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1
