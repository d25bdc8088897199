-- webhooks_claim: take due deliveries, leased to this worker until they are settled.
-- KEYS[1] ready: endpoints of the shard with their earliest due time (sorted set)
-- KEYS[2] jobs: deliveries of the shard by id (hash: id → JSON)
-- KEYS[3] queuePrefix: prefix of the endpoint queues (sorted sets of delivery ids by due time)
-- ARGV[1] now: milliseconds
-- ARGV[2] leaseMs: a claimed delivery is due again after this (its worker died, say)
-- ARGV[3] max: deliveries to take at most
-- ARGV[4] perEndpoint: deliveries to take at most per endpoint
-- ARGV[5..] busy: endpoint id, deliveries this worker may still start to it, … (endpoints it has in flight)
-- Returns endpoint id, delivery id, JSON, … A slow endpoint never holds the others: each endpoint
-- gives at most its share per claim, and the lease makes what a dead worker held due again.
local now, lease, max, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local free = {}
for i = 5, #ARGV, 2 do free[ARGV[i]] = tonumber(ARGV[i + 1]) end
local out, taken = {}, 0
for _, endpoint in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 500)) do
  if taken >= max then break end
  local room = math.min(free[endpoint] or per, max - taken)
  if room > 0 then
    local queue = KEYS[3] .. endpoint
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'LIMIT', 0, room)) do
      local job = redis.call('HGET', KEYS[2], id)
      if job then
        redis.call('ZADD', queue, now + lease, id)
        out[#out + 1] = endpoint
        out[#out + 1] = id
        out[#out + 1] = job
        taken = taken + 1
      else
        redis.call('ZREM', queue, id)
      end
    end
    local first = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
    if first[2] then redis.call('ZADD', KEYS[1], first[2], endpoint) else redis.call('ZREM', KEYS[1], endpoint) end
  end
end
return out
