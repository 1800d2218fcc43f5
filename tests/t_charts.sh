# t_charts.sh: the inline SVG charts of the pages: well-formed, escaped, exact, deterministic.

# charts_svg LUA_EXPR: $OUT is what the expression (on the charts module, as c) gives.
charts_svg() {
	printf 'local c = require("understudy.charts")\nprint(%s)\n' "$1" | write chart.lua
	run_us 0 run chart.lua
}

# charts_xml TEXT: TEXT is well-formed XML whose root is an <svg> with a <title> first.
charts_xml() {
	printf '%s' "$1" | python3 -c '
import sys, xml.etree.ElementTree as E
root = E.fromstring(sys.stdin.read())
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
assert root[0].tag == ns + "title", root[0].tag
' || fail "not a well-formed SVG: $1"
}

# count TEXT NEEDLE: how many times NEEDLE is in TEXT.
count() { grep -o -- "$2" <<<"$1" | wc -l; }

test_charts_bars_and_distribution() {
	charts_svg 'c.bars("Step <time>", {
  { label = "build & test", value = 12.5, note = "3 runs" },
  { label = "<b>&\"x\"", value = 40 },
  { label = "a label far longer than twenty-four characters", value = 5 },
}, { unit = " s" })'
	charts_xml "$OUT"
	has "$OUT" '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 '
	has "$OUT" 'aria-label="Step &lt;time&gt;"><title>Step &lt;time&gt;</title>'
	same "$(count "$OUT" '<rect')" 3
	has "$OUT" '>build &amp; test<'
	has "$OUT" '>&lt;b&gt;&amp;&quot;x&quot;<'
	lacks "$OUT" '<b>'
	lacks "$OUT" '"x"<'
	has "$OUT" '>a label far longer than…<'
	has "$OUT" '>12.5 s <tspan fill="#777777">3 runs</tspan>'
	has "$OUT" '>40 s<'
	# The longest bar is the largest value; the others in proportion.
	has "$OUT" 'width="80.4" height="12"'
	has "$OUT" 'width="257.4" height="12"'
	has "$OUT" 'width="32.2" height="12"'

	charts_svg 'c.bars("speed", { { label = "a", value = 90000 } },
  { unit = " s", format = function(v) return string.format("%.1f min", v / 60000) end })'
	charts_xml "$OUT"
	has "$OUT" '>1.5 min<'
	lacks "$OUT" ' s<'

	charts_svg 'c.distribution("answers", {
  { answer = "yes", n = 3 }, { answer = "no", n = 1 }, { answer = "<b>&\"x\"", n = 2 },
})'
	charts_xml "$OUT"
	same "$(count "$OUT" '<rect')" 3
	has "$OUT" '>yes<'
	has "$OUT" '>3 (50%)<'
	has "$OUT" '>1 (17%)<'
	has "$OUT" '>2 (33%)<'
	has "$OUT" '>&lt;b&gt;&amp;&quot;x&quot;<'
	lacks "$OUT" '<b>'
}

test_charts_weekly_legend_and_units() {
	charts_svg 'c.weekly("Time <per> week", { "2026-W46", "2026-W47" }, (function()
  local s = {}
  for i = 1, 10 do s[i] = { name = "step " .. i, values = { i * 60000, 0 } } end
  s[1].name = "approve & ship"
  return s
end)())'
	charts_xml "$OUT"
	has "$OUT" '<title>Time &lt;per&gt; week</title>'
	has "$OUT" 'time per week (minutes)'
	has "$OUT" '>W46<'
	has "$OUT" '>W47<'
	# Eight series in colour, steps 9 and 10 as one grey "other" (9 + 10 minutes: 19).
	has "$OUT" '>approve &amp; ship</text>'
	has "$OUT" '>step 8</text>'
	has "$OUT" '>other</text>'
	lacks "$OUT" 'step 9'
	lacks "$OUT" 'step 10'
	has "$OUT" '<title>other, 2026-W46: 19.0 minutes</title>'
	same "$(grep -o 'fill="#[0-9a-f]*"/><text' <<<"$OUT" | sort -u | wc -l)" 9
	same "$(count "$OUT" 'fill="#9e9e9e"')" 2
	# Week 47 is all zeros: 9 segments in week 46 and 9 legend swatches.
	same "$(count "$OUT" '<rect')" 18
	has "$OUT" '>60</text>'

	charts_svg 'c.weekly("short", { "2026-W01" }, { { name = "a", values = { 45000 } } })'
	charts_xml "$OUT"
	has "$OUT" 'time per week (seconds)'
	has "$OUT" '<title>a, 2026-W01: 45.0 seconds</title>'
	lacks "$OUT" 'other'
}

test_charts_agreement_marks_and_rate() {
	charts_svg 'c.agreement("Agreement", { { run = 3, agrees = true }, { run = 4, agrees = false }, { run = 7, agrees = true } })'
	charts_xml "$OUT"
	same "$(count "$OUT" '<circle')" 3
	same "$(count "$OUT" '<circle[^>]*fill="#2e7d32"')" 2
	same "$(count "$OUT" '<circle[^>]*fill="#c62828"')" 1
	has "$OUT" '<title>run 4: differed</title>'
	has "$OUT" '(67%)'
	has "$OUT" '>runs<'
	has "$OUT" '>3</text>'
	has "$OUT" '>7</text>'
	has "$OUT" '>100%</text>'
	# Running rate: 100 %, 50 %, 67 % of a 120-high plot whose 0 % is at y=144.
	has "$OUT" '<polyline points="36,24 190,84 344,64"'

	charts_svg 'c.agreement("one", { { run = 12, agrees = false } })'
	charts_xml "$OUT"
	same "$(count "$OUT" '<circle')" 1
	has "$OUT" 'fill="#c62828"'
	has "$OUT" '(0%)'
	has "$OUT" '>12</text>'
}

test_charts_empty_and_hostile_values() {
	local f
	for f in 'c.bars("none <yet>", {})' 'c.distribution("d", nil)' 'c.weekly("w", {}, {})' \
		'c.weekly("w", { "2026-W01" }, {})' 'c.agreement("a", {})'; do
		charts_svg "$f"
		charts_xml "$OUT"
		has "$OUT" '>no data yet</text>'
		lacks "$OUT" '<rect'
	done
	charts_svg 'c.bars("none <yet>", {})'
	has "$OUT" 'aria-label="none &lt;yet&gt;"'

	charts_svg 'table.concat({
  c.bars("b", { { label = "zero", value = 0/0 }, { label = "big", value = math.huge }, { label = "neg", value = -5 }, { label = "none" } }),
  c.bars("b", { { label = "a", value = 0 } }),
  c.distribution("d", { { answer = "a", n = 0 }, { answer = "b", n = 0/0 } }),
  c.weekly("w", { "2026-W01", "2026-W02" }, { { name = "s", values = { 0/0, -math.huge } }, { name = "t", values = { math.huge } } }),
  c.agreement("a", { { run = 0/0, agrees = true }, { run = math.huge } }),
}, "\n")'
	printf '%s\n' "$OUT" | while IFS= read -r line; do charts_xml "$line"; done || exit 1
	same "$(count "$OUT" '<svg ')" 5
	lacks "$OUT" 'nan'
	lacks "$OUT" 'inf'
	lacks "$OUT" 'style='
	lacks "$OUT" '<style'
	lacks "$OUT" '<script'
	lacks "$OUT" 'no data yet'
	has "$OUT" '>0 (0%)<'
}

test_charts_output_is_deterministic() {
	write same.lua <<'LUA'
local c = require("understudy.charts")
local function all()
  local series = {}
  for i = 1, 12 do series[i] = { name = "step " .. i, values = { i * 1000, i * 7000, 300 } } end
  return table.concat({
    c.bars("b", { { label = "x", value = 1.25, note = "n" }, { label = "y", value = 3 } }, { unit = " s" }),
    c.distribution("d", { { answer = "yes", n = 2 }, { answer = "no", n = 1 } }),
    c.weekly("w", { "2026-W45", "2026-W46", "2026-W47" }, series),
    c.agreement("a", { { run = 1, agrees = true }, { run = 2, agrees = false } }),
  }, "\n")
end
local one = all()
assert(one == all(), "two calls differ")
print(one)
LUA
	run_us 0 run same.lua
	local first=$OUT
	run_us 0 run same.lua
	same "$OUT" "$first"
	same "$(count "$OUT" '<svg ')" 4
}
