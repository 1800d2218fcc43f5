-- lua/check.lua: what `understudy check` can tell without running a script: the option
-- tables written out in calls of manual() and auto(). A small scanner of Lua source
-- (strings, long brackets and comments skipped), not a parser: it reads what it is sure of.
local M = {}

-- The Lua source as tokens: { kind = "name" | "string" | "op", text =, line = }.
local function tokens(src)
  local out, i, line, n = {}, 1, 1, #src
  local function add(kind, text) out[#out + 1] = { kind = kind, text = text, line = line } end
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
      i = j + 1
    elseif c:match("[%a_]") then
      local word = src:match("^[%w_]+", i)
      add("name", word)
      i = i + #word
    elseif c:match("%d") then
      i = i + #src:match("^[%w%.]+", i)
    else
      local op = src:match("^[=~<>]=", i) or src:match("^%.%.%.?", i) or src:match("^::", i) or c
      add("op", op)
      i = i + #op
    end
  end
  return out
end

-- The literal option tables of manual()/auto() calls: one entry per key,
-- { call =, step = (nil when not a literal), key =, value = (a literal string, or nil), line = }.
function M.options(src)
  local toks, found = tokens(src), {}
  for k, t in ipairs(toks) do
    local prev = toks[k - 1]
    if t.kind == "name" and (t.text == "manual" or t.text == "auto") and toks[k + 1] and toks[k + 1].text == "("
      and not (prev and (prev.text == "." or prev.text == ":" or prev.text == "function")) then
      local step = toks[k + 2] and toks[k + 2].kind == "string" and toks[k + 2].text or nil
      local depth, arg, j = 0, 1, k + 1
      while toks[j] do
        local x = toks[j].text
        if toks[j].kind == "op" and (x == "(" or x == "{" or x == "[") then
          depth = depth + 1
          if depth == 2 and arg == 3 and x == "{" then
            -- The options table: keys written as name = value at its own depth.
            local d, m = 1, j + 1
            while toks[m] and d > 0 do
              local y = toks[m]
              if y.kind == "op" and (y.text == "(" or y.text == "{" or y.text == "[") then d = d + 1
              elseif y.kind == "op" and (y.text == ")" or y.text == "}" or y.text == "]") then d = d - 1
              elseif d == 1 and y.kind == "name" and toks[m + 1] and toks[m + 1].text == "="
                and toks[m - 1] and (toks[m - 1].text == "{" or toks[m - 1].text == "," or toks[m - 1].text == ";") then
                local v = toks[m + 2]
                found[#found + 1] = { call = t.text, step = step, key = y.text, line = y.line,
                  value = v and v.kind == "string" and toks[m + 3] and (toks[m + 3].text == "," or
                    toks[m + 3].text == "}" or toks[m + 3].text == ";") and v.text or nil }
              end
              m = m + 1
            end
          end
        elseif toks[j].kind == "op" and (x == ")" or x == "}" or x == "]") then
          depth = depth - 1
          if depth == 0 then break end
        elseif toks[j].kind == "op" and x == "," and depth == 1 then
          arg = arg + 1
        end
        j = j + 1
      end
    end
  end
  return found
end

-- The same, of the script at path (its first line skipped when it starts with #, as lua does).
function M.file(path)
  local f = assert(io.open(path, "rb"))
  local src = f:read("a"):gsub("^\xEF\xBB\xBF", "")
  f:close()
  if src:sub(1, 1) == "#" then src = src:gsub("^[^\n]*", "") end
  return M.options(src)
end

return M
