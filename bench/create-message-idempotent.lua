-- wrk: like create-message.lua, with a fresh Idempotency-Key on every request.
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1000000))
request = function()
  counter = counter + 1
  local chat = (counter % 50) + 1
  local body = '{"body":"benchmark message number ' .. counter .. ' with a few words to index"}'
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. "-" .. counter }
  return wrk.format("POST", wrk.path .. chat .. "/messages", headers, body)
end
