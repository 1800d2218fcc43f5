-- lua/format.lua: what views.lua and report.lua both need: JSON columns as values, short text, durations.
local json = require "understudy.json"

local M = {}

-- A JSON column's text as a value; an absent column is json.null.
function M.value(text)
  if text == nil then return json.null end
  local ok, v = pcall(json.decode, text)
  if ok then return v end
  return text
end

-- The same, but an absent column stays nil.
function M.decode(text)
  if text == nil then return nil end
  return M.value(text)
end

-- An ISO time from the record (UTC) as people read it: in local time, with its zone
-- (TZ says which): 2026-11-28 11:19:07 CET; "" for none.
function M.when(iso)
  if not iso then return "" end
  local y, mo, d, h, mi, s = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return iso end
  -- os.time reads the fields as local time: correct by the zone's offset at that moment.
  local t = os.time({ year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                      hour = tonumber(h), min = tonumber(mi), sec = tonumber(s) })
  local utc = os.date("!*t", t)
  utc.isdst = os.date("*t", t).isdst
  t = t + (t - os.time(utc))
  return os.date("%Y-%m-%d %H:%M:%S %Z", t)
end

function M.orNull(v)
  if v == nil then return json.null end
  return v
end

-- Text with every byte that is not valid UTF-8 replaced by U+FFFD.
function M.clean_text(s)
  local out, pos = {}, 1
  while true do
    local ok, bad = utf8.len(s, pos)
    if ok then break end
    out[#out + 1] = s:sub(pos, bad - 1) .. "\u{FFFD}"
    pos = bad + 1
  end
  if pos == 1 then return s end
  out[#out + 1] = s:sub(pos)
  return table.concat(out)
end

-- A value with its strings (and string keys) made valid UTF-8, for JSON output.
function M.clean(v)
  if type(v) == "string" then return M.clean_text(v) end
  if type(v) ~= "table" or v == json.null then return v end
  local copy = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do copy[M.clean(k)] = M.clean(x) end
  return copy
end

-- One line of text, cut to width with "..." (never inside a UTF-8 character).
function M.cut(text, width)
  text = M.clean_text(tostring(text or "")):gsub("[\r\n\t]", " ")
  if width and #text > width then
    local n = width - 3
    while n > 0 and (text:byte(n + 1) or 0) >= 0x80 and (text:byte(n + 1) or 0) < 0xC0 do n = n - 1 end
    text = text:sub(1, n) .. "..."
  end
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
