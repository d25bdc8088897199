-- Shared helpers, inlined by the loader where a script says `-- @include _event.lua`.

-- A stream event's header, one field 'h' (core/events.ts parses it): every sink reads every entry,
-- and each field costs a string to write, replicate, read and decode; the text follows as 'b' or 'nm'.
-- "type|application id|token|chat|number|version|created ms|updated ms|deleted ms" (number and deleted
-- empty when they do not apply).
local function event_header(type, app_id, token, chat, number, v, created, updated, deleted)
  return type .. '|' .. app_id .. '|' .. token .. '|' .. chat .. '|' .. (number or '') .. '|' .. v .. '|' ..
    created .. '|' .. updated .. '|' .. (deleted or '')
end
