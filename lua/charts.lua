-- lua/charts.lua: inline SVG charts for the pages of understudy serve (no script, no styles).
local format = require "understudy.format"

local M = {}

local W = 360
local PALETTE = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7" }
local GREY, INK, SOFT, RULE = "#9e9e9e", "#333333", "#777777", "#dddddd"
local GREEN, RED = "#2e7d32", "#c62828"

-- A number fit to draw: non-numbers, NaN, infinities and negatives are 0.
local function num(v)
  v = tonumber(v)
  if not v or v ~= v or v == math.huge or v < 0 then return 0 end
  return v
end

-- A coordinate: at most one decimal, never nan or inf.
local function f(x)
  if x ~= x or x == math.huge or x == -math.huge then x = 0 end
  return (string.format("%.1f", x):gsub("%.0$", ""))
end

-- A value for people: whole numbers as such, others with %g.
local function show(v)
  v = num(v)
  if v == math.floor(v) and v < 1e15 then return string.format("%d", v) end
  return string.format("%g", v)
end

-- At most n characters (valid UTF-8); longer text ends in "…".
local function short(s, n)
  s = format.clean_text(tostring(s or ""))
  if utf8.len(s) <= n then return s end
  return s:sub(1, utf8.offset(s, n) - 1) .. "…"
end

-- Text safe inside XML: valid UTF-8, control characters as spaces, & < > " ' escaped.
local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }
local function esc(s)
  s = format.clean_text(tostring(s or "")):gsub("[\0-\31]", " ")
  return (s:gsub("[&<>\"']", ESC))
end

local function text(x, y, s, attrs)
  return string.format('<text x="%s" y="%s"%s>%s</text>', f(x), f(y), attrs or "", s)
end

local function rect(x, y, w, h, fill, tip)
  local tag = string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"', f(x), f(y), f(w), f(h), fill)
  if tip then return tag .. "><title>" .. esc(tip) .. "</title></rect>" end
  return tag .. "/>"
end

local function line(x1, y1, x2, y2, colour)
  return string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>', f(x1), f(y1), f(x2), f(y2), colour)
end

-- The whole picture: <svg> with its <title> first, then the body in one group.
local function svg(title, h, body)
  local t = esc(title)
  return string.format('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %s" width="100%%" role="img" aria-label="%s">'
    .. '<title>%s</title><g font-family="sans-serif" font-size="11" fill="%s">%s</g></svg>', W, f(h), t, t, INK, body)
end

-- A small picture saying there is nothing to draw yet.
local function empty(title)
  return svg(title, 40, text(W / 2, 24, "no data yet", ' text-anchor="middle" font-size="12" fill="' .. SOFT .. '"'))
end

-- Grid step and top for an axis from 0 to max: 1, 2 or 5 times a power of ten.
local function nice(max)
  if max <= 0 then return 1, 1 end
  local raw = max / 4
  local mag = 10 ^ math.floor(math.log(raw, 10))
  local step = 10 * mag
  for _, m in ipairs({ 1, 2, 5 }) do
    if m * mag >= raw then step = m * mag break end
  end
  return step * math.ceil(max / step), step
end

-- Horizontal bars from rows { label, value, text, note }: each label above its bar,
-- the value text (and note, in grey) at the bar's end.
local function hbars(title, rows)
  if #rows == 0 then return empty(title) end
  local max, room = 0, 0
  for _, r in ipairs(rows) do
    r.text = short(r.text, 20)
    r.note = r.note and short(r.note, 24)
    if r.value > max then max = r.value end
    local chars = utf8.len(r.text) + (r.note and utf8.len(r.note) + 1 or 0)
    room = math.max(room, chars * 6.2)
  end
  local span = math.max(120, W - 16 - 6 - room)
  local out = {}
  for i, r in ipairs(rows) do
    local y = 8 + (i - 1) * 32
    local w = max > 0 and span * r.value / max or 0
    local shown = esc(r.text)
    if r.note then shown = shown .. ' <tspan fill="' .. SOFT .. '">' .. esc(r.note) .. "</tspan>" end
    out[#out + 1] = text(8, y + 11, esc(short(r.label, 24)))
    out[#out + 1] = rect(8, y + 14, w, 12, PALETTE[1])
    out[#out + 1] = text(8 + w + 6, y + 24, shown)
  end
  return svg(title, 12 + #rows * 32, table.concat(out))
end

-- Horizontal bars, one per item in order: label, bar, value (with opts.unit, or opts.format(value)) and note.
function M.bars(title, items, opts)
  opts = opts or {}
  local rows = {}
  for i, it in ipairs(items or {}) do
    local v = num(it.value)
    local shown = opts.format and tostring(opts.format(v)) or show(v) .. (opts.unit or "")
    rows[i] = { label = it.label, value = v, text = shown, note = it.note }
  end
  return hbars(title, rows)
end

-- Answers as horizontal bars: each one's count and its share of all of them.
function M.distribution(title, items)
  local total = 0
  for _, it in ipairs(items or {}) do total = total + num(it.n) end
  local rows = {}
  for i, it in ipairs(items or {}) do
    local n = num(it.n)
    local share = total > 0 and math.floor(n / total * 100 + 0.5) or 0
    rows[i] = { label = it.answer, value = n, text = string.format("%s (%d%%)", show(n), share) }
  end
  return hbars(title, rows)
end

-- People's time per step and week (values in ms) as stacked vertical bars, in
-- minutes or seconds, with a legend; series past the 8th are one grey "other".
function M.weekly(title, weeks, series)
  weeks, series = weeks or {}, series or {}
  if #weeks == 0 or #series == 0 then return empty(title) end
  local groups = {}
  for i, s in ipairs(series) do
    local g = groups[math.min(i, #PALETTE + 1)]
    if not g then
      g = { name = i <= #PALETTE and s.name or "other", colour = PALETTE[i] or GREY, values = {} }
      groups[#groups + 1] = g
    end
    for w = 1, #weeks do g.values[w] = (g.values[w] or 0) + num(s.values and s.values[w]) end
  end
  local max = 0
  for w = 1, #weeks do
    local sum = 0
    for _, g in ipairs(groups) do sum = sum + g.values[w] end
    max = math.max(max, sum)
  end
  local per, unit = 1000, "seconds"
  if max >= 120000 then per, unit = 60000, "minutes" end
  local topv, step = nice(max / per)
  local left, right, top, ph = 44, 8, 24, 150
  local bottom, pw = top + ph, W - left - right
  local out = { text(4, 12, "time per week (" .. unit .. ")", ' fill="' .. SOFT .. '"') }
  for k = 0, math.floor(topv / step + 0.5) do
    local y = bottom - k * step / topv * ph
    out[#out + 1] = line(left, y, W - right, y, k == 0 and SOFT or RULE)
    out[#out + 1] = text(left - 4, y + 4, string.format("%g", k * step), ' text-anchor="end"')
  end
  local slot = pw / #weeks
  local bw, every = math.min(48, math.max(1, slot * 0.7)), math.ceil(40 / slot)
  for w, week in ipairs(weeks) do
    local x, y = left + (w - 1) * slot + (slot - bw) / 2, bottom
    for _, g in ipairs(groups) do
      local v = g.values[w] / per
      if v > 0 then
        local h = v / topv * ph
        y = y - h
        out[#out + 1] = rect(x, y, bw, h, g.colour, string.format("%s, %s: %.1f %s", short(g.name, 40), short(week, 16), v, unit))
      end
    end
    if (w - 1) % every == 0 then
      local name = tostring(week or ""):match("W%d+$") or short(week, 8)
      out[#out + 1] = text(x + bw / 2, bottom + 14, esc(name), ' text-anchor="middle"')
    end
  end
  for i, g in ipairs(groups) do
    local x, y = 8 + (i - 1) % 2 * 176, bottom + 32 + (i - 1) // 2 * 16
    out[#out + 1] = rect(x, y - 9, 10, 10, g.colour)
    out[#out + 1] = text(x + 14, y, esc(short(g.name, 24)))
  end
  return svg(title, bottom + 24 + (#groups + 1) // 2 * 16, table.concat(out))
end

-- Candidate agreement over runs: one dot per run (green agreed, red not) under a
-- line of the running agreement rate from 0 to 100 %.
function M.agreement(title, points)
  points = points or {}
  local n = #points
  if n == 0 then return empty(title) end
  local left, right, top, ph = 36, 16, 24, 120
  local bottom, pw = top + ph, W - left - right
  local function xat(i) return n == 1 and left + pw / 2 or left + (i - 1) * pw / (n - 1) end
  local r = math.max(1.5, math.min(4, pw / math.max(n - 1, 1) / 2 - 0.5))
  local out, line_at, dots, agreed = {}, {}, {}, 0
  for k = 0, 2 do
    local y = bottom - k * ph / 2
    out[#out + 1] = line(left, y, W - right, y, k == 0 and SOFT or RULE)
    out[#out + 1] = text(left - 4, y + 4, (k * 50) .. "%", ' text-anchor="end"')
  end
  for i, p in ipairs(points) do
    if p.agrees == true then agreed = agreed + 1 end
    local x = xat(i)
    line_at[i] = f(x) .. "," .. f(bottom - agreed / i * ph)
    dots[i] = string.format('<circle cx="%s" cy="%s" r="%s" fill="%s"><title>run %s: %s</title></circle>', f(x), f(bottom + 14), f(r),
      p.agrees == true and GREEN or RED, show(p.run), p.agrees == true and "agreed" or "differed")
  end
  out[#out + 1] = '<polyline points="' .. table.concat(line_at, " ") .. '" fill="none" stroke="' .. PALETTE[1] .. '" stroke-width="2"/>'
  out[#out + 1] = table.concat(dots)
  out[#out + 1] = text(4, 12, "running agreement", ' fill="' .. SOFT .. '"')
  out[#out + 1] = text(W - right, 12, string.format("agreed %d of %d (%d%%)", agreed, n, math.floor(agreed / n * 100 + 0.5)), ' text-anchor="end"')
  out[#out + 1] = text(xat(1), bottom + 34, show(points[1].run), n > 1 and ' text-anchor="start"' or ' text-anchor="middle"')
  if n > 1 then out[#out + 1] = text(xat(n), bottom + 34, show(points[n].run), ' text-anchor="end"') end
  out[#out + 1] = text(n > 1 and left + pw / 2 or left, bottom + 34, "runs", (n > 1 and ' text-anchor="middle"' or "") .. ' fill="' .. SOFT .. '"')
  return svg(title, bottom + 42, table.concat(out))
end

return M
