-- lua/views.lua: the record as people read it (aligned tables) and as programs do (--json).
local json = require "understudy.json"

local M = {}

local format = require "understudy.format"
local value, orNull, cell, ms = format.value, format.orNull, format.cut, format.duration

local function agrees(v)
  if v == nil then return json.null end
  return v
end

local when = format.when

-- Print rows (lists of strings) under headers, columns aligned; on a terminal, within its
-- width: the widest columns give up room, their values cut with "...".
local function grid(headers, rows)
  local widths = {}
  for i, h in ipairs(headers) do widths[i] = #h end
  for _, row in ipairs(rows) do
    for i, c in ipairs(row) do
      if #c > widths[i] then widths[i] = #c end
    end
  end
  if format.width then
    local total = 2 * (#widths - 1)
    for _, w in ipairs(widths) do total = total + w end
    while total > format.width do
      local wide
      for i, w in ipairs(widths) do
        if w > math.max(8, #headers[i]) and (not wide or w > widths[wide]) then wide = i end
      end
      if not wide then break end
      widths[wide], total = widths[wide] - 1, total - 1
    end
    for _, row in ipairs(rows) do
      for i, c in ipairs(row) do
        if #c > widths[i] then row[i] = cell(c, widths[i]) end
      end
    end
  end
  local function line(row)
    local parts = {}
    for i, c in ipairs(row) do
      parts[i] = i == #row and c or c .. string.rep(" ", widths[i] - #c)
    end
    io.write((table.concat(parts, "  "):gsub("%s+$", "")), "\n")
  end
  line(headers)
  for _, row in ipairs(rows) do line(row) end
end

-- The notes people added to their answers, under the table: "  run/seq step (operator): note".
local function notes(steps, with_run)
  local first = true
  for _, s in ipairs(steps) do
    if s.note then
      if first then io.write("\nnotes\n"); first = false end
      local name = s.occurrence > 1 and (s.name .. " #" .. s.occurrence) or s.name
      io.write(string.format("  %s%d %s (%s): %s\n", with_run and (s.run .. "/") or "", s.seq, name,
        s.operator or "?", s.note))
    end
  end
end

-- The candidate's word on a step, when any step has one: its proposal and whether people agreed.
local function candidate_text(s)
  if s.how == "candidate" then return "answered" end
  if s.candidate_agrees == nil then return "" end
  local said = s.candidate_output and cell(s.candidate_output, 16) or "failed"
  return (s.candidate_agrees and "agreed " or "differed ") .. said
end

local function with_candidate(steps)
  for _, s in ipairs(steps) do
    if s.candidate_agrees ~= nil or s.how == "candidate" then return true end
  end
  return false
end

local function output_text(s)
  if s.secret then return "(secret)" end
  if s.status ~= "ok" then return s.error and cell(s.error:match("^[^\n]*"), 40) or "" end
  return cell(s.output, 40)
end

local function emit(v)
  io.write(json.encode(format.clean(v)), "\n")
end

-- What --json and the page's API give, as tables: runs, one run, waiting steps.
M.tables = {}

function M.tables.runs(rows)
  local out = json.array()
  for i, r in ipairs(rows) do
    out[i] = {
      id = r.id, pipeline = r.pipeline, status = r.status,
      started_at = r.started_at, finished_at = orNull(r.finished_at),
      steps = r.steps, resumed_from = orNull(r.resumed_from),
      operator = orNull(r.operator), host = orNull(r.host), script = orNull(r.script),
      error = orNull(r.error), dry = r.dry,
    }
  end
  return out
end

-- A run's status as a person reads it: a dry run says so.
local function status_words(r)
  return r.dry and r.status .. " (dry run)" or r.status
end

function M.runs(rows, as_json)
  if as_json then return emit(M.tables.runs(rows)) end
  local lines = {}
  for i, r in ipairs(rows) do
    lines[i] = { tostring(r.id), r.pipeline, status_words(r), when(r.started_at),
                 tostring(r.steps), r.operator or "", r.resumed_from and tostring(r.resumed_from) or "" }
  end
  grid({ "RUN", "PIPELINE", "STATUS", "STARTED", "STEPS", "OPERATOR", "RESUMED FROM" }, lines)
end

function M.tables.run(r)
  local steps = json.array()
  for i, s in ipairs(r.steps) do
    steps[i] = {
      seq = s.seq, name = s.name, occurrence = s.occurrence, kind = s.kind,
      how = s.how, status = s.status, inputs = value(s.inputs),
      output = value(s.output), error = orNull(s.error),
      duration_ms = orNull(s.duration_ms), candidate_output = value(s.candidate_output),
      candidate_agrees = agrees(s.candidate_agrees), secret = s.secret,
      replayable = s.replayable, operator = orNull(s.operator),
      started_at = orNull(s.started_at), finished_at = orNull(s.finished_at),
      note = orNull(s.note),
    }
  end
  return {
    id = r.id, pipeline = r.pipeline, status = r.status, error = orNull(r.error),
    resumed_from = orNull(r.resumed_from), script = orNull(r.script),
    script_hash = orNull(r.script_hash), args = value(r.args),
    operator = orNull(r.operator), host = orNull(r.host),
    started_at = r.started_at, finished_at = orNull(r.finished_at), steps = steps,
    logs = #r.logs > 0 and r.logs or json.array(), dry = r.dry,
  }
end

function M.show(r, as_json)
  if as_json then return emit(M.tables.run(r)) end
  io.write(string.format("run %d of %s: %s\n", r.id, r.pipeline, status_words(r)))
  io.write(string.format("script   %s %s\n", r.script or "", r.args or ""))
  io.write(string.format("operator %s on %s\n", r.operator or "?", r.host or "?"))
  io.write(string.format("started  %s", when(r.started_at)))
  if r.finished_at then io.write(string.format(", finished %s", when(r.finished_at))) end
  io.write("\n")
  if r.resumed_from then io.write(string.format("resumed from run %d\n", r.resumed_from)) end
  if r.error then io.write("error    ", (r.error:match("^[^\n]*")), "\n") end
  io.write("\n")
  local lines, cand = {}, with_candidate(r.steps)
  for i, s in ipairs(r.steps) do
    local name = s.occurrence > 1 and (s.name .. " #" .. s.occurrence) or s.name
    lines[i] = { tostring(s.seq), name, s.kind, s.how, s.status, output_text(s), ms(s.duration_ms) }
    if cand then lines[i][8] = candidate_text(s) end
  end
  grid({ "SEQ", "STEP", "KIND", "HOW", "STATUS", "VALUE", "TIME", cand and "CANDIDATE" or nil }, lines)
  notes(r.steps, false)
  if #r.logs > 0 then
    io.write("\nlog\n")
    for _, l in ipairs(r.logs) do
      io.write(string.format("  %s [%s] after step %d: %s\n", when(l.at), l.level, l.seq, l.message))
    end
  end
end

function M.history(rows, as_json)
  if as_json then
    local out = json.array()
    for i, s in ipairs(rows) do
      out[i] = {
        run = s.run, seq = s.seq, name = s.name, occurrence = s.occurrence,
        kind = s.kind, how = s.how, status = s.status, inputs = value(s.inputs),
        output = value(s.output), duration_ms = orNull(s.duration_ms),
        started_at = s.started_at, operator = orNull(s.operator), secret = s.secret,
        note = orNull(s.note), candidate_output = value(s.candidate_output),
        candidate_agrees = agrees(s.candidate_agrees),
      }
    end
    return emit(out)
  end
  local lines, cand = {}, with_candidate(rows)
  for i, s in ipairs(rows) do
    local name = s.occurrence > 1 and (s.name .. " #" .. s.occurrence) or s.name
    lines[i] = { tostring(s.run), tostring(s.seq), name, s.kind, s.how, s.status,
                 cell(s.inputs, 24), output_text(s), ms(s.duration_ms), s.operator or "" }
    if cand then lines[i][11] = candidate_text(s) end
  end
  grid({ "RUN", "SEQ", "STEP", "KIND", "HOW", "STATUS", "INPUTS", "VALUE", "TIME", "OPERATOR",
         cand and "CANDIDATE" or nil }, lines)
  notes(rows, true)
end

-- waiting: the steps waiting for a person, in any run of the history.
function M.tables.waiting(rows)
  local out = json.array()
  for i, w in ipairs(rows) do
    out[i] = {
      run = w.run, pipeline = w.pipeline, step = w.step, occurrence = w.occurrence,
      type = w.type, instructions = orNull(w.instructions), inputs = value(w.inputs),
      choices = value(w.choices), default = value(w.default), candidate = value(w.candidate),
      secret = w.secret, since = w.since, operator = orNull(w.operator), host = orNull(w.host),
    }
  end
  return out
end

function M.waiting(rows, as_json)
  if as_json then return emit(M.tables.waiting(rows)) end
  if #rows == 0 then
    io.stderr:write("no step is waiting for an answer\n")
    return
  end
  local lines = {}
  for i, w in ipairs(rows) do
    local name = w.occurrence > 1 and (w.step .. " #" .. w.occurrence) or w.step
    local kind = w.type
    if w.choices then kind = kind .. " " .. cell(w.choices, 30) end
    lines[i] = { tostring(w.run), w.pipeline, name, kind, w.default and cell(w.default, 20) or "",
                 when(w.since), w.operator or "" }
  end
  grid({ "RUN", "PIPELINE", "STEP", "TYPE", "DEFAULT", "WAITING SINCE", "STARTED BY" }, lines)
end

-- export: one step row, as a JSON line or a CSV record.
local export_columns = { "run", "pipeline", "seq", "name", "occurrence", "kind", "how", "status",
  "inputs", "output", "error", "secret", "replayable", "candidate_output", "candidate_agrees",
  "operator", "instructions", "started_at", "finished_at", "duration_ms", "run_status", "note" }

local function csv_field(v)
  if v == nil then return "" end
  if type(v) == "boolean" then return v and "1" or "0" end
  v = tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

function M.export(as_csv)
  if as_csv then
    io.write(table.concat(export_columns, ","), "\r\n")
    return function(s)
      local fields = {}
      for i, c in ipairs(export_columns) do fields[i] = csv_field(s[c]) end
      io.write(table.concat(fields, ","), "\r\n")
    end
  end
  return function(s)
    local row = {}
    for _, c in ipairs(export_columns) do row[c] = orNull(s[c]) end
    row.inputs, row.output, row.candidate_output = value(s.inputs), value(s.output), value(s.candidate_output)
    row.candidate_agrees = agrees(s.candidate_agrees)
    io.write(json.encode(format.clean(row)), "\n")
  end
end

return M
