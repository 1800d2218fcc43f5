-- lua/format.lua: what views.lua and report.lua both need: JSON columns as values, short text, durations.
local json = require "json"

local M = {}

-- A JSON column's text as a value; an absent column is json.null.
function M.value(text)
  if text == nil then return json.null end
  local ok, v = pcall(json.decode, text)
  if ok then return v end
  return text
end

function M.orNull(v)
  if v == nil then return json.null end
  return v
end

-- One line of text, cut to width with "...".
function M.cut(text, width)
  text = tostring(text or ""):gsub("[\r\n\t]", " ")
  if width and #text > width then text = text:sub(1, width - 3) .. "..." end
  return text
end

-- Time for people: 850 ms, 12.3 s, 4.2 min, 1.5 h ("" for none).
function M.duration(ms)
  if not ms then return "" end
  if ms < 1000 then return string.format("%d ms", ms) end
  if ms < 60000 then return string.format("%.1f s", ms / 1000) end
  if ms < 3600000 then return string.format("%.1f min", ms / 60000) end
  return string.format("%.1f h", ms / 3600000)
end

return M
