-- lua/rules.lua: the simple rules people's answers follow, what a rule would have answered, and how often people agree.
local json = require "understudy.json"

local M = {}

local decode = require("understudy.format").decode

-- The record of one step as groups of identical executions: { inputs = text, values = table|nil, output = text, n }.
function M.groups(answers)
  local by, out = {}, {}
  for _, a in ipairs(answers) do
    local key = (a.inputs or "") .. "\0" .. (a.output or "")
    local g = by[key]
    if not g then
      local v = decode(a.inputs)
      g = { inputs = a.inputs, values = type(v) == "table" and v[1] == nil and v or nil, output = a.output, n = 0 }
      by[key] = g
      out[#out + 1] = g
    end
    g.n = g.n + a.n
  end
  return out
end

-- The keys every group's inputs hold, with a scalar value (a number, text, a boolean), sorted.
local function common_keys(groups)
  local count, keys = {}, {}
  for _, g in ipairs(groups) do
    if not g.values then return {} end
    for k, v in pairs(g.values) do
      local t = type(v)
      if t == "number" or t == "string" or t == "boolean" then count[k] = (count[k] or 0) + 1 end
    end
  end
  for k, c in pairs(count) do
    if c == #groups then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- The answers, most frequent first (ties: in text order), with how many executions each.
local function outputs(groups)
  local n, list = {}, {}
  for _, g in ipairs(groups) do
    if not n[g.output] then list[#list + 1] = g.output end
    n[g.output] = (n[g.output] or 0) + g.n
  end
  table.sort(list, function(a, b)
    if n[a] ~= n[b] then return n[a] > n[b] end
    return a < b
  end)
  return list, n
end

-- Per value of key: the answers given, and how many executions. nil when a value got two answers.
local function by_value(groups, key)
  local answer, count = {}, {}
  for _, g in ipairs(groups) do
    local v = g.values[key]
    if answer[v] ~= nil and answer[v] ~= g.output then return nil end
    answer[v] = g.output
    count[v] = (count[v] or 0) + g.n
  end
  return answer, count
end

--[[ The kinds of rule, simplest first. Each finds its rule in the groups
(or nil), and says for one execution left out whether the rule refitted
without it would answer it: "right", "wrong" or nil (a person). ]]

-- Two answers split by one number: low answer up to low_max, high answer from high_min.
local function threshold_rules(groups, keys, list)
  if #list ~= 2 then return {} end
  local found = {}
  for _, key in ipairs(keys) do
    local stats, ok = {}, true
    for _, g in ipairs(groups) do
      local x = g.values[key]
      if math.type(x) == nil then ok = false break end
      local s = stats[g.output] or { min = x, max = x, n = 0, at_min = 0, at_max = 0 }
      stats[g.output] = s
      if x < s.min then s.min, s.at_min = x, 0 end
      if x > s.max then s.max, s.at_max = x, 0 end
      if x == s.min then s.at_min = s.at_min + g.n end
      if x == s.max then s.at_max = s.at_max + g.n end
      s.n = s.n + g.n
    end
    if ok then
      local a, b = stats[list[1]], stats[list[2]]
      local range = math.max(a.max, b.max) - math.min(a.min, b.min)
      local r
      if a.max < b.min then
        r = { kind = "threshold", key = key, low = list[1], high = list[2], low_max = a.max, high_min = b.min }
      elseif b.max < a.min then
        r = { kind = "threshold", key = key, low = list[2], high = list[1], low_max = b.max, high_min = a.min }
      end
      if r then
        -- The gap between the answers, as a share of the values' range: comparable between keys.
        r.stats, r.margin = stats, (r.high_min - r.low_max) / range
        found[#found + 1] = r
      end
    end
  end
  return found
end

-- Refitted without one execution of g, does the threshold still take in g's value?
local function threshold_loo(r, g)
  local x, s = g.values[r.key], r.stats[g.output]
  if s.n < 2 then return nil end
  if g.output == r.low and x == s.max and s.at_max == 1 then return nil end
  if g.output == r.high and x == s.min and s.at_min == 1 then return nil end
  return "right"
end

-- One key decides alone: a small table on its values, whatever the other keys say.
local function key_rules(groups, keys, list)
  local found = {}
  if #list < 2 then return found end
  for _, key in ipairs(keys) do
    local answer, count = by_value(groups, key)
    if answer then
      local values = 0
      for _ in pairs(answer) do values = values + 1 end
      -- It must tell apart fewer cases than the inputs do: else it is the lookup table itself.
      if values < #groups then
        found[#found + 1] = { kind = "key", key = key, answer = answer, count = count, values = values }
      end
    end
  end
  return found
end

local function key_loo(r, g)
  if r.count[g.values[r.key]] >= 2 then return "right" end
  return nil
end

-- One answer, except for named values of one key.
local function exception_rules(groups, keys, list)
  local found = {}
  if #list < 2 then return found end
  local usual = list[1]
  for _, key in ipairs(keys) do
    local answer, count = by_value(groups, key)
    if answer then
      local except, n_except, usual_values = {}, 0, 0
      for v, out in pairs(answer) do
        if out == usual then usual_values = usual_values + 1 else except[v] = out; n_except = n_except + 1 end
      end
      if usual_values >= 2 and n_except >= 1 and n_except < usual_values then
        found[#found + 1] = { kind = "exceptions", key = key, usual = usual, except = except, count = count,
                              n_except = n_except }
      end
    end
  end
  return found
end

local function exceptions_loo(r, g)
  local v = g.values[r.key]
  if r.except[v] ~= nil then
    if r.count[v] >= 2 then return "right" end
    return g.output == r.usual and "right" or "wrong"   -- unseen without it: the usual answer
  end
  return "right"
end

-- The same inputs, the same answer: a table of every inputs seen.
local function lookup_loo(r, g)
  if r.count[g.inputs or ""] >= 2 then return "right" end
  return nil
end

-- How complex a rule is to read: the values it names.
local function size(r)
  if r.kind == "constant" then return 1 end
  if r.kind == "threshold" then return 3 end
  if r.kind == "exceptions" then return 1 + 2 * r.n_except end
  if r.kind == "key" then return 2 * r.values end
  return 2 * r.inputs_seen
end

local loo = { threshold = threshold_loo, key = key_loo, exceptions = exceptions_loo, lookup = lookup_loo,
              constant = function() return "right" end }

-- Leave each execution out in turn: how many the rule would have answered, and answered right.
function M.coverage(rule, groups)
  local c = { answered = 0, right = 0, wrong = 0, of = 0 }
  local total = 0
  for _, g in ipairs(groups) do total = total + g.n end
  for _, g in ipairs(groups) do
    local said = total >= 2 and loo[rule.kind](rule, g) or nil
    c.of = c.of + g.n
    if said then
      c.answered = c.answered + g.n
      if said == "right" then c.right = c.right + g.n else c.wrong = c.wrong + g.n end
    end
  end
  return c
end

-- Is rule a better than b: simpler; then answering more; then a wider margin (beyond rounding); then found first.
local function better(a, b)
  if size(a) ~= size(b) then return size(a) < size(b) end
  if a.coverage.right ~= b.coverage.right then return a.coverage.right > b.coverage.right end
  if a.margin and b.margin and math.abs(a.margin - b.margin) > 1e-9 then return a.margin > b.margin end
  return a.order < b.order
end

--[[ The simplest rule that explains every answer and, left out in turn,
answers some of them and none wrongly; nil when there is none. The groups
must hold no conflict (the same inputs, two answers). ]]
function M.find(groups)
  local list = outputs(groups)
  if #list == 0 then return nil end
  if #list == 1 then
    local r = { kind = "constant", answer = list[1] }
    r.coverage = M.coverage(r, groups)
    return r
  end
  local keys = common_keys(groups)
  local candidates = {}
  for _, found in ipairs({ threshold_rules(groups, keys, list), exception_rules(groups, keys, list),
                           key_rules(groups, keys, list) }) do
    for _, r in ipairs(found) do candidates[#candidates + 1] = r end
  end
  local seen = {}
  for _, g in ipairs(groups) do seen[g.inputs or ""] = (seen[g.inputs or ""] or 0) + g.n end
  local n_inputs = 0
  for _ in pairs(seen) do n_inputs = n_inputs + 1 end
  candidates[#candidates + 1] = { kind = "lookup", count = seen, inputs_seen = n_inputs }
  local best
  for i, r in ipairs(candidates) do
    r.order = i
    r.coverage = M.coverage(r, groups)
    if r.coverage.right > 0 and r.coverage.wrong == 0 and (not best or better(r, best)) then best = r end
  end
  return best
end

-- A value as people read it in a sentence: text without quotes.
local function shown(text)
  local v = decode(text)
  if type(v) == "string" then return v end
  return text
end

-- A number as people read it: at most 12 significant digits (the code keeps it exact).
local function number(x)
  if math.type(x) == "integer" then return string.format("%d", x) end
  return (string.format("%.12g", x))
end

local function value_words(v)
  if type(v) == "number" then return number(v) end
  return tostring(v)
end

-- The values of a table, sorted as text, with their answers: "a -> x, b -> y".
local function pairs_words(answer, limit)
  local vs = {}
  for v in pairs(answer) do vs[#vs + 1] = v end
  table.sort(vs, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for i, v in ipairs(vs) do
    if i > limit then
      parts[#parts + 1] = string.format("%d more", #vs - limit)
      break
    end
    parts[#parts + 1] = value_words(v) .. " -> " .. shown(answer[v])
  end
  return table.concat(parts, ", ")
end

-- The rule in words.
function M.words(r)
  if r.kind == "constant" then
    return "always " .. shown(r.answer)
  elseif r.kind == "threshold" then
    return string.format("%s when %s >= %s, %s when %s <= %s; in between a person decides",
      shown(r.high), r.key, number(r.high_min), shown(r.low), r.key, number(r.low_max))
  elseif r.kind == "exceptions" then
    local parts = {}
    for v, out in pairs(r.except) do parts[#parts + 1] = string.format("%s when %s is %s", shown(out), r.key, value_words(v)) end
    table.sort(parts)
    return string.format("%s, except %s", shown(r.usual), table.concat(parts, ", "))
  elseif r.kind == "key" then
    return string.format("%s alone decides (%s)", r.key, pairs_words(r.answer, 4))
  end
  return "the same answer for the same inputs"
end

-- "would have answered 94% of the 50 answers, all correctly"
function M.coverage_words(c)
  local share = c.of > 0 and c.answered * 100 // c.of or 0   -- 100% only when it answered them all
  return string.format("left out in turn, the code would have answered %d%% of the %d answers (%d), %s",
    share, c.of, c.answered, c.wrong == 0 and "all correctly" or string.format("%d wrongly", c.wrong))
end

-- The rule as JSON for report --json.
function M.json(r)
  local out = { kind = r.kind, words = M.words(r) }
  if r.kind == "threshold" then
    out.key, out.low_max, out.high_min = r.key, r.low_max, r.high_min
    out.low, out.high = decode(r.low), decode(r.high)
  elseif r.kind == "key" or r.kind == "exceptions" then
    out.key = r.key
    local t = json.array()
    local answers = r.kind == "key" and r.answer or r.except
    for v, a in pairs(answers) do t[#t + 1] = { value = v, answer = decode(a) } end
    table.sort(t, function(a, b) return tostring(a.value) < tostring(b.value) end)
    if r.kind == "key" then out.answers = t else out.exceptions, out.usual = t, decode(r.usual) end
  elseif r.kind == "constant" then
    out.answer = decode(r.answer)
  end
  return out
end

--[[ People's agreement: executions by different operators for the same
inputs, compared pair by pair (and each person's own, to tell people who
disagree from answers that vary anyway); with two operators, Cohen's
kappa over the inputs both answered (each with the answer they gave
most). nil when no two people answered the same inputs. ]]
function M.agreement(answers)
  local by_inputs, order = {}, {}
  for _, a in ipairs(answers) do
    local key = a.inputs or ""
    if not by_inputs[key] then by_inputs[key] = {}; order[#order + 1] = key end
    local t = by_inputs[key]
    local who = a.operator or "?"
    t[who] = t[who] or {}
    t[who][a.output or "null"] = (t[who][a.output or "null"] or 0) + a.n
  end
  local pairs_n, agreed, people, self_pairs, self_agreed = 0, 0, {}, 0, 0
  for _, key in ipairs(order) do
    local ops = {}
    for who, answers_of in pairs(by_inputs[key]) do
      ops[#ops + 1] = who
      -- One person's answers to the same inputs, pair by pair: are they consistent themselves?
      local n = 0
      for _, k in pairs(answers_of) do
        self_agreed = self_agreed + k * (k - 1) // 2
        n = n + k
      end
      self_pairs = self_pairs + n * (n - 1) // 2
    end
    table.sort(ops)
    if #ops >= 2 then
      for i = 1, #ops do
        people[ops[i]] = true
        for j = i + 1, #ops do
          local a, b = by_inputs[key][ops[i]], by_inputs[key][ops[j]]
          local na, nb = 0, 0
          for out, n in pairs(a) do
            na = na + n
            agreed = agreed + n * (b[out] or 0)
          end
          for _, n in pairs(b) do nb = nb + n end
          pairs_n = pairs_n + na * nb
        end
      end
    end
  end
  if pairs_n == 0 then return nil end
  local names = {}
  for who in pairs(people) do names[#names + 1] = who end
  table.sort(names)
  local out = { operators = names, pairs = pairs_n, agreed = agreed, share = agreed / pairs_n,
                self_pairs = self_pairs, self_agreed = self_agreed }
  -- People disagree when they differ from one another while each answers the same inputs alike.
  out.disagree = agreed < pairs_n and self_agreed == self_pairs
  if #names == 2 then
    -- Cohen's kappa: each person's usual answer per inputs both answered.
    local function usual(t)
      local best, bn
      for o, n in pairs(t) do
        if not bn or n > bn or (n == bn and o < best) then best, bn = o, n end
      end
      return best
    end
    local items, same, ca, cb = 0, 0, {}, {}
    for _, key in ipairs(order) do
      local a, b = by_inputs[key][names[1]], by_inputs[key][names[2]]
      if a and b then
        local ua, ub = usual(a), usual(b)
        items = items + 1
        if ua == ub then same = same + 1 end
        ca[ua] = (ca[ua] or 0) + 1
        cb[ub] = (cb[ub] or 0) + 1
      end
    end
    local po, pe = same / items, 0
    for o, n in pairs(ca) do pe = pe + (n / items) * ((cb[o] or 0) / items) end
    out.items = items
    out.kappa = pe < 1 and (po - pe) / (1 - pe) or 1
  end
  return out
end

function M.agreement_words(a)
  local who = #a.operators == 2 and (a.operators[1] .. " and " .. a.operators[2])
    or string.format("%d people", #a.operators)
  local s = string.format("%s answered the same inputs: %d of %d pairs of answers agree (%d%%)", who, a.agreed,
    a.pairs, math.floor(a.share * 100 + 0.5))
  if a.kappa then s = s .. string.format(", Cohen's kappa %.2f", a.kappa) end
  return s
end

return M
