-- wrk: the same requests against the echo baseline (`wrk.path` ends in "/echo/").
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"body":"benchmark message number ' .. counter .. ' with a few words to index"}'
  return wrk.format("POST", wrk.path .. ((counter % 50) + 1), { ["Content-Type"] = "application/json" }, body)
end
