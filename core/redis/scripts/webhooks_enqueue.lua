-- webhooks_enqueue: queue deliveries of events to endpoints, due now.
-- KEYS[1] ready: endpoints of the shard with their earliest due time (sorted set)
-- KEYS[2] jobs: deliveries of the shard by id (hash: id → JSON)
-- KEYS[3] queuePrefix: prefix of the endpoint queues (sorted sets of delivery ids by due time)
-- ARGV[1] now: milliseconds
-- ARGV[2..] deliveries: endpoint id, delivery id, JSON, …
-- A delivery already queued is left as it is (a stream entry read twice must not reset its retries).
-- Returns how many were queued.
local queued = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[3] .. ARGV[i], ARGV[1], ARGV[i + 1])
    redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[i])
    queued = queued + 1
  end
end
return queued
