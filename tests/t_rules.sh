# t_rules.sh: report beyond lookup tables: rules, coverage, people who disagree, code with a fallback, --since.

# A generated history of pipeline "release", 300 runs a minute apart from
# 2026-11-01T00:00Z, made in SQLite and copied to the test's history:
#   sign-off  accuracy 0.800..0.999 (and a loss beside it): true from 0.9; 20 s a person each
#   target    service api/web/batch/legacy: prod, staging for legacy; 5 s
#   label     each score answered by alice, then bob: alice says good from 0.5, bob from 0.6; 3 s
#   notes     different answers, no inputs: 40 s each (the most human time)
#   deploy    "yes" by people in runs 1-200, then code, with people answering the odd runs
#   window    "old" in runs 1-150, "new" from 151
release_history() {
	echo 'print("schema")' | write empty.lua
	UNDERSTUDY_DB="$PWD/gen.db" "$UNDERSTUDY" run empty.lua >/dev/null 2>&1 || fail "no schema"
	sqlite3 gen.db <<'SQL' || fail "generation failed"
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 300)
INSERT INTO runs (id, pipeline, script, operator, status, started_at, finished_at)
SELECT n + 1, 'release', 'release.lua', CASE WHEN n % 2 THEN 'alice' ELSE 'bob' END, 'ok',
  strftime('%Y-%m-%dT%H:%M:%S.000Z', '2026-11-01', '+' || n || ' minutes'),
  strftime('%Y-%m-%dT%H:%M:%S.000Z', '2026-11-01', '+' || n || ' minutes', '+50 seconds') FROM i;
CREATE TEMP TABLE g (n INTEGER, seq INTEGER, name TEXT, kind TEXT, how TEXT, inputs TEXT, output TEXT, op TEXT, ms INTEGER);
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 300),
  v AS (SELECT n, (800 + (n * 37) % 200) / 1000.0 AS acc, (n * 7919) % 1000 AS score,
    CASE n % 4 WHEN 0 THEN 'api' WHEN 1 THEN 'web' WHEN 2 THEN 'batch' ELSE 'legacy' END AS service FROM i)
INSERT INTO g
SELECT n, 1, 'sign-off', 'manual', 'prompt',
  '{"accuracy":' || acc || ',"loss":' || ((1000 - (800 + (n * 37) % 200) + n % 7) / 1000.0) || '}',
  CASE WHEN acc >= 0.9 THEN 'true' ELSE 'false' END, NULL, 20000 FROM v
UNION ALL SELECT n, 2, 'target', 'manual', 'prompt', '{"region":"r' || (n % 3) || '","service":"' || service || '"}',
  CASE WHEN service = 'legacy' THEN '"staging"' ELSE '"prod"' END, NULL, 5000 FROM v
UNION ALL SELECT n, 3, 'label', 'manual', 'prompt', '{"score":' || score || '}',
  CASE WHEN score >= 500 THEN '"good"' ELSE '"bad"' END, 'alice', 3000 FROM v
UNION ALL SELECT n, 4, 'label', 'manual', 'prompt', '{"score":' || score || '}',
  CASE WHEN score >= 600 THEN '"good"' ELSE '"bad"' END, 'bob', 3000 FROM v
UNION ALL SELECT n, 5, 'notes', 'manual', 'prompt', NULL, '"n' || (n % 5) || '"', NULL, 40000 FROM v
UNION ALL SELECT n, 6, 'deploy', CASE WHEN n > 200 AND n % 2 = 0 THEN 'auto' ELSE 'manual' END,
  CASE WHEN n > 200 AND n % 2 = 0 THEN 'run' ELSE 'prompt' END, NULL, '"yes"', NULL, 1000 FROM v
UNION ALL SELECT n, 7, 'window', 'manual', 'prompt', NULL, CASE WHEN n > 150 THEN '"new"' ELSE '"old"' END, NULL, 2000 FROM v;
INSERT INTO steps (run, pipeline, seq, name, occurrence, kind, how, inputs, output, status, operator,
  started_at, finished_at, duration_ms)
SELECT g.n + 1, 'release', g.seq, g.name, CASE WHEN g.seq = 4 THEN 2 ELSE 1 END, g.kind, g.how, g.inputs, g.output,
  'ok', coalesce(g.op, r.operator), r.started_at, r.finished_at, g.ms
FROM g JOIN runs r ON r.id = g.n + 1 ORDER BY g.n, g.seq;
SQL
	run_us 0 copy --from "$PWD/gen.db" --to "$UNDERSTUDY_DB"
}

# field STEP JQ: a field of STEP in report release --json.
field() { jq -c --arg s "$1" ".[] | select(.step == \$s) | $2" report.json; }

test_report_finds_rules_and_ranks_by_what_code_would_save() {
	release_history
	us report release --json >report.json || fail "report failed"
	# The order: people who disagree first, then what code would save, then the rest by human time.
	same "$(jq -r 'map(.step + "=" + .verdict) | join(", ")' report.json)" \
		"label=people disagree, sign-off=ready: rule, target=ready: rule, notes=varies, window=varies, deploy=automated"
	# A threshold, its boundary values as seen; every answer but the highest false one (seen once) covered.
	same "$(field sign-off '.rule | [.kind, .key, .high, .high_min, .low, .low_max]')" '["threshold","accuracy",true,0.9,false,0.899]'
	same "$(field sign-off '.coverage')" '{"answered":299,"of":300,"right":299,"wrong":0}'
	same "$(field sign-off '.rule.words')" '"true when accuracy >= 0.9, false when accuracy <= 0.899; in between a person decides"'
	same "$(field sign-off '[.human_ms, .saves_ms]')" '[6000000,5980000]'
	# One answer with a named exception, whatever the region says.
	same "$(field target '.rule | [.kind, .key, .usual, .exceptions]')" '["exceptions","service","prod",[{"answer":"staging","value":"legacy"}]]'
	same "$(field target '.coverage')" '{"answered":300,"of":300,"right":300,"wrong":0}'
	# alice and bob on the same 300 scores: they disagree on 500-599 (30 of them).
	same "$(field label '.agreement | [.operators, .pairs, .agreed, .inputs]')" '[["alice","bob"],300,270,300]'
	same "$(field label '.agreement.kappa * 1000 | round')" "$(awk 'BEGIN {
		# alice good on 500..999 (150), bob on 600..999 (120) of 300 scores spread evenly.
		po = 270 / 300; pe = (150 / 300) * (120 / 300) + (150 / 300) * (180 / 300); printf "%d", (po - pe) / (1 - pe) * 1000 + 0.5 }')"
	same "$(field label '.rule')" "null"
	# Code with a fallback to people is automated, and says how much it answers.
	same "$(field deploy '.reason')" '"code answered 50% of the last 30, people the rest; the code agrees with people for all 1 recorded kind of inputs"'
	run_us 0 report release
	has "$(flat "$OUT")" "label: people disagree: alice and bob answered the same inputs: 270 of 300 pairs of answers agree (90%), Cohen's kappa 0.80."
	has "$(flat "$OUT")" "left out in turn, the code would have answered 100% of the 300 answers (300), all correctly."
	has "$(flat "$OUT")" "left out in turn, the code would have answered 99% of the 300 answers (299), all correctly."
	has "$(flat "$OUT")" 'Automate `sign-off` next: 300 answers, true when accuracy >= 0.9, false when accuracy <= 0.899; in between a person decides, 1.7 h of human time so far.'
}

test_suggested_rules_reproduce_every_answer_they_give() {
	release_history
	local step fn
	for step in sign-off target; do
		fn=$(printf '%s' "$step" | tr -c 'a-z\n' '_')_rule
		run_us 0 suggest release $step
		has "$OUT" "local function ${fn}(name, instructions, opts)"
		lacks "$OUT" "0.9057"   # a rule, not a table of floats
		{ cat out.txt; printf 'return %s\n' "$fn"; } >rule.lua
		run_us 0 check rule.lua
		us history release $step --json >history.json || fail "history failed"
		# Run the rule over every recorded input: each answer it gives is the one people gave.
		write replay.lua <<'LUA'
local rule = dofile("rule.lua")
local person = {}
manual = function() return person end
auto = function(name, fn, opts) return fn(opts.inputs) end
local f = assert(io.open("history.json"))
local rows = json.decode(f:read("a"))
f:close()
local answered, handed = 0, 0
for _, row in ipairs(rows) do
  local got = rule(row.name, "?", { inputs = row.inputs })
  if got == person then
    handed = handed + 1
  elseif json.encode(got) ~= json.encode(row.output) then
    error("for " .. json.encode(row.inputs) .. " the rule answers " .. json.encode(got) .. ", people " .. json.encode(row.output))
  else
    answered = answered + 1
  end
end
print(answered, handed)
LUA
		run_us 0 run replay.lua --name replay-$step
		case $step in
		sign-off) same "$OUT" "300	0" ;;
		target) same "$OUT" "300	0" ;;
		esac
	done
	# Outside what was seen, a person decides.
	printf 'local rule = dofile("rule.lua")\nmanual = function() return "person" end\nprint(rule("target", "?", { inputs = { region = "r1" } }))\n' >outside.lua
	run_us 0 run outside.lua --name outside
	same "$OUT" "person"
	# A step whose people disagree gets no code.
	run_us 1 suggest release label
	has "$ERR" "people disagree"
}

test_report_since_judges_the_window_only() {
	release_history
	run_us 0 report release --json
	same "$(jq -r '.[] | select(.step == "window") | .verdict' <<<"$OUT")" "varies"
	# Runs 151-300 started from 02:31 UTC: "new" only.
	TZ=UTC run_us 0 report release --since 2026-11-01T02:31 --json
	same "$(jq -r '.[] | select(.step == "window") | [.verdict, .manual_executions] | join(" ")' <<<"$OUT")" "ready: constant 150"
	same "$(jq -r '.[] | select(.step == "sign-off") | .coverage.of' <<<"$OUT")" "150"
	# A window over nothing: nothing to say, but not an error.
	run_us 0 report release --since 1h
	has "$OUT" "No steps recorded"
	run_us 2 report release --since yesterday
	has "$ERR" "--since needs a duration (90m, 12h, 30d, 8w) or a date (2026-11-01), not 'yesterday'"
	run_us 0 report release --since 400d
	has "$OUT" "sign-off"
}

test_audits_ask_a_person_and_drift_shows_first() {
	write au.lua <<'LUA'
for i = 1, 3 do
  print("got", auto("classify", function(inp) return inp.x > 1 end, { inputs = { x = i }, audit = 1 }))
end
auto("other", function() return 1 end)
LUA
	# Enter keeps the code's answer, so does y; another answer replaces it.
	pty 'expect (the code answers false: Enter or y keeps it)> \nsendline \nexpect (the code answers true: Enter or y keeps it)> \nsendline y\nexpect (the code answers true: Enter or y keeps it)> \nsendline false\nexpect the audit disagreed: the code answered true\n' run au.lua
	same "$CODE" 0
	same "$(grep -a got pty.txt | tr -d '\r' | tr '\n' ' ')" "got	false got	true got	false "
	same "$(sql "SELECT group_concat(how || ':' || output || ':' || candidate_output || ':' || CASE WHEN candidate_agrees THEN 'agreed' ELSE 'differed' END, ' ') FROM (SELECT * FROM steps WHERE name = 'classify' ORDER BY id) AS t")" \
		"audit:false:false:agreed audit:true:true:agreed audit:false:true:differed"
	run_us 0 report au --json
	same "$(jq -c '.[0] | [.step, .verdict, .audits]' <<<"$OUT")" \
		'["classify","drift: 1 of the last 3 audits disagreed",{"audited":3,"disagreed":1,"last_disagreement":{"answer":false,"code":true,"inputs":{"x":3}}}]'
	run_us 0 report au
	has "$(flat "$OUT")" 'classify: drift: 1 of the last 3 audits disagreed: the latest: for {"x":3} the code answered true, a person false.'
	# Without a terminal (and without --wait) nobody can be asked: no audit, the code's answer stands.
	run_us 0 run au.lua
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2 AND how = 'audit'")" 0
	has "$OUT" "got	true"
	run_us 2 run <(echo 'auto("a", function() return 1 end, { audit = 2 })') --name bad
	has "$ERR" 'step "a": audit must be the share of executions a person checks'
}

test_audits_are_drawn_the_same_with_the_same_seed() {
	echo 'for i = 1, 40 do auto("s", function() return i end, { audit = 0.3 }) end' | write s.lua
	local enters i
	enters=$(for i in $(seq 40); do printf 'sendline \\n'; done)
	for seed in 7 7 8; do
		pty "${enters}expect understudy: run\n" run s.lua --seed $seed
		same "$CODE" 0
	done
	local a b c
	a=$(sql "SELECT group_concat(occurrence) FROM (SELECT occurrence FROM steps WHERE run = 1 AND how = 'audit' ORDER BY id) AS t")
	b=$(sql "SELECT group_concat(occurrence) FROM (SELECT occurrence FROM steps WHERE run = 2 AND how = 'audit' ORDER BY id) AS t")
	c=$(sql "SELECT group_concat(occurrence) FROM (SELECT occurrence FROM steps WHERE run = 3 AND how = 'audit' ORDER BY id) AS t")
	[ -n "$a" ] || fail "seed 7 audited nothing"
	same "$b" "$a"
	[ "$c" != "$a" ] || fail "seeds 7 and 8 audited the same executions: $a"
	# About 30%: between 4 and 20 of 40.
	local n
	n=$(tr ',' '\n' <<<"$a" | wc -l)
	[ "$n" -ge 4 ] && [ "$n" -le 20 ] || fail "seed 7 audited $n of 40"
	run_us 2 run s.lua --seed -1
	has "$ERR" "--seed needs a whole number from 0"
}
