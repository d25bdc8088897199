-- Shared rate limiter, inlined by the loader where a script says `-- @include _ratelimit.lua`.

-- Token bucket per application: `limit` requests per minute, refilled continuously, burst = limit.
-- Returns allowed (bool), remaining tokens, and ms until the next token (retry-after when refused).
-- A limit of 0 turns it off.
local function take_token(key, limit)
  limit = tonumber(limit)
  if limit == 0 then return true, -1, 0 end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or limit
  local at = tonumber(state[2]) or now
  local per_ms = limit / 60000
  tokens = math.min(limit, tokens + math.max(0, now - at) * per_ms)
  local allowed = tokens >= 1
  if allowed then tokens = tokens - 1 end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', string.format('%.0f', now))
  redis.call('PEXPIRE', key, 60000)
  local wait = 0
  if tokens < 1 then wait = math.ceil((1 - tokens) / per_ms) end
  return allowed, math.floor(tokens), wait
end
