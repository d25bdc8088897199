-- rate_limit: take one request from an application's token bucket.
-- KEYS[1] rateLimit: the rate limit hash of the application
-- ARGV[1] perMinute: requests per minute (0 = off)
-- Returns {allowed 1/0, remaining, ms until the next token}
-- @include _ratelimit.lua
local allowed, remaining, wait = take_token(KEYS[1], ARGV[1])
return {allowed and 1 or 0, remaining, wait}
