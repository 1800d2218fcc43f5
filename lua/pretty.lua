-- lua/pretty.lua: values as the REPL shows them: nested tables with sorted keys,
-- cycles marked, strings quoted, __tostring respected, long tables cut, lines wrapped.
local MAX_ITEMS = 100
local MAX_DEPTH = 12        -- deeper tables show as {...}
local MAX_SORTED = 10000    -- tables with more keys are shown unsorted

local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"):gsub("\r", "\\r"))
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

-- Keys in a stable order: numbers, then strings, then the rest; each sorted.
local rank = { number = 1, string = 2, boolean = 3 }
local function key_before(a, b)
  local ra, rb = rank[type(a)] or 4, rank[type(b)] or 4
  if ra ~= rb then return ra < rb end
  if ra <= 2 then return a < b end
  if ra == 3 then return tostring(a) < tostring(b) end
  return string.format("%p", a) < string.format("%p", b)   -- no __tostring runs
end

local render

-- The entries of t (raw: no metamethod runs): the array part first, then the other keys sorted.
local function entries(t, indent, width, seen)
  local items, n = {}, 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  for i = 1, math.min(n, MAX_ITEMS) do
    items[#items + 1] = render(rawget(t, i), indent, width, seen)
  end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  if #keys <= MAX_SORTED then table.sort(keys, key_before) end
  for _, k in ipairs(keys) do
    if #items >= MAX_ITEMS then break end
    local key = is_identifier(k) and k or "[" .. render(k, indent, width, seen) .. "]"
    items[#items + 1] = key .. " = " .. render(rawget(t, k), indent, width, seen)
  end
  local left = n + #keys - #items
  if left > 0 then items[#items + 1] = string.format("... (%d more)", left) end
  return items
end

function render(v, indent, width, seen)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__tostring") then
    local ok, s = pcall(tostring, v)
    return ok and tostring(s) or "<__tostring failed: " .. tostring(s) .. ">"
  end
  if seen[v] then return string.format("<cycle: table: %p>", v) end
  if #indent >= 2 * MAX_DEPTH then return "{...}" end
  seen[v] = true
  local items = entries(v, indent .. "  ", width, seen)
  seen[v] = nil
  if #items == 0 then return "{}" end
  local flat = "{ " .. table.concat(items, ", ") .. " }"
  if #indent + #flat <= width and not flat:find("\n") then return flat end
  -- Too wide: fill lines up to the width with the items, as a paragraph.
  local lines, line = {}, ""
  for _, item in ipairs(items) do
    local piece = item .. ","
    if line ~= "" and (#indent + 2 + #line + 1 + #piece > width or item:find("\n") or line:find("\n")) then
      lines[#lines + 1] = line
      line = piece
    else
      line = line == "" and piece or line .. " " .. piece
    end
  end
  lines[#lines + 1] = line
  return "{\n" .. indent .. "  " .. table.concat(lines, "\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

-- show(width, ...) -> the values as text, one after another.
return function(width, ...)
  local out = {}
  for i = 1, select("#", ...) do
    out[i] = render((select(i, ...)), "", width, {})
  end
  return table.concat(out, "\t")
end
