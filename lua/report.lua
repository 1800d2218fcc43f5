-- lua/report.lua: verdicts from the record (report), the auto() code they lead to (suggest).
local json = require "understudy.json"

local M = {}

local format = require "understudy.format"
local rules = require "understudy.rules"
local value, decode, orNull, cut, duration = format.value, format.decode, format.orNull, format.cut, format.duration


-- Write text wrapped at 80 columns (the terminal's width, when it is narrower);
-- continuation lines indented by indent.
local function say(text, indent)
  local width = math.min(80, format.width or 80)
  local lead = text:match("^%s*")
  local line, out = "", {}
  for word in text:gmatch("%S+") do
    if #line == 0 and #out == 0 then word = lead .. word end
    if #line > 0 and #line + 1 + #word > width then
      out[#out + 1] = line
      line = (indent or "") .. word
    else
      line = #line > 0 and line .. " " .. word or word
    end
  end
  out[#out + 1] = line
  io.write(table.concat(out, "\n"), "\n")
end

local function plural(n, one, many)
  return string.format("%d %s", n, n == 1 and one or (many or one .. "s"))
end

-- "kind", "kind and size", "inputs": what the answer was looked up by.
local function input_words(inputs_text)
  local v = decode(inputs_text)
  if type(v) ~= "table" or v[1] ~= nil then return "inputs" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == 0 then return "inputs" end
  table.sort(keys)
  if #keys == 1 then return keys[1] end
  return table.concat(keys, ", ", 1, #keys - 1) .. " and " .. keys[#keys]
end

-- Group rows of a query by pipeline and step.
local function by_step(rows)
  local out = {}
  for _, r in ipairs(rows) do
    local key = r.pipeline .. "\0" .. r.step
    out[key] = out[key] or {}
    table.insert(out[key], r)
  end
  return out
end

-- The code of a step that became auto, against what people answered for the same inputs: words, or nil.
local function code_check(s, checks)
  -- Per inputs: the code agrees when its latest output is one people gave.
  local agrees, order = {}, {}
  for _, c in ipairs(checks or {}) do
    local key = c.inputs or "null"
    if agrees[key] == nil then order[#order + 1] = c end
    agrees[key] = agrees[key] or c.agrees
  end
  local agreed, differ = 0, {}
  for _, c in ipairs(order) do
    if agrees[c.inputs or "null"] then agreed = agreed + 1 else differ[#differ + 1] = c end
  end
  if checks then s.check_agreed, s.check_differ = agreed, differ end
  if #differ > 0 then
    return string.format("the code disagrees with people for %s of %s",
      plural(#differ, "kind of inputs", "kinds of inputs"), plural(agreed + #differ, "recorded one"))
  elseif agreed > 0 then
    return string.format("the code agrees with people for all %s", plural(agreed, "recorded kind of inputs", "recorded kinds of inputs"))
  end
  return nil
end

-- Decide one step's verdict, with a reason people can read.
local function judge(s, conflicts, checks, min_runs)
  local n = s.manual_answers
  if s.audits_disagreed and s.audits_disagreed > 0 then
    return string.format("drift: %d of the last %d audits disagreed", s.audits_disagreed, s.audits),
      string.format("the latest: for %s the code answered %s, a person %s", cut(s.audit_inputs, 40),
        cut(s.audit_code, 20), cut(s.audit_answer, 20))
  end
  local mixed = s.recent_auto and s.recent_auto > 0 and s.recent_auto < s.recent_n
  if mixed or s.last_kind == "auto" then
    local check = code_check(s, checks)
    if mixed then
      -- Code with a fallback to people: automated, whatever the latest execution was.
      return "automated", string.format("code answered %d%% of the last %d, people the rest%s",
        math.floor(s.recent_auto * 100 / s.recent_n + 0.5), s.recent_n, check and "; " .. check or "")
    end
    local audited = s.audits and string.format("; all %s agreed", plural(s.audits, "audit")) or ""
    return "automated", (check or "its latest executions are auto") .. audited
  end
  if s.secret then
    local same = s.distinct_secrets == 1 and n > 1 and ", though its answers were all the same"
      or s.distinct_secrets > 1 and string.format(", and its answers differ (%d different)", s.distinct_secrets) or ""
    return "secret", "a secret answer is never automated from the record" .. same
  end
  if s.last_how == "candidate" then
    return "trusted: candidate answers", string.format(
      "its candidate answers alone, trusted after agreeing with people the last %s (%d of %d in all)",
      plural(s.streak, "time"), s.candidate_agreed, s.candidate_runs)
  end
  if s.agreement and s.agreement.disagree then
    return "people disagree", rules.agreement_words(s.agreement)
  end
  if s.candidate_runs > 0 and s.streak >= min_runs then
    return "ready: candidate", string.format("its candidate agreed with people the last %s (%d of %d in all)",
      plural(s.streak, "time"), s.candidate_agreed, s.candidate_runs)
  end
  if n < min_runs then
    return "too few runs", string.format("%s; at least %d needed", plural(n, "manual answer"), min_runs)
  end
  if conflicts then
    local groups, first = {}, nil
    for _, c in ipairs(conflicts) do
      groups[c.inputs or "null"] = true
      first = first or c.inputs
    end
    local parts, answers = {}, 0
    for _, c in ipairs(conflicts) do
      if c.inputs == first then
        answers = answers + 1
        if answers <= 3 then
          parts[#parts + 1] = string.format("%s (%s)", cut(c.output, 30), plural(c.n, "time"))
        end
      end
    end
    if answers > 3 then parts[#parts + 1] = string.format("%d more", answers - 3) end
    local count = 0
    for _ in pairs(groups) do count = count + 1 end
    return "varies", string.format("%s, different answers: %speople answered %s%s",
      first and "same inputs" or "no inputs to tell them apart", first and "for " .. cut(first, 40) .. " " or "", table.concat(parts, ", ", 1, #parts - 1) .. " and " .. parts[#parts],
      count > 1 and string.format(" (and %s more)", plural(count - 1, "kind of inputs", "kinds of inputs")) or "")
  end
  local rule = rules.find(s.groups or {})
  s.rule = rule
  if rule and rule.kind == "constant" then
    return "ready: constant", string.format("%s, always %s", plural(n, "answer"), cut(s.last_answer, 40))
  elseif rule and rule.kind == "lookup" then
    return "ready: lookup", string.format("%s over %s, always the same answer for the same %s; %s",
      plural(n, "answer"), plural(s.input_groups, "kind of inputs", "kinds of inputs"), input_words(s.last_inputs),
      rules.coverage_words(rule.coverage))
  elseif rule then
    return "ready: rule", string.format("%s over %s: %s; %s", plural(n, "answer"),
      plural(s.input_groups, "kind of inputs", "kinds of inputs"), rules.words(rule), rules.coverage_words(rule.coverage))
  end
  return "too few runs", string.format("%s, each for inputs not seen before: nothing repeats yet", plural(n, "answer"))
end

-- Ranked first: drift, then people who disagree; then what code would save (human time x the share it
-- would have answered right); then the rest.
local function tier(s)
  if s.verdict:match("^drift") then return 0 end
  if s.verdict == "people disagree" then return 1 end
  return 2
end

local function saves_ms(s)
  if s.verdict:match("^ready") and s.rule and s.rule.coverage.of > 0 then
    return math.floor(s.human_ms * s.rule.coverage.right / s.rule.coverage.of)
  elseif s.verdict:match("^ready") then
    return s.human_ms
  end
  return nil
end

-- Verdicts for every step of the report data, ranked (tier, saves_ms, human time); once per data.
local function analyse(data, min_runs)
  if data.analysed then return data.steps end
  local conflicts, checks = by_step(data.conflicts), by_step(data.checks)
  local disagreements, answers = by_step(data.disagreements), by_step(data.answers or {})
  for i, s in ipairs(data.steps) do
    local key = s.pipeline .. "\0" .. s.step
    s.human_rank = i
    s.conflicts = conflicts[key]
    s.disagreement = disagreements[key] and disagreements[key][1]
    s.groups = rules.groups(answers[key] or {})
    s.agreement = rules.agreement(answers[key] or {})
    s.verdict, s.reason = judge(s, conflicts[key], checks[key], min_runs)
    s.saves_ms = saves_ms(s)
  end
  -- Within a tier, what code would save; then human time, as the record gave it.
  table.sort(data.steps, function(a, b)
    if tier(a) ~= tier(b) then return tier(a) < tier(b) end
    if (a.saves_ms ~= nil) ~= (b.saves_ms ~= nil) then return a.saves_ms ~= nil end
    if a.saves_ms and a.saves_ms ~= b.saves_ms then return a.saves_ms > b.saves_ms end
    return a.human_rank < b.human_rank
  end)
  for i, s in ipairs(data.steps) do s.rank = i end
  data.analysed = true
  return data.steps
end

local function next_sentence(steps, several)
  local function name(s)
    return several and string.format("`%s` of %s", s.step, s.pipeline) or string.format("`%s`", s.step)
  end
  for _, s in ipairs(steps) do
    if s.verdict:match("^ready") then
      local why
      if s.verdict == "ready: constant" then
        why = "always the same answer (" .. cut(s.last_answer, 30) .. ")"
      elseif s.verdict == "ready: lookup" then
        why = "always the same answer for the same " .. input_words(s.last_inputs)
      elseif s.verdict == "ready: rule" then
        why = rules.words(s.rule)
      else
        why = s.reason
      end
      local saves = s.saves_ms and duration(s.saves_ms) ~= duration(s.human_ms)
        and string.format(" (the code would have saved %s)", duration(s.saves_ms)) or ""
      return string.format("Automate %s next: %s, %s, %s of human time so far%s.",
        name(s), plural(s.manual_answers, "answer"), why, duration(s.human_ms), saves)
    end
  end
  for _, s in ipairs(steps) do
    if s.manual_executions > 0 and s.verdict ~= "automated" and not s.verdict:match("^trusted") then
      return string.format("Nothing is ready to automate yet; %s has taken the most human time (%s): %s.",
        name(s), duration(s.human_ms), s.verdict)
    end
  end
  return "No manual step is waiting to be automated."
end

-- The report as --json and /api/report give it: a list, most human time first.
function M.report_table(data, min_runs)
  local steps = analyse(data, min_runs)
  local out = json.array()
  for i, s in ipairs(steps) do
    local conflicts = json.array()
    for _, c in ipairs(s.conflicts or {}) do
      conflicts[#conflicts + 1] = { inputs = value(c.inputs), output = value(c.output), count = c.n }
    end
    local differ = json.array()
    for _, c in ipairs(s.check_differ or {}) do
      differ[#differ + 1] = { inputs = value(c.inputs), auto_output = value(c.auto_output),
                              manual_output = value(c.manual_output) }
    end
    out[i] = {
      pipeline = s.pipeline, step = s.step, kind = s.last_kind, rank = i,
      executions = s.executions, manual_executions = s.manual_executions,
      auto_executions = s.auto_executions, distinct_outputs = s.distinct_outputs,
      input_groups = s.input_groups, verdict = s.verdict, reason = s.reason,
      human_ms = s.human_ms, median_human_ms = orNull(s.median_human_ms),
      answers_in_advance = s.advance_answers,
      last_answer = value(s.last_answer), last_operator = orNull(s.last_operator),
      candidate_agreement = s.candidate_runs > 0 and
        { agreed = s.candidate_agreed, runs = s.candidate_runs, streak = s.streak } or json.null,
      last_disagreement = s.disagreement and {
        inputs = value(s.disagreement.inputs), output = value(s.disagreement.output),
        candidate_output = value(s.disagreement.candidate_output),
        error = orNull(s.disagreement.error) } or json.null,
      conflicts = conflicts, disagreements = differ,
      rule = s.rule and s.rule.kind ~= "lookup" and s.verdict:match("^ready") and rules.json(s.rule) or json.null,
      coverage = s.rule and s.verdict:match("^ready") and {
        answered = s.rule.coverage.answered, right = s.rule.coverage.right, wrong = s.rule.coverage.wrong,
        of = s.rule.coverage.of } or json.null,
      saves_ms = orNull(s.saves_ms),
      agreement = s.agreement and {
        operators = s.agreement.operators, pairs = s.agreement.pairs, agreed = s.agreement.agreed,
        share = s.agreement.share, kappa = orNull(s.agreement.kappa), inputs = orNull(s.agreement.items),
        own_pairs = s.agreement.self_pairs, own_agreed = s.agreement.self_agreed } or json.null,
      audits = s.audits and { audited = s.audits, disagreed = s.audits_disagreed,
        last_disagreement = s.audit_inputs and { inputs = value(s.audit_inputs), code = value(s.audit_code),
          answer = value(s.audit_answer) } or json.null } or json.null,
    }
  end
  return out, steps
end

function M.report(data, as_json, min_runs)
  local out, steps = M.report_table(data, min_runs)
  if as_json then
    io.write(json.encode(format.clean(out)), "\n")
    return
  end
  if #steps == 0 then
    io.write("No steps recorded yet.\n")
    return
  end
  local pipelines, several = {}, false
  for _, s in ipairs(steps) do pipelines[s.pipeline] = true end
  if next(pipelines, next(pipelines)) then several = true end
  -- A long verdict takes its room from the step's column: lines stay within 80 columns.
  local vw = 16
  for _, s in ipairs(steps) do vw = math.max(vw, #s.verdict) end
  local sw = math.max(10, 37 - vw)
  local fmt = "%-" .. sw .. "s %-" .. vw .. "s %6s %7s %6s %9s %9s\n"
  io.write(string.format(fmt, "STEP", "VERDICT", "MANUAL", "ANSWERS", "INPUTS", "HUMAN", "MEDIAN"))
  for _, s in ipairs(steps) do
    local name = several and (s.pipeline .. "/" .. s.step) or s.step
    io.write(string.format(fmt, cut(name, sw), s.verdict, s.manual_executions, s.distinct_outputs,
      s.input_groups, duration(s.human_ms), s.median_human_ms and duration(s.median_human_ms) or "-"))
  end
  io.write("\n")
  for _, s in ipairs(steps) do
    if s.verdict:match("^ready") or s.verdict:match("^trusted") or s.verdict == "varies" or s.verdict == "secret"
      or s.verdict == "people disagree" or s.verdict:match("^drift") or s.check_agreed or s.recent_n or s.audits then
      local name = several and (s.pipeline .. "/" .. s.step) or s.step
      say(string.format("%s: %s: %s.", name, s.verdict, s.reason), "  ")
      for _, c in ipairs(s.check_differ or {}) do
        say(string.format("  for %s the code answers %s, people answered %s",
          cut(c.inputs or "no inputs", 30), cut(c.auto_output, 20), cut(c.manual_output, 20)), "    ")
      end
    end
    if s.candidate_runs > 0 then
      local name = several and (s.pipeline .. "/" .. s.step) or s.step
      local d = s.disagreement
      say(string.format("%s: candidate agreed %d/%d%s.", name, s.candidate_agreed, s.candidate_runs,
        d and string.format("; last disagreement: for %s people answered %s, the candidate %s",
          cut(d.inputs or "no inputs", 30), cut(d.output or "(secret)", 20),
          d.candidate_output and cut(d.candidate_output, 20) or "failed") or ""), "  ")
    end
  end
  io.write("\n")
  say(next_sentence(steps, several))
end

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

-- A string as a Lua literal on one line (no backslash-newline).
local function quoted(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"):gsub("\r", "\\r"))
end

-- A Lua literal for a decoded JSON value: strings escaped, keys sorted, floats kept floats.
local function literal(v, indent)
  indent = indent or ""
  local t = type(v)
  if v == json.null then return "json.null" end
  if t == "string" then
    if v:find('"') and not v:find("[%c'\\]") then return "'" .. v .. "'" end
    return quoted(v)
  elseif t == "number" then
    if v == math.mininteger then return "math.mininteger" end
    if math.type(v) == "integer" then return string.format("%d", v) end
    for prec = 15, 17 do
      local s = string.format("%." .. prec .. "g", v)
      if tonumber(s) == v then
        if not s:find("[%.eEn]") then s = s .. ".0" end
        return s
      end
    end
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    if next(v) == nil then
      return (getmetatable(v) or {}).__jsontype == "array" and "json.array()" or "{}"
    end
    local inner, parts = indent .. "  ", {}
    if v[1] ~= nil then
      for _, item in ipairs(v) do parts[#parts + 1] = inner .. literal(item, inner) end
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do
        local key = k:match("^[%a_][%w_]*$") and not keywords[k] and k or "[" .. literal(k) .. "]"
        parts[#parts + 1] = inner .. key .. " = " .. literal(v[k], inner)
      end
    end
    return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. indent .. "}"
  end
  error("no Lua literal for a " .. t)
end
M.literal = literal

local function identifier(name)
  local id = name:gsub("[^%w_]", "_")
  if id:match("^%d") then id = "_" .. id end
  return id
end

-- The text of the candidate function defined at "file:first-last", or nil.
local function candidate_code(source)
  local file, first, last = source:match("^(.*):(%d+)%-(%d+)$")
  local f = file and io.open(file)
  if not f then return nil end
  local lines, n = {}, 0
  for line in f:lines() do
    n = n + 1
    if n >= tonumber(first) then lines[#lines + 1] = line end
    if n >= tonumber(last) then break end
  end
  f:close()
  local text = table.concat(lines, "\n")
  local _, at = text:find("candidate%s*=%s*function%f[^%w_]")
  local start = at and at - 7 or text:find("%f[%w_]function%f[^%w_]")
  if not start then return nil end
  text = text:sub(start):gsub("^function%s+[%w_%.]+%s*%(", "function(")
  -- The function ends at the first "end" that closes it: the first prefix that compiles.
  local pos = 1
  while true do
    local _, e = text:find("%f[%w_]end%f[^%w_]", pos)
    if not e then return nil end
    local code = text:sub(1, e)
    if load("return " .. code, "=candidate") then return code, source end
    pos = e + 1
  end
end

-- The expression that reads inputs' key in the generated code.
local function field(key)
  if key:match("^[%a_][%w_]*$") and not keywords[key] then return "inputs." .. key end
  return "inputs[" .. literal(key) .. "]"
end

-- The body of a rule's function: answers where the rule knows, else falls through to a person.
local function rule_code(r)
  local lines = {}
  local function add(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
  local function answer(text, indent)
    add("%sreturn auto(name, function() return %s end, { inputs = inputs })", indent, literal(decode(text), indent))
  end
  local var = r.kind == "threshold" and "x" or "v"
  add("  local %s = nil", var)
  add("  if type(inputs) == \"table\" then")
  add("    %s = %s", var, field(r.key))
  add("  end")
  if r.kind == "threshold" then
    add("  if math.type(x) then")
    add("    if x >= %s then", literal(r.high_min))
    answer(r.high, "      ")
    add("    elseif x <= %s then", literal(r.low_max))
    answer(r.low, "      ")
    add("    end")
    add("  end")
    add("  -- Between the highest value seen with one answer and the lowest seen with the other,")
    add("  -- or without %s: a person decides.", r.key)
  else
    local answers = r.kind == "key" and r.answer or r.except
    local vs = {}
    for v in pairs(answers) do vs[#vs + 1] = v end
    table.sort(vs, function(a, b) return tostring(a) < tostring(b) end)
    local names = r.kind == "key" and "by_" or "except_"
    add("  local %s%s = {", names, identifier(r.key))
    for _, v in ipairs(vs) do
      local key = type(v) == "string" and v:match("^[%a_][%w_]*$") and not keywords[v] and v or "[" .. literal(v) .. "]"
      add("    %s = %s,", key, literal(decode(answers[v]), "    "))
    end
    add("  }")
    add("  if v ~= nil then")
    add("    local known = %s%s[v]", names, identifier(r.key))
    if r.kind == "exceptions" then
      add("    if known == nil then")
      add("      known = %s", literal(decode(r.usual), "      "))
      add("    end")
    end
    add("    if known ~= nil then")
    add("      return auto(name, function() return known end, { inputs = inputs })")
    add("    end")
    add("  end")
    add(r.kind == "key" and "  -- A value of %s not seen yet, or none: a person decides." or "  -- Without %s: a person decides.", r.key)
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Print the auto() code for a ready step; returns nil, why (with evidence) otherwise.
function M.suggest(data, pipeline, step, min_runs)
  local s
  for _, row in ipairs(analyse(data, min_runs)) do
    if row.step == step then s = row end
  end
  if not s then return nil, string.format("no step \"%s\" recorded in pipeline %s", step, pipeline), 2 end
  local head = string.format("-- Suggested by understudy for step %s of pipeline %s:\n-- %s: %s.\n",
    quoted(step), quoted(pipeline), s.verdict, (s.reason:gsub("\n", " ")))
  local id = identifier(step)
  local function wrapper(suffix, what)
    return string.format("-- %s\n", what),
      string.format("-- Put this before the step, then write %s_%s in place of manual\n", id, suffix),
      string.format("-- in the step's call; the call's arguments stay as they are:\n--   %s_%s(%s, ...)\n", id, suffix, quoted(step))
  end
  if s.verdict == "ready: constant" then
    local value = literal(decode(s.last_answer))
    io.write(head, string.format("-- Put this in place of the manual(%s, ...) call:\n", quoted(step)),
      string.format("auto(%s, function() return %s end)\n", quoted(step), value))
    return true
  elseif s.verdict == "ready: lookup" then
    local lines = { head, wrapper("lookup", "Known inputs are answered from the table; new ones still go to a person.") }
    lines[#lines + 1] = string.format("local %s_answers = {\n", id)
    local groups = {}
    for _, g in ipairs(s.groups) do groups[#groups + 1] = g end
    table.sort(groups, function(a, b) return (a.inputs or "") < (b.inputs or "") end)
    for _, g in ipairs(groups) do
      lines[#lines + 1] = string.format("  [%s] = %s,\n", literal(g.inputs or "null"), literal(decode(g.output), "  "))
    end
    lines[#lines + 1] = "}\n"
    lines[#lines + 1] = string.format([[
local function %s_lookup(name, instructions, opts)
  local inputs = opts and opts.inputs
  local known = %s_answers[json.encode(inputs)]
  if known == nil then
    return manual(name, instructions, opts)
  end
  return auto(name, function() return known end, { inputs = inputs })
end
]], id, id)
    io.write(table.concat(lines))
    return true
  elseif s.verdict == "ready: rule" then
    local a, b, c = wrapper("rule", "The rule answers where the record shows it; elsewhere a person still does.")
    io.write(head, a, b, c,
      string.format("local function %s_rule(name, instructions, opts)\n", id),
      "  local inputs = opts and opts.inputs\n",
      rule_code(s.rule),
      "  return manual(name, instructions, opts)\nend\n")
    return true
  end
  if s.verdict == "ready: candidate" then
    local code, from
    if s.candidate_source then
      code, from = candidate_code(s.candidate_source)
    end
    local lines = { head }
    if code then
      lines[#lines + 1] = string.format("-- The candidate's code (from %s) becomes the step's automation.\n", from)
    else
      lines[#lines + 1] = "-- The candidate's source was not found: the step's own candidate becomes its automation.\n"
      code = "opts.candidate"
    end
    local _, b, c = wrapper("auto", "")
    lines[#lines + 1] = b
    lines[#lines + 1] = c
    lines[#lines + 1] = string.format("local function %s_auto(name, instructions, opts)\n", id)
    lines[#lines + 1] = string.format("  return auto(name, %s, { inputs = opts and opts.inputs })\nend\n", code)
    io.write(table.concat(lines))
    return true
  end
  local why = { string.format("step \"%s\" is not ready to automate: %s: %s.", step, s.verdict, s.reason) }
  local conflicts = s.conflicts or {}
  if #conflicts > 0 then why[#why + 1] = "The record (inputs: answer, how often):" end
  for i, c in ipairs(conflicts) do
    if i > 20 then
      why[#why + 1] = string.format("  ... and %d more", #conflicts - 20)
      break
    end
    why[#why + 1] = string.format("  %s: %s (%s)", c.inputs or "no inputs", c.output, plural(c.n, "time"))
  end
  return nil, table.concat(why, "\n"), 1
end

return M
