-- lua/doc.lua: the pipeline as a runbook a person can follow: its steps from the source and the record, as Markdown or HTML.
local json = require "understudy.json"
local check = require "understudy.check"
local format = require "understudy.format"
local report = require "understudy.report"

local M = {}

local duration = format.duration

-- The title and the words around it: the script's leading comment.
local function leading_comment(src, pipeline)
  local lines = {}
  for line in (src or ""):gmatch("([^\n]*)\n?") do
    local text = line:match("^%-%-(.*)$")
    if not (line == "" and #lines == 0) then   -- a #! line comes blank: the comment may start after it
      if not text or line:match("^%-%-%[") then break end
      lines[#lines + 1] = text:gsub("^ ", "", 1)
    end
  end
  local title = lines[1] and lines[1]:gsub("^[%w%./_%-]+%.lua:%s*", "", 1)
  if not title or title == "" then return "Pipeline " .. pipeline, nil end
  title = title:gsub("^%l", string.upper):gsub("%.$", "")
  while #lines > 1 and lines[2] == "" do table.remove(lines, 2) end
  while #lines > 1 and lines[#lines] == "" do table.remove(lines) end
  return title, #lines > 1 and table.concat(lines, "\n", 2) or nil
end

-- One value as the document shows it, in backquotes.
local function shown(v)
  if type(v) == "string" then return "`" .. v .. "`" end
  if type(v) == "table" then return "`" .. json.encode(v) .. "`" end
  return "`" .. tostring(v) .. "`"
end

local answer_words = {
  done = "done or not: Enter when done, `fail: why` when not",
  string = "text", number = "a number", boolean = "yes or no", json = "a JSON document",
}

-- The lines a step's options give: what the answer is, its default, its timeout, who else answers.
local function option_lines(call, o, out)
  local function add(s) out[#out + 1] = s end
  if call == "manual" then
    local kind = type(o.type) == "string" and o.type or (o.choices and "choice")
      or (o.default ~= nil and o.default ~= true and math.type(o.default) and "number")
      or (type(o.default) == "string" and "string") or (o.secret and "string") or "done"
    if type(o.choices) == "table" then
      local names = {}
      for _, c in ipairs(o.choices) do names[#names + 1] = shown(c) end
      add("Answer: one of " .. table.concat(names, ", "))
    elseif o.choices then
      add("Answer: one of the choices the script gives")
    elseif answer_words[kind] then
      add("Answer: " .. answer_words[kind])
    end
    if o.default ~= nil and o.default ~= true then add("Default: " .. shown(o.default)) end
    if o.default == true and o.type ~= "boolean" then add("Default: set by the script") end
    if math.type(o.timeout) then
      add(string.format("Timeout: %s s, then the default is taken", tostring(o.timeout)))
    elseif o.timeout then
      add("Timeout: set by the script")
    end
    if o.secret then add("Secret: typed unseen, never recorded") end
    if o.validate then add("Checked by the script's validate function; a wrong answer is asked again") end
    if o.candidate then
      add(math.type(o.trust) and string.format(
        "A candidate proposes an answer in the person's shadow; after %d agreements in a row it answers alone", o.trust)
        or "A candidate proposes an answer in the person's shadow")
    end
    if o.notify then add("Notifies a URL when it starts waiting") end
  else
    if math.type(o.retries) then add(string.format("Tries again up to %d times", o.retries)) end
    if type(o.audit) == "number" then
      add(string.format("A person checks %s%% of its answers (an audit)", tostring(o.audit * 100)))
    end
  end
end

-- The words of "alice (12), bob (3)".
local function operators(counts)
  local names = {}
  for name in pairs(counts) do names[#names + 1] = name end
  table.sort(names, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end)
  for i, name in ipairs(names) do names[i] = string.format("%s (%d)", name, counts[name]) end
  return table.concat(names, ", ")
end

-- The value at share p (0..1) of the sorted list, nearest rank.
local function percentile(sorted, p)
  if #sorted == 0 then return nil end
  local k = math.max(1, math.ceil(p * #sorted))
  return sorted[k]
end

--[[ The steps, in the order they run: those the latest complete run
recorded, in its order (loops once, with how many times), and between
them those of the source it did not reach, in source order. ]]
local function ordered_steps(source_steps, latest)
  local out, by_name = {}, {}
  local function entry(name)
    if not by_name[name] then
      by_name[name] = { name = name, times = 0 }
      out[#out + 1] = by_name[name]
    end
    return by_name[name]
  end
  local position = {}
  for i, s in ipairs(source_steps) do
    if not position[s.step] then position[s.step] = i end
  end
  local next_source = 1
  local function source_up_to(limit)
    while next_source <= #source_steps and next_source <= limit do
      local s = source_steps[next_source]
      local e = entry(s.step)
      e.source = e.source or s
      next_source = next_source + 1
    end
  end
  for _, r in ipairs(latest and latest.steps or {}) do
    if position[r.name] then source_up_to(position[r.name]) end
    local e = entry(r.name)
    e.times = e.times + 1
    e.run = e.run or r
  end
  source_up_to(#source_steps)
  for _, s in ipairs(source_steps) do
    local e = by_name[s.step]
    e.source = e.source or s
  end
  return out
end

-- The document, as blocks: { kind = "h1" | "h2" | "h3" | "p" | "pre" | "quote" | "list", text = or items = }.
local function blocks(a)
  local out = {}
  local function add(kind, text) out[#out + 1] = { kind = kind, text = text } end
  local title, intro = leading_comment(a.source, a.pipeline)
  add("h1", title)
  if intro then add("pre", intro) end
  local h = a.history
  local verdicts, complete, latest = {}, 0, h and h.latest
  if h then
    local _, steps = report.report_table(h.report, a.min_runs)
    for _, s in ipairs(steps) do verdicts[s.step] = s end
    for _, r in ipairs(h.runs) do
      if r.status == "ok" and not r.dry then complete = complete + 1 end
    end
  end
  local where = a.script and string.format("Pipeline `%s`, script `%s`.", a.pipeline, a.script)
    or string.format("Pipeline `%s`; its script was not found, so the steps come from the record alone.", a.pipeline)
  if not h or #h.runs == 0 then
    add("p", where .. " Never run: this document comes from the source alone.")
  else
    add("p", string.format("%s %s in the record%s; the steps as the latest complete one ran them.", where,
      complete == 1 and "1 complete run" or string.format("%d complete runs", complete),
      latest and string.format(" (run %d)", latest.id) or ""))
  end
  -- A step's manual executions: operators, human time.
  local people = {}
  for _, s in ipairs(h and h.manual or {}) do
    if s.how ~= "replay" and s.how ~= "dry" then
      local p = people[s.name] or { operators = {}, times = {}, last = nil }
      people[s.name] = p
      if s.operator and s.status == "ok" and s.how ~= "default" and s.how ~= "candidate" then
        p.operators[s.operator] = (p.operators[s.operator] or 0) + 1
      end
      if (s.how == "prompt" or s.how == "web" or s.how == "remote") and s.duration_ms then
        p.times[#p.times + 1] = s.duration_ms
      end
      if s.status == "ok" then p.last = s.started_at end
    end
  end
  add("h2", "Steps")
  local steps = ordered_steps(a.steps, latest)
  if #steps == 0 then add("p", "No step with a name written in the source, and no complete run to show one.") end
  for i, e in ipairs(steps) do
    local src, run, v = e.source, e.run, verdicts[e.name]
    local call = src and src.call or (run and run.kind) or "manual"
    local kind = call
    if call == "manual" and src and src.options.candidate then kind = "shadowed" end
    if v and v.verdict:match("^trusted") then kind = "trusted" end
    add("h3", string.format("%d. %s (%s)", i, e.name, kind))
    if call == "manual" then
      if src and src.instructions and src.instructions ~= "" then
        add("quote", src.instructions)
      elseif src and src.template then
        add("p", "The script writes its instructions as it runs, from its values in backquotes:")
        add("quote", src.template)
      elseif run and run.instructions and run.instructions ~= "" then
        add("p", "The script writes its instructions as it runs; the latest complete run asked:")
        add("quote", run.instructions)
      else
        add("p", "The script writes its instructions as it runs.")
      end
    end
    local items = {}
    if call == "auto" then items[#items + 1] = "Done by code" end
    option_lines(call, src and src.options or {}, items)
    if run and run.inputs then
      local inputs = format.value(run.inputs)
      if type(inputs) == "table" and inputs[1] == nil and next(inputs) then
        local keys = {}
        for k in pairs(inputs) do keys[#keys + 1] = "`" .. k .. "`" end
        table.sort(keys)
        items[#items + 1] = "Depends on: " .. table.concat(keys, ", ")
      end
    end
    if e.times > 1 then items[#items + 1] = string.format("Runs %d times in a run (a loop)", e.times) end
    if not src then items[#items + 1] = "Its name is made by the script as it runs" end
    if v then
      items[#items + 1] = string.format("Ran %s in all", v.executions == 1 and "once" or v.executions .. " times")
      local p = people[e.name]
      if p and next(p.operators) then items[#items + 1] = "Answered by " .. operators(p.operators) end
      if p and #p.times > 0 then
        table.sort(p.times)
        items[#items + 1] = string.format("A person's time: median %s, 90th percentile %s",
          duration(percentile(p.times, 0.5)), duration(percentile(p.times, 0.9)))
      end
      if a.dates and p and p.last then items[#items + 1] = "Last answered " .. format.when(p.last) end
      items[#items + 1] = string.format("Verdict: %s: %s", v.verdict, v.reason)
    end
    if #items > 0 then out[#out + 1] = { kind = "list", items = items } end
  end
  return out
end

-- Markdown: what a repository shows.
local function markdown(list)
  local out = {}
  for _, b in ipairs(list) do
    if b.kind == "h1" then out[#out + 1] = "# " .. b.text
    elseif b.kind == "h2" then out[#out + 1] = "## " .. b.text
    elseif b.kind == "h3" then out[#out + 1] = "### " .. b.text
    elseif b.kind == "p" or b.kind == "pre" then out[#out + 1] = b.text
    elseif b.kind == "quote" then out[#out + 1] = "> " .. b.text:gsub("\n", "\n> ")
    elseif b.kind == "list" then
      local items = {}
      for i, item in ipairs(b.items) do items[i] = "- " .. item end
      out[#out + 1] = table.concat(items, "\n")
    end
  end
  return table.concat(out, "\n\n") .. "\n"
end

local function escape(text)
  return (text:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

-- Inline text: escaped, `code` in <code>.
local function inline(text)
  return (escape(text):gsub("`([^`]*)`", "<code>%1</code>"))
end

local style = [[
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-bottom: .3em; }
blockquote { margin: .5em 0; padding: .3em 1em; border-left: 4px solid #7a9; background: #f4f8f5; white-space: pre-wrap; }
.intro { white-space: pre-wrap; color: #444; }
code { background: #f2f2f2; padding: 0 .2em; border-radius: 3px; }
ul { margin-top: .3em; }
]]

-- A page that stands alone: the same content, its style inline, nothing fetched.
local function html(list)
  local out = { "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">' }
  local title = list[1] and list[1].text or "Pipeline"
  out[#out + 1] = "<title>" .. escape(title) .. "</title>"
  out[#out + 1] = "<style>\n" .. style .. "</style>"
  out[#out + 1] = "</head>"
  out[#out + 1] = "<body>"
  for _, b in ipairs(list) do
    if b.kind == "h1" or b.kind == "h2" or b.kind == "h3" then
      out[#out + 1] = string.format("<%s>%s</%s>", b.kind, inline(b.text), b.kind)
    elseif b.kind == "p" then out[#out + 1] = "<p>" .. inline(b.text) .. "</p>"
    elseif b.kind == "pre" then out[#out + 1] = '<div class="intro">' .. inline(b.text) .. "</div>"
    elseif b.kind == "quote" then out[#out + 1] = "<blockquote>" .. inline(b.text) .. "</blockquote>"
    elseif b.kind == "list" then
      out[#out + 1] = "<ul>"
      for _, item in ipairs(b.items) do out[#out + 1] = "<li>" .. inline(item) .. "</li>" end
      out[#out + 1] = "</ul>"
    end
  end
  out[#out + 1] = "</body>"
  out[#out + 1] = "</html>"
  return table.concat(out, "\n") .. "\n"
end

--[[ The document of a pipeline: a = { pipeline, script (path or nil),
source (its text or nil), history (nil, or { report = report's data,
runs = newest first, latest = the latest complete run with its steps,
manual = every manual execution }), html, dates, min_runs }. ]]
function M.text(a)
  if a.script and not a.source then a.source = assert(check.source(a.script)) end
  a.steps = a.source and check.steps(a.source) or {}
  local list = blocks(a)
  return a.html and html(list) or markdown(list)
end

return M
