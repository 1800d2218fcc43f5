-- lua/serve.lua: the pages of understudy serve and their JSON API. host/serve.c keeps the door
-- (Host, tokens, origins, sizes) and offers the answers to the runners; here requests are routed,
-- forms read, and pages drawn: plain HTML that reads on a phone, SVG charts, a few lines of script.
local json = require "understudy.json"
local format = require "understudy.format"
local views = require "understudy.views"
local report = require "understudy.report"
local charts = require "understudy.charts"

local M = {}

local MIN_RUNS = 5
local RUNS_SHOWN = 200

-- Text for HTML: & < > " ' escaped.
local function esc(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["'"] = "&#39;" }))
end

local when = format.when

local function html(status, body)
  return { status = status, type = "text/html; charset=utf-8", body = body }
end

local function api(status, v)
  return { status = status, type = "application/json", body = json.encode(format.clean(v)) .. "\n" }
end

-- A whole page: the title, the navigation, the body; flash is { status =, text = } or nil.
local function page(req, title, body, flash, waiting_keys)
  local nav = {}
  for _, l in ipairs({ { "/", "Waiting" }, { "/runs", "Runs" }, { "/report", "Report" } }) do
    nav[#nav + 1] = string.format('<a href="%s"%s>%s</a>', l[1],
      req.path == l[1] and ' aria-current="page"' or "", l[2])
  end
  local out = {
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>', esc(title), ' · understudy</title><link rel="stylesheet" href="/style.css">',
    '<script src="/app.js" defer></script></head>',
    '<body', waiting_keys and (' data-waiting="' .. esc(waiting_keys) .. '"') or "", '>',
    '<header><nav>', table.concat(nav), '</nav><span class="who">', esc(req.user), '</span></header><main>',
    '<h1>', esc(title), '</h1>',
  }
  if flash then
    out[#out + 1] = string.format('<p class="flash %s" role="status">%s</p>',
      flash.status < 300 and "good" or "bad", esc(flash.text))
  end
  out[#out + 1] = body
  out[#out + 1] = '</main></body></html>\n'
  return table.concat(out)
end

-- A value from the record (JSON text) as people read it.
local function shown(text)
  if text == nil then return "" end
  local ok, v = pcall(json.decode, text)
  if ok and type(v) == "string" then return v end
  return text
end

local function table_html(headers, rows)
  local out = { '<div class="scroll"><table><thead><tr>' }
  for _, h in ipairs(headers) do out[#out + 1] = "<th>" .. esc(h) .. "</th>" end
  out[#out + 1] = "</tr></thead><tbody>"
  for _, row in ipairs(rows) do
    out[#out + 1] = "<tr>"
    for _, c in ipairs(row) do out[#out + 1] = "<td>" .. c .. "</td>" end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = "</tbody></table></div>"
  return table.concat(out)
end

-- The answer form of one waiting step, by its type: a field when the answer is typed, a note,
-- and buttons (the choices, approve/reject, done).
local function answer_form(w, req)
  if w.secret then
    return '<p class="muted">A secret: it is answered only at the runner\'s terminal.</p>'
  end
  local default = w.default and shown(w.default)
  local out = {
    '<form method="post" action="/answer" class="answer">',
    '<input type="hidden" name="form" value="', esc(req.form_token), '">',
    '<input type="hidden" name="run" value="', esc(w.run), '">',
    '<input type="hidden" name="step" value="', esc(w.step), '">',
  }
  local buttons = {}
  local function button(value, label, class)
    buttons[#buttons + 1] = string.format('<button type="submit"%s%s>%s</button>',
      value and (' name="value" value="' .. esc(value) .. '"') or "", class and (' class="' .. class .. '"') or "",
      esc(label))
  end
  local id = "v" .. w.id
  if w.type == "choice" then
    local ok, choices = pcall(json.decode, w.choices or "[]")
    for _, c in ipairs(ok and choices or {}) do button(c, c, c == default and "default" or nil) end
  elseif w.type == "boolean" then
    button("y", "Approve", "approve")
    button("n", "Reject", "reject")
  elseif w.type == "done" then
    button("", "Done", "approve")
    button("fail", "Fail", "reject")
  else
    local label = ({ number = "A number", string = "Answer", json = "A JSON document" })[w.type] or "Answer"
    out[#out + 1] = string.format('<label for="%s">%s</label>', id, label)
    if w.type == "json" then
      out[#out + 1] = string.format('<textarea id="%s" name="value" rows="6" required>%s</textarea>', id,
        esc(w.default or ""))
    else
      out[#out + 1] = string.format('<input id="%s" name="value" %s value="%s"%s>', id,
        w.type == "number" and 'type="number" step="any" inputmode="decimal"' or 'type="text"',
        esc(default or ""), default and "" or " required")
    end
    button(nil, "Answer")
  end
  out[#out + 1] = string.format('<label for="n%s">Note</label><input id="n%s" name="note" type="text" maxlength="2000">',
    w.id, w.id)
  out[#out + 1] = '<div class="buttons">' .. table.concat(buttons) .. "</div></form>"
  return table.concat(out)
end

-- What people answered before for the same inputs, and the candidate's proposal.
local function evidence(w, db)
  local out, seen, total = {}, {}, 0
  for _, a in ipairs(db.answers(w.pipeline, w.step)) do
    if a.inputs == w.inputs then
      seen[#seen + 1] = a
      total = total + a.n
    end
  end
  table.sort(seen, function(a, b) return a.n > b.n or (a.n == b.n and a.output < b.output) end)
  if #seen > 0 then
    out[#out + 1] = '<div class="before"><h3>Before, for the same inputs</h3><ul>'
    for _, a in ipairs(seen) do
      out[#out + 1] = string.format("<li><code>%s</code> %d of %d</li>", esc(shown(a.output)), a.n, total)
    end
    out[#out + 1] = "</ul></div>"
  else
    out[#out + 1] = '<p class="muted">Never answered before for these inputs.</p>'
  end
  if w.candidate then
    out[#out + 1] = string.format('<p class="candidate">The candidate proposes <code>%s</code></p>',
      esc(shown(w.candidate)))
  end
  return table.concat(out)
end

local function waiting_page(req, db, flash, status)
  local rows = db.waiting()
  local out, keys = {}, {}
  for _, w in ipairs(rows) do keys[#keys + 1] = w.run .. "/" .. w.step .. "/" .. w.occurrence end
  table.sort(keys)
  if #rows == 0 then
    out[#out + 1] = '<p class="muted">No step is waiting for a person. This page looks again by itself.</p>'
  end
  for _, w in ipairs(rows) do
    local name = w.occurrence > 1 and (w.step .. " #" .. w.occurrence) or w.step
    out[#out + 1] = '<section class="card">'
    out[#out + 1] = string.format('<h2>%s</h2><p class="meta">%s · <a href="/runs/%d">run %d</a> · since %s · started by %s</p>',
      esc(name), esc(w.pipeline), w.run, w.run, esc(when(w.since)), esc(w.operator or "?"))
    if w.instructions and w.instructions ~= "" then
      out[#out + 1] = '<p class="instructions">' .. esc(w.instructions) .. "</p>"
    end
    if w.inputs then out[#out + 1] = "<p>inputs <code>" .. esc(w.inputs) .. "</code></p>" end
    out[#out + 1] = answer_form(w, req)
    out[#out + 1] = evidence(w, db)
    out[#out + 1] = "</section>"
  end
  local title = #rows == 1 and "1 step waiting" or (#rows .. " steps waiting")
  return html(status or 200, page(req, title, table.concat(out), flash, table.concat(keys, " ")))
end

local function runs_page(req, db)
  local lines = {}
  for i, r in ipairs(db.runs(req.query.pipeline)) do
    if i > RUNS_SHOWN then break end
    lines[i] = { string.format('<a href="/runs/%d">%d</a>', r.id, r.id), esc(r.pipeline),
                 string.format('<span class="status %s">%s</span>', esc(r.status), esc(r.status)),
                 esc(when(r.started_at)), esc(r.steps), esc(r.operator or "") }
  end
  local body = #lines == 0 and '<p class="muted">No runs recorded yet.</p>'
    or table_html({ "Run", "Pipeline", "Status", "Started", "Steps", "Operator" }, lines)
  return html(200, page(req, "Runs", body))
end

local function run_page(req, db, id)
  local r = db.run(id)
  if not r then return html(404, page(req, "No such run", '<p>No run ' .. esc(id) .. ' in this history.</p>')) end
  local out = {
    string.format('<p class="meta">%s · <span class="status %s">%s</span> · %s on %s · started %s%s</p>',
      esc(r.pipeline), esc(r.status), esc(r.status), esc(r.operator or "?"), esc(r.host or "?"),
      esc(when(r.started_at)), r.finished_at and (", finished " .. esc(when(r.finished_at))) or ""),
  }
  if r.error then out[#out + 1] = '<pre class="error">' .. esc(r.error) .. "</pre>" end
  local lines = {}
  for i, s in ipairs(r.steps) do
    local value = s.secret and "(secret)" or s.status ~= "ok" and (s.error or ""):match("^[^\n]*") or shown(s.output)
    lines[i] = { esc(s.seq), esc(s.occurrence > 1 and (s.name .. " #" .. s.occurrence) or s.name), esc(s.kind),
                 esc(s.how), esc(s.status), "<code>" .. esc(format.cut(value, 60)) .. "</code>",
                 esc(s.operator or ""), esc(format.duration(s.duration_ms)), esc(s.note or "") }
  end
  out[#out + 1] = table_html({ "Seq", "Step", "Kind", "How", "Status", "Value", "By", "Time", "Note" }, lines)
  return html(200, page(req, "Run " .. r.id, table.concat(out)))
end

local PERSON = { prompt = true, stdin = true, web = true, remote = true }

-- The week of an ISO time, as 2026-W48.
local function week(iso)
  local y, m, d = iso:match("^(%d+)-(%d+)-(%d+)")
  return os.date("!%G-W%V", os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 }))
end

-- The charts of one pipeline, from its manual steps.
local function pipeline_charts(pipeline, db)
  local steps = db.steps(pipeline, nil, "manual")
  local weeks, week_index, series, by_step, order = {}, {}, {}, {}, {}
  for _, s in ipairs(steps) do
    if PERSON[s.how] and s.duration_ms then
      local w = week(s.started_at)
      if not week_index[w] then weeks[#weeks + 1] = w; week_index[w] = true end
    end
    if not by_step[s.name] then
      by_step[s.name] = { answers = {}, points = {} }
      order[#order + 1] = s.name
    end
  end
  table.sort(weeks)
  for i, w in ipairs(weeks) do week_index[w] = i end
  for _, name in ipairs(order) do
    series[#series + 1] = { name = name, values = {} }
    for i = 1, #weeks do series[#series].values[i] = 0 end
    by_step[name].series = series[#series]
  end
  for _, s in ipairs(steps) do
    local st = by_step[s.name]
    if PERSON[s.how] and s.duration_ms then
      local v = st.series.values
      v[week_index[week(s.started_at)]] = v[week_index[week(s.started_at)]] + s.duration_ms
    end
    if s.candidate_agrees ~= nil and s.how ~= "replay" then
      st.points[#st.points + 1] = { run = s.run, agrees = s.candidate_agrees }
    end
    if s.status == "ok" and not s.secret and s.how ~= "replay" and s.how ~= "candidate" then
      local a = shown(s.output)
      st.answers[a] = (st.answers[a] or 0) + 1
    end
  end
  local function chart(title, svg) return '<div class="chart"><h3>' .. esc(title) .. "</h3>" .. svg .. "</div>" end
  local title = "Human time per step per week"
  local out = { chart(title, charts.weekly(title, weeks, series)) }
  for _, name in ipairs(order) do
    local st = by_step[name]
    local items = {}
    for a, n in pairs(st.answers) do items[#items + 1] = { answer = a, n = n } end
    table.sort(items, function(a, b) return a.n > b.n or (a.n == b.n and a.answer < b.answer) end)
    while #items > 8 do table.remove(items) end
    out[#out + 1] = chart("Answers to " .. name, charts.distribution("Answers to " .. name, items))
    if #st.points > 0 then
      title = "Candidate agreement: " .. name
      out[#out + 1] = chart(title, charts.agreement(title, st.points))
    end
  end
  return table.concat(out)
end

local function report_page(req, db)
  local pipeline = req.query.pipeline
  local rows = report.report_table(db.report(pipeline), MIN_RUNS)
  local lines, pipelines, seen = {}, {}, {}
  for i, s in ipairs(rows) do
    lines[i] = { esc(pipeline and s.step or (s.pipeline .. " / " .. s.step)), esc(s.verdict),
                 esc(s.manual_executions), esc(format.duration(s.human_ms)),
                 esc(s.median_human_ms ~= json.null and format.duration(s.median_human_ms) or "-") }
    if not seen[s.pipeline] then seen[s.pipeline] = true; pipelines[#pipelines + 1] = s.pipeline end
  end
  local out = {}
  if #rows == 0 then
    out[#out + 1] = '<p class="muted">No steps recorded yet.</p>'
  else
    out[#out + 1] = table_html({ "Step", "Verdict", "Manual", "Human time", "Median" }, lines)
  end
  if pipeline then
    if #rows > 0 then out[#out + 1] = pipeline_charts(pipeline, db) end
  else
    table.sort(pipelines)
    out[#out + 1] = "<h2>Charts</h2><ul>"
    for _, p in ipairs(pipelines) do
      out[#out + 1] = string.format('<li><a href="/report?pipeline=%s">%s</a></li>', esc(p:gsub("[^%w%-_.~]",
        function(c) return string.format("%%%02X", c:byte()) end)), esc(p))
    end
    out[#out + 1] = "</ul>"
  end
  return html(200, page(req, pipeline and ("Report: " .. pipeline) or "Report", table.concat(out)))
end

-- application/x-www-form-urlencoded into a table.
local function form_fields(body)
  local fields = {}
  for pair in body:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    local function decode(s)
      return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
    end
    fields[decode(k)] = decode(v)
  end
  return fields
end

-- The answer in a POST: from a form, or a JSON object {run, step, value, note}; nil and why when it is not one.
local function answer_fields(req)
  local f
  if req.content_type:match("^application/json") then
    local ok, v = pcall(json.decode, req.body)
    if not ok or type(v) ~= "table" then return nil, "the body is not a JSON object" end
    f = v
    if type(f.value) == "boolean" then f.value = f.value and "y" or "n"
    elseif type(f.value) == "number" then f.value = string.format("%.17g", f.value)
    elseif type(f.value) == "table" then f.value = json.encode(f.value) end
  else
    f = form_fields(req.body)
  end
  local run = math.tointeger(tonumber(f.run))
  if not run or run <= 0 then return nil, "run must be a run number" end
  if type(f.step) ~= "string" or f.step == "" then return nil, "step is missing" end
  if type(f.value) ~= "string" then return nil, "value is missing" end
  if f.note ~= nil and type(f.note) ~= "string" then return nil, "note must be text" end
  return { run = run, step = f.step, value = f.value, note = f.note ~= "" and f.note or nil, form = f.form }
end

local static = {}

-- handle(request, db): the response { status =, type =, body = }, or { offer = answer } for the C side to offer.
function M.handle(req, db)
  local path, api_call = req.path, req.path:match("^/api/") ~= nil
  if req.method == "POST" and (path == "/answer" or path == "/api/answer") then
    local a, why = answer_fields(req)
    if a and not req.bearer and a.form ~= req.form_token then
      return api_call and api(403, { error = "the form token is wrong" }) or html(403, page(req, "Refused",
        '<p>The form token is wrong: open the page again and answer from there.</p>'))
    end
    if not a then
      return api_call and api(400, { error = why }) or waiting_page(req, db, { status = 400, text = why }, 400)
    end
    return { offer = a }
  end
  if req.method == "POST" then return api(405, { error = "only " .. "/answer and /api/answer take a POST" }) end
  if static[path] then return static[path] end
  local id = path:match("^/api/runs/(%d+)$")
  if path == "/api/waiting" then return api(200, views.tables.waiting(db.waiting(req.query.pipeline))) end
  if path == "/api/runs" then return api(200, views.tables.runs(db.runs(req.query.pipeline))) end
  if id then
    local r = db.run(math.tointeger(tonumber(id)))
    if not r then return api(404, { error = "no run " .. id }) end
    return api(200, views.tables.run(r))
  end
  if path == "/api/report" then
    return api(200, (report.report_table(db.report(req.query.pipeline), MIN_RUNS)))
  end
  if path == "/" then return waiting_page(req, db) end
  if path == "/runs" then return runs_page(req, db) end
  id = path:match("^/runs/(%d+)$")
  if id then return run_page(req, db, math.tointeger(tonumber(id))) end
  if path == "/report" then return report_page(req, db) end
  if api_call then return api(404, { error = "no such API: " .. path }) end
  return html(404, page(req, "Not found", '<p>There is no page here. <a href="/">Steps waiting</a></p>'))
end

-- answered(request, word, message, answer, status, db): what became of an answer offered.
function M.answered(req, word, message, a, status, db)
  local api_call = req.path:match("^/api/") ~= nil
  if api_call then
    if word == "taken" then return api(200, { status = "taken", run = a.run, step = a.step }) end
    return api(status, { status = word, error = message })
  end
  local text = word == "taken" and string.format('Answered "%s" of run %d: the pipeline goes on.', a.step, a.run)
    or message
  return waiting_page(req, db, { status = status, text = text }, status)
end

static["/style.css"] = { status = 200, type = "text/css; charset=utf-8", body = [[
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #5b6470; --line: #d5dae0; --card: #f6f8fa;
  --accent: #0b5fff; --good: #137333; --bad: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #111418; --muted: #9aa4b0; --line: #2c333b;
  --card: #1a1f25; --accent: #6ea0ff; --good: #6fcf8a; --bad: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; justify-content: space-between; align-items: center; gap: 1rem; padding: .6rem 1rem;
  border-bottom: 1px solid var(--line); }
nav a { margin-right: 1rem; color: var(--accent); text-decoration: none; }
nav a[aria-current] { font-weight: 600; text-decoration: underline; }
.who { color: var(--muted); font-size: .9rem; }
main { max-width: 46rem; margin: 0 auto; padding: 0 1rem 3rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin: 0 0 .2rem; } h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; margin: 1rem 0; }
.meta, .muted { color: var(--muted); font-size: .9rem; margin: .2rem 0 .6rem; }
.instructions { white-space: pre-wrap; }
code { font-family: ui-monospace, monospace; font-size: .9em; word-break: break-all; }
form.answer { margin: .8rem 0; }
label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
input, textarea { width: 100%; font: inherit; padding: .55rem; border: 1px solid var(--line); border-radius: 8px;
  background: var(--bg); color: var(--fg); }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .6rem; }
button { font: inherit; min-height: 44px; padding: .5rem 1.1rem; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; }
button.reject { background: var(--bad); border-color: var(--bad); }
button.approve { background: var(--good); border-color: var(--good); }
button.default { outline: 3px solid var(--fg); }
.flash { padding: .7rem 1rem; border-radius: 8px; border: 1px solid; }
.flash.good { color: var(--good); } .flash.bad { color: var(--bad); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.status.ok { color: var(--good); } .status.failed, .status.abandoned { color: var(--bad); }
.chart { margin: 1rem 0; } svg { max-width: 100%; height: auto; }
pre.error { white-space: pre-wrap; color: var(--bad); }
]] }

-- A few lines of our own: the waiting list looks again every few seconds, and the page reloads
-- when the steps waiting changed, unless someone is typing an answer.
static["/app.js"] = { status = 200, type = "text/javascript; charset=utf-8", body = [[
"use strict";
(function () {
  var shown = document.body.getAttribute("data-waiting");
  if (shown === null) return;
  var typing = false;
  document.addEventListener("input", function () { typing = true; });
  setInterval(function () {
    if (typing || document.hidden) return;
    fetch("/api/waiting", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (list) {
      if (!list) return;
      var keys = list.map(function (w) { return w.run + "/" + w.step + "/" + w.occurrence; }).sort();
      if (keys.join(" ") !== shown) location.reload();
    }).catch(function () {});
  }, 3000);
})();
]] }

return M
