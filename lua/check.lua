-- lua/check.lua: what can be told of a script without running it: the calls of manual() and
-- auto(), their names, instructions and option tables as written out (for check, and for
-- doc). A small scanner of Lua source (strings, long brackets and comments skipped), not a
-- parser: it reads what it is sure of.
local M = {}

-- The Lua source as tokens: { kind = "name" | "string" | "op", text =, line = }.
local function tokens(src)
  local out, i, line, n = {}, 1, 1, #src
  -- from and to: where the token starts and ends in src (each kind sets its end).
  local function add(kind, text) out[#out + 1] = { kind = kind, text = text, line = line, from = i } end
  while i <= n do
    local c = src:sub(i, i)
    if c == "\n" then
      line, i = line + 1, i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif src:match("^%-%-", i) then
      local eq = src:match("^%-%-%[(=*)%[", i)
      local stop = eq and select(2, src:find("]" .. eq .. "]", i, true)) or src:find("\n", i, true) or n
      if eq then
        local _, lines = src:sub(i, stop):gsub("\n", "")
        line = line + lines
      end
      i = eq and stop + 1 or stop
    elseif src:match("^%[=*%[", i) then
      local eq = src:match("^%[(=*)%[", i)
      local stop = select(2, src:find("]" .. eq .. "]", i, true)) or n
      local body = src:sub(i, stop)
      add("string", body:match("^%[=*%[\n?(.-)%]=*%]$"))
      out[#out].to = stop
      line = line + select(2, body:gsub("\n", ""))
      i = stop + 1
    elseif c == '"' or c == "'" then
      local j, text = i + 1, {}
      while j <= n do
        local d = src:sub(j, j)
        if d == "\\" then
          text[#text + 1] = src:sub(j, j + 1)
          j = j + 2
        elseif d == c or d == "\n" then
          break
        else
          text[#text + 1] = d
          j = j + 1
        end
      end
      add("string", table.concat(text))
      out[#out].to = j
      i = j + 1
    elseif c:match("[%a_]") then
      local word = src:match("^[%w_]+", i)
      add("name", word)
      out[#out].to = i + #word - 1
      i = i + #word
    elseif c:match("%d") then
      local num = src:match("^0[xX][%x%.]+", i) or src:match("^%d*%.?%d*[eE][%+%-]?%d+", i) or src:match("^[%w%.]+", i)
      add("number", num)
      out[#out].to = i + #num - 1
      i = i + #num
    else
      local op = src:match("^[=~<>]=", i) or src:match("^%.%.%.?", i) or src:match("^::", i) or c
      add("op", op)
      out[#out].to = i + #op - 1
      i = i + #op
    end
  end
  return out
end

-- A literal value starting at toks[j] that ends before a , ; ) or }: a string, a number, true, false,
-- or a table of such; with the index past it. nil when it is anything else (an expression).
local function literal(toks, j)
  local t = toks[j]
  if not t then return nil, j end
  local v, nxt
  if t.kind == "string" then
    v, nxt = t.text, j + 1
  elseif t.kind == "number" then
    v, nxt = tonumber(t.text), j + 1
  elseif t.kind == "op" and t.text == "-" and toks[j + 1] and toks[j + 1].kind == "number" then
    v, nxt = tonumber(toks[j + 1].text), j + 2
    v = v and -v
  elseif t.kind == "name" and (t.text == "true" or t.text == "false") then
    v, nxt = t.text == "true", j + 1
  elseif t.kind == "op" and t.text == "{" then
    local list, k = {}, j + 1
    while toks[k] and toks[k].text ~= "}" do
      local item
      item, k = literal(toks, k)
      if item == nil then return nil, k end
      list[#list + 1] = item
      if toks[k] and (toks[k].text == "," or toks[k].text == ";") then k = k + 1 end
    end
    v, nxt = list, k + 1
  end
  local after = toks[nxt]
  if v == nil or not after or not (after.text == "," or after.text == ";" or after.text == ")" or after.text == "}") then
    return nil, nxt
  end
  return v, nxt
end

-- The tokens first..last split at the commas of their own depth: { {first, last}, ... }.
local function split_args(toks, first, last)
  local parts, depth, from = {}, 0, first
  for j = first, last do
    local x = toks[j]
    if x.kind == "op" and (x.text == "(" or x.text == "{" or x.text == "[") then depth = depth + 1
    elseif x.kind == "op" and (x.text == ")" or x.text == "}" or x.text == "]") then depth = depth - 1
    elseif x.kind == "op" and x.text == "," and depth == 0 then
      parts[#parts + 1] = { from, j - 1 }
      from = j + 1
    end
  end
  parts[#parts + 1] = { from, last }
  return parts
end

--[[ Instructions the script builds, as a person can read them: strings
joined with names ("Take " .. host .. " out") or string.format's
directives, the names and expressions in backquotes ("Take `host` out");
nil when the expression is anything else. ]]
local function template(src, toks, first, last)
  local function text(a, b) return src:sub(toks[a].from, toks[b].to):gsub("%s+", " ") end
  if last < first then return nil end
  if toks[first].kind == "name" and toks[first].text == "string" and toks[first + 1] and toks[first + 1].text == "."
    and toks[first + 2] and toks[first + 2].text == "format" and toks[first + 3] and toks[first + 3].text == "("
    and toks[last].text == ")" and toks[first + 4] and toks[first + 4].kind == "string" then
    local args = split_args(toks, first + 4, last - 1)
    local k, out = 1, toks[first + 4].text:gsub("%%(%%?)[-+ #0]*%d*%.?%d*(%a?)", function(pct, conv)
      if pct == "%" or conv == "" then return "%" end
      return "\0"
    end)
    out = out:gsub("%z", function()
      k = k + 1
      return args[k] and "`" .. text(args[k][1], args[k][2]) .. "`" or "..."
    end)
    return out
  end
  local parts, j = {}, first
  while j <= last do
    local t = toks[j]
    if t.kind == "string" then
      parts[#parts + 1] = t.text
      j = j + 1
    elseif t.kind == "name" then
      local k = j
      while toks[k + 1] and toks[k + 1].text == "." and toks[k + 2] and toks[k + 2].kind == "name" and k + 2 <= last do
        k = k + 2
      end
      parts[#parts + 1] = "`" .. text(j, k) .. "`"
      j = k + 1
    else
      return nil
    end
    if j <= last then
      if toks[j].text ~= ".." then return nil end
      j = j + 1
    end
  end
  return table.concat(parts)
end

local function opens(t) return t.kind == "op" and (t.text == "(" or t.text == "{" or t.text == "[") end
local function closes(t) return t.kind == "op" and (t.text == ")" or t.text == "}" or t.text == "]") end

--[[ Each call of manual() or auto(): { call =, line =, step = (the name when
it is a literal string), args = { {first, last} token ranges }, keys = {
{ key =, line =, at = the token where its value starts } } of the options
table when it is written out }. ]]
local function calls(toks)
  local found = {}
  for k, t in ipairs(toks) do
    local prev = toks[k - 1]
    if t.kind == "name" and (t.text == "manual" or t.text == "auto") and toks[k + 1] and toks[k + 1].text == "("
      and not (prev and (prev.text == "." or prev.text == ":" or prev.text == "function")) then
      local depth, j = 1, k + 2
      while toks[j] and depth > 0 do
        if opens(toks[j]) then depth = depth + 1 elseif closes(toks[j]) then depth = depth - 1 end
        j = j + 1
      end
      local c = { call = t.text, line = t.line, args = j - 2 >= k + 2 and split_args(toks, k + 2, j - 2) or {}, keys = {} }
      local name, opts = c.args[1], c.args[3]
      if name and name[1] == name[2] and toks[name[1]].kind == "string" then c.step = toks[name[1]].text end
      if opts and toks[opts[1]].text == "{" then
        -- Keys written as name = value at the table's own depth.
        local d = 0
        for m = opts[1], opts[2] do
          local y = toks[m]
          if opens(y) then d = d + 1
          elseif closes(y) then d = d - 1
          elseif d == 1 and y.kind == "name" and toks[m + 1] and toks[m + 1].text == "="
            and (toks[m - 1].text == "{" or toks[m - 1].text == "," or toks[m - 1].text == ";") then
            c.keys[#c.keys + 1] = { key = y.text, line = y.line, at = m + 2 }
          end
        end
      end
      found[#found + 1] = c
    end
  end
  return found
end

-- The literal option tables of manual()/auto() calls: one entry per key,
-- { call =, step = (nil when not a literal), key =, value = (a literal string, or nil), line = }.
function M.options(src)
  local toks, found = tokens(src), {}
  for _, c in ipairs(calls(toks)) do
    for _, k in ipairs(c.keys) do
      local v = literal(toks, k.at)
      found[#found + 1] = { call = c.call, step = c.step, key = k.key, line = k.line,
                            value = type(v) == "string" and v or nil }
    end
  end
  return found
end

--[[ The manual() and auto() calls with a literal step name, in the order of
the source: { call =, step =, line =, instructions = (a literal string, or
nil), template = (instructions the script builds, readable, or nil),
options = { key = literal value, or true when it is an expression } }. ]]
function M.steps(src)
  local toks, found = tokens(src), {}
  for _, c in ipairs(calls(toks)) do
    if c.step then
      local step = { call = c.call, step = c.step, line = c.line, options = {} }
      local text = c.args[2]
      if c.call == "manual" and text then
        step.instructions = literal(toks, text[1])
        if step.instructions == nil then step.template = template(src, toks, text[1], text[2]) end
      end
      for _, k in ipairs(c.keys) do
        local v = literal(toks, k.at)
        if v == nil then v = true end
        step.options[k.key] = v
      end
      found[#found + 1] = step
    end
  end
  return found
end

-- The source of the script at path: its first line blanked when it starts with #, as lua does.
function M.source(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local src = f:read("a"):gsub("^\xEF\xBB\xBF", "")
  f:close()
  if src:sub(1, 1) == "#" then src = src:gsub("^[^\n]*", "") end
  return src
end

-- The option tables of the script at path.
function M.file(path)
  return M.options(assert(M.source(path)))
end

return M
