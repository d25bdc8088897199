-- Shared helpers, inlined by the loader where a script says `-- @include _event.lua`.

-- A stream event as the one value of its one field 'e' (core/events.ts parses it): every sink reads
-- every entry, and each field costs a string to write, replicate, read and decode.
-- "type|application id|token|chat|number|version|created ms|updated ms|deleted ms" (number and deleted
-- empty when they do not apply), then, when the event carries a text (a message's body, a chat's
-- name; none for a chat named null), '|' and the text as it is.
local function event_entry(type, app_id, token, chat, number, v, created, updated, deleted, text)
  local header = type .. '|' .. app_id .. '|' .. token .. '|' .. chat .. '|' .. (number or '') .. '|' .. v .. '|' ..
    created .. '|' .. updated .. '|' .. (deleted or '')
  if text then return header .. '|' .. text end
  return header
end
