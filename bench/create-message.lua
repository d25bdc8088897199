-- wrk: POST a JSON message to one of 50 chats, round-robin. Expects `wrk.path` to end in "/chats/".
local chats = 50
local counter = 0
request = function()
  counter = counter + 1
  local chat = (counter % chats) + 1
  local body = '{"body":"benchmark message number ' .. counter .. ' with a few words to index"}'
  return wrk.format("POST", wrk.path .. chat .. "/messages", { ["Content-Type"] = "application/json" }, body)
end
