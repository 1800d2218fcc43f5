# t_report.sh: report, suggest and export, over histories built by real runs.

# Six runs of a labelling pipeline, answered by flags:
#   label   the same answer for the same kind (lookup)
#   version always 1.0 (constant)
#   mood    different answers, no inputs (varies)
#   token   secret; rare only in some runs (too few runs)
qc_history() {
	write qc.lua <<'LUA'
local kind = arg[1]
local label = manual("label", "Label the sample", { type = "string", inputs = { kind = kind } })
local v = manual("version", "Version?", { default = "1.0" })
local mood = manual("mood", "Mood?", { type = "string" })
manual("token", "Token?", { secret = true })
if kind == "bird" then manual("rare", "Birds only", { type = "number" }) end
print(label, v, mood)
LUA
	local i=0 k l
	for k in cat dog cat bird dog cat; do
		case $k in cat) l=feline ;; dog) l=canine ;; bird) l=avian ;; esac
		i=$((i + 1))
		"$UNDERSTUDY" run qc.lua $k --answer label=$l --answer version= --answer mood=m$i \
			--answer token=t0ken --answer rare=3 >/dev/null 2>&1 || fail "run $i failed"
	done
}

# verdict STEP: the step's verdict in report --json.
verdict() { us report qc --json | jq -r --arg s "$1" '.[] | select(.step == $s) | .verdict'; }

test_report_verdicts() {
	qc_history
	same "$(verdict label)" "ready: lookup"
	same "$(verdict version)" "ready: constant"
	same "$(verdict mood)" "varies"
	same "$(verdict token)" "secret"
	same "$(verdict rare)" "too few runs"
	run_us 0 report qc --json
	same "$(jq -c '.[] | select(.step == "label") | [.pipeline, .kind, .executions, .manual_executions, .distinct_outputs, .input_groups, .candidate_agreement]' <<<"$OUT")" \
		'["qc","manual",6,6,3,3,null]'
	same "$(jq -r '.[] | select(.step == "mood") | .reason' <<<"$OUT")" \
		'no inputs to tell them apart, different answers: people answered "m1" (1 time), "m2" (1 time), "m3" (1 time) and 3 more'
	same "$(jq -r '[.[0] | has("human_ms"), has("verdict"), has("step")] | all' <<<"$OUT")" "true"
	run_us 0 report qc --min-runs 7
	has "$(flat "$OUT")" "label too few runs 6 3 3"
	has "$OUT" "Nothing is ready to automate yet"
	run_us 2 report nope
	has "$ERR" "no pipeline nope"
	run_us 2 report --min-runs 0
	has "$ERR" "--min-runs needs a whole number"
}

test_report_varies_names_the_inputs_that_disagree() {
	echo 'manual("route", "Route?", { type = "string", inputs = { region = arg[1] } })' | write r.lua
	for a in "eu a" "eu a" "us b" "eu c" "us b" "us b"; do
		set -- $a
		us run r.lua $1 --answer route=$2 2>/dev/null || fail "run failed"
	done
	run_us 0 report r
	has "$(flat "$OUT")" 'route: varies: same inputs, different answers: for {"region":"eu"} people answered "a" (2 times) and "c" (1 time).'
	same "$(us report r --json | jq -c '.[0].conflicts')" \
		'[{"count":2,"inputs":{"region":"eu"},"output":"a"},{"count":1,"inputs":{"region":"eu"},"output":"c"}]'
}

test_report_ranks_by_human_time() {
	write two.lua <<'LUA'
manual("quick", "Type q", { type = "string" })
manual("slow", "Type s", { type = "string" })
LUA
	local i
	# Human time is a person's at a prompt: typed on a terminal, slowly for "slow".
	for i in 1 2 3 4 5; do
		printf 'expect quick>\nsendline q\nexpect slow>\nsleep 400\nsendline s\n' |
			"$TEST_BIN/ptyrun" -t 20 -- "$UNDERSTUDY" run two.lua >/dev/null 2>&1 || fail "run $i failed"
	done
	# Answers given in advance are counted apart, and never as human time.
	(echo q; sleep 0.4; echo s) | "$UNDERSTUDY" run two.lua >/dev/null 2>&1 || fail "the piped run failed"
	run_us 0 report two --json
	same "$(jq -c '[.[] | .answers_in_advance]' <<<"$OUT")" "[1,1]"
	run_us 0 report two --json
	same "$(jq -r '[.[] | .step] | join(" ")' <<<"$OUT")" "slow quick"
	[ "$(jq '.[0].human_ms' <<<"$OUT")" -ge 1500 ] || fail "human time of slow: $(jq '.[0].human_ms' <<<"$OUT")"
	same "$(jq -r '.[0].rank' <<<"$OUT")" "1"
	run_us 0 report two
	same "$(sed -n 2p out.txt | awk '{ print $1 }')" "slow"
	has "$(flat "$(tail -n 3 out.txt)")" 'Automate `slow` next: 6 answers, always the same answer ("s"), '
	has "$(flat "$(tail -n 3 out.txt)")" ' of human time so far.'
	awk 'length > 80 { exit 1 }' out.txt || fail "a line of the report is wider than 80 columns"
}

test_report_checks_automation_against_people() {
	echo 'manual("size", "Size?", { type = "number", inputs = { n = tonumber(arg[1]) } })' | write s.lua
	for n in 1 2 3; do us run s.lua $n --answer size=$((n * 10)) 2>/dev/null || fail "run"; done
	# Now automated, with a bug for n = 3.
	echo 'auto("size", function(i) return i.n == 3 and 99 or i.n * 10 end, { inputs = { n = tonumber(arg[1]) } })' | write s.lua
	for n in 1 2 3; do us run s.lua $n 2>/dev/null || fail "run"; done
	run_us 0 report s --json
	same "$(jq -r '.[0].verdict' <<<"$OUT")" "automated"
	same "$(jq -c '.[0].disagreements' <<<"$OUT")" '[{"auto_output":99,"inputs":{"n":3},"manual_output":30}]'
	run_us 0 report s
	has "$(flat "$OUT")" "size: automated: the code disagrees with people for 1 kind of inputs of 3 recorded ones."
	has "$OUT" '  for {"n":3} the code answers 99, people answered 30'
}

test_report_follows_a_step_from_people_to_code_and_back() {
	write people.lua <<'LUA'
manual("size", "Size?", { type = "number" })
manual("ask", "Ask?", { type = "number" })
LUA
	echo 'auto("size", function() return 10 end)' | write code.lua
	us run people.lua --name s --answer size=10 --answer ask=1 2>/dev/null || fail "run"
	us run code.lua --name s 2>/dev/null || fail "run"
	us run code.lua --name s 2>/dev/null || fail "run"
	us run people.lua --name s --answer size=10 --answer ask=1 2>/dev/null || fail "run"
	# People's answers are counted from their rows; step_totals holds the code's executions only.
	same "$(sql "SELECT name || ':' || auto_executions FROM step_totals ORDER BY name")" "size:2"
	local shape='[.[] | [.step, .kind, .executions, .manual_executions, .auto_executions]] | sort'
	for window in "" "--since 2000-01-01"; do
		# shellcheck disable=SC2086
		run_us 0 report s --json $window
		same "$(jq -c "$shape" <<<"$OUT")" '[["ask","manual",2,2,0],["size","manual",4,2,2]]'
	done
	us run code.lua --name s 2>/dev/null || fail "run"
	for window in "" "--since 2000-01-01"; do
		# shellcheck disable=SC2086
		run_us 0 report s --json $window
		same "$(jq -c "$shape" <<<"$OUT")" '[["ask","manual",2,2,0],["size","auto",5,2,3]]'
	done
}

test_suggest_constant_compiles_and_reproduces() {
	write cfg.lua <<'LUA'
local cfg = manual("config", "Paste the config", { type = "json" })
print(json.encode(cfg), math.type(cfg.rate), math.type(cfg.n))
LUA
	local value='{"n": 3, "rate": 2.5, "half": 0.1, "list": [1, "two", {"x": true}], "text": "say \"hi\"\nbye", "empty": []}'
	for i in 1 2 3 4 5; do us run cfg.lua --answer "config=$value" >/dev/null 2>&1 || fail "run"; done
	run_us 0 suggest cfg config
	cp out.txt suggestion.lua
	has "$OUT" "ready: constant"
	run_us 0 check suggestion.lua
	# Put the suggestion in place of the manual(...) call.
	local code
	code=$(grep -v '^--' suggestion.lua)
	{ printf 'local cfg = %s\n' "$code"; tail -n +2 cfg.lua; } >auto.lua
	grep -q 'auto("config"' auto.lua || fail "substitution failed"
	run_us 0 run auto.lua --name cfg
	same "$OUT" "$(sql "SELECT output FROM steps WHERE run = 1")	float	integer"
}

test_suggest_lookup_compiles_and_reproduces() {
	qc_history
	run_us 0 suggest qc label
	cp out.txt suggestion.lua
	has "$OUT" "ready: lookup"
	run_us 0 check suggestion.lua
	{ cat suggestion.lua; sed 's/manual("label"/label_lookup("label"/' qc.lua; } >lookup.lua
	for k in cat dog bird; do
		run_us 0 run lookup.lua $k --name qc --answer version= --answer mood=x --answer token=t --answer rare=1
		same "$(cut -f1 <<<"$OUT")" "$(case $k in cat) echo feline ;; dog) echo canine ;; bird) echo avian ;; esac)"
	done
	same "$(sql "SELECT group_concat(how) FROM (SELECT * FROM steps WHERE name = 'label' AND run > 6 ORDER BY id) AS t")" "run,run,run"
	# Inputs never seen still go to a person.
	run_us 130 run lookup.lua fish --name qc --answer version= --answer mood=x --answer token=t
	has "$ERR" 'end of input at step "label"'
	run_us 0 run lookup.lua fish --name qc --answer label=piscine --answer version= --answer mood=x --answer token=t
	same "$(cut -f1 <<<"$OUT")" "piscine"
}

test_suggest_refuses_with_evidence() {
	qc_history
	run_us 1 suggest qc mood
	has "$ERR" 'step "mood" is not ready to automate: varies'
	has "$ERR" 'no inputs: "m1" (1 time)'
	same "$OUT" ""
	run_us 1 suggest qc rare
	has "$ERR" "too few runs: 1 manual answer; at least 5 needed"
	run_us 1 suggest qc token
	has "$ERR" "secret"
	run_us 0 suggest qc rare --min-runs 1
	has "$OUT" 'auto("rare", function() return 3 end)'
	run_us 2 suggest qc nostep
	has "$ERR" 'no step "nostep" recorded in pipeline qc'
	run_us 2 suggest nope label
	has "$ERR" "no pipeline nope"
	run_us 2 suggest qc
	has "$ERR" "usage: understudy suggest PIPELINE STEP"
}

test_export_json_lines_and_csv() {
	qc_history
	run_us 0 export qc
	same "$(wc -l <out.txt)" "25"
	same "$(head -n 1 out.txt | jq -c '[.run, .pipeline, .seq, .name, .kind, .how, .inputs, .output, .secret]')" \
		'[1,"qc",1,"label","manual","flag",{"kind":"cat"},"feline",false]'
	same "$(jq -s -r '[.[] | select(.name == "token") | .output] | unique | tostring' out.txt)" "[null]"
	run_us 0 export qc --csv
	same "$(head -n 1 out.txt | tr -d '\r' | cut -d, -f1-10)" "run,pipeline,seq,name,occurrence,kind,how,status,inputs,output"
	same "$(sed -n 2p out.txt | tr -d '\r' | cut -d, -f1-4)" "1,qc,1,label"
	has "$(sed -n 2p out.txt)" '"{""kind"":""cat""}","""feline""",'
	same "$(wc -l <out.txt)" "26"
	run_us 2 export --json
	has "$ERR" "option --json does not apply to 'export'"
}

test_report_review_fixes() {
	# Non-ASCII answers are cut between characters, and text that is not UTF-8 still exports.
	echo 'manual("v", "?", { type = "string" })' | write u.lua
	local long; long=$(printf 'a%.0s' 1; printf 'é%.0s' $(seq 29))
	for i in 1 2 3 4 5; do us run u.lua --answer "v=$long" >/dev/null 2>&1 || fail "run"; done
	run_us 0 report u --json
	same "$(jq -r '.[0].verdict' <<<"$OUT")" "ready: constant"
	printf 'manual("s", "i\\xff", { default = "x" })\nerror("bad \\xfe")\n' >bad.lua
	echo | "$UNDERSTUDY" run bad.lua >/dev/null 2>&1
	run_us 0 export bad
	same "$(head -n 1 out.txt | jq -r '.instructions')" "i�"
	run_us 0 show 6 --json
	has "$(jq -r '.error' <<<"$OUT")" "bad �"
	# Keys that are Lua keywords, the smallest integer.
	write k.lua <<'LUA'
local v = manual("k name", "?", { type = "json" })
print(json.encode(v), math.type(v.min))
LUA
	for i in 1 2 3 4 5; do us run k.lua --answer 'k name={"end":1,"and":2,"min":-9223372036854775808}' >/dev/null 2>&1 || fail "run"; done
	run_us 0 suggest k 'k name'
	cp out.txt s.lua
	run_us 0 check s.lua
	{ printf 'local v = '; grep -v '^--' s.lua; printf 'print(json.encode(v), math.type(v.min))\n'; } >lit.lua
	run_us 0 run lit.lua
	same "$OUT" '{"and":2,"end":1,"min":-9223372036854775808}	integer'
}

test_report_candidate_streak_and_fixed_code() {
	# Agreement that people stopped confirming is not a verdict.
	write c.lua <<'LUA'
local use = arg[1] == "with"
manual("pick", "?", { type = "string", candidate = use and function() return "a" end or nil })
LUA
	for i in 1 2 3 4 5; do us run c.lua with --answer pick=a >/dev/null 2>&1 || fail "run"; done
	same "$(us report c --json | jq -r '.[0].verdict')" "ready: candidate"
	us run c.lua without --answer pick=b >/dev/null 2>&1
	same "$(us report c --json | jq -r '.[0].verdict')" "varies"
	# The candidate is found though another function shares its line.
	write two.lua <<'LUA'
manual("t", "?", { type = "string", validate = function(v) return true end, candidate = function(i) return "yes" end })
LUA
	for i in 1 2 3 4 5; do us run two.lua --answer t=yes >/dev/null 2>&1 || fail "run"; done
	run_us 0 suggest two t
	has "$OUT" 'return auto(name, function(i) return "yes" end'
	# An automated step, once fixed, agrees for every input: each input counted once.
	echo 'manual("size", "?", { type = "number", inputs = { n = tonumber(arg[1]) } })' | write s.lua
	for n in 1 2 3; do us run s.lua $n --answer size=$((n * 10)) >/dev/null 2>&1 || fail "run"; done
	echo 'auto("size", function(i) return i.n == 3 and 99 or i.n * 10 end, { inputs = { n = tonumber(arg[1]) } })' | write s.lua
	for n in 1 2 3; do us run s.lua $n >/dev/null 2>&1 || fail "run"; done
	echo 'auto("size", function(i) return i.n * 10 end, { inputs = { n = tonumber(arg[1]) } })' | write s.lua
	us run s.lua 3 >/dev/null 2>&1 || fail "run"
	run_us 0 report s --json
	same "$(jq -c '.[0].disagreements' <<<"$OUT")" '[]'
	has "$(jq -r '.[0].reason' <<<"$OUT")" "agrees with people for all 3 recorded kinds of inputs"
}
