# t_ladder.sh: candidates in the shadow of a person, trust, timeouts, notifications.

# route.lua: a routing step whose candidate routes by region.
route_pipeline() {
	write route.lua <<'LUA'
local function route_candidate(inputs)
  if inputs.region == "eu" then return "fra" end
  return "iad"
end
local r = manual("route", "Which data centre?", { type = "string",
  inputs = { region = arg[1] }, candidate = route_candidate, trust = 3 })
print(r)
LUA
}

test_candidate_agreement_is_recorded() {
	route_pipeline
	run_us 0 run route.lua eu --answer route=fra
	same "$OUT" "fra"
	run_us 0 run route.lua us --answer route=sfo
	has "$ERR" "! the candidate proposed \"iad\""
	same "$(us show 1 --json | jq -c '.steps[0] | [.candidate_output, .candidate_agrees, .how]')" '["fra",true,"flag"]'
	same "$(us show 2 --json | jq -c '.steps[0] | [.candidate_output, .candidate_agrees]')" '["iad",false]'
	same "$(sql "SELECT candidate_source FROM steps WHERE run = 1")" "$PWD/route.lua:1-4"
	same "$(us report route --json | jq -c '.[0].candidate_agreement')" '{"agreed":1,"runs":2,"streak":0}'
	same "$(us report route --json | jq -c '.[0].last_disagreement | [.inputs, .output, .candidate_output]')" '[{"region":"us"},"sfo","iad"]'
	run_us 0 report route
	has "$(flat "$OUT")" 'route: candidate agreed 1/2; last disagreement: for {"region":"us"} people answered "sfo", the candidate "iad".'
}

test_trust_earned_then_reset_by_a_mismatch() {
	route_pipeline
	local r
	for r in eu us eu; do run_us 0 run route.lua $r --answer route=$([ $r = eu ] && echo fra || echo iad); done
	# Each agreement said how far toward trust; the third that it was earned.
	has "$ERR" "the candidate agreed (3/3): it has earned trust, and answers alone from now on"
	# Trusted: answers with no input at all.
	run_us 0 run route.lua us
	same "$OUT" "iad"
	has "$ERR" "route answered by the candidate, trusted: the last 3 answers by a person agreed with it"
	has "$ERR" "0 by a person, 1 by the candidate"
	run_us 0 report route --json
	same "$(jq -r '.[0].verdict' <<<"$OUT")" "trusted: candidate answers"
	run_us 0 report route
	has "$OUT" "trusted: candidate answers"
	awk 'length > 80 { exit 1 }' out.txt || fail "a line of the report is wider than 80 columns"
	same "$(sql "SELECT how, output, candidate_agrees IS NULL FROM steps WHERE run = 4")" 'candidate|"iad"|1'
	# --no-trust asks a person; this one disagrees, which resets the count.
	run_us 130 run route.lua eu --no-trust
	has "$ERR" 'end of input at step "route"'
	run_us 0 run route.lua eu --no-trust --answer route=ams
	has "$ERR" '! the candidate proposed "fra"'
	# show and history say what the candidate did.
	run_us 0 history route route
	has "$(head -1 out.txt)" "CANDIDATE"
	has "$OUT" 'differed "fra"'
	has "$OUT" "answered"
	run_us 0 history route route --json
	same "$(jq -c '[.[-1].candidate_output, .[-1].candidate_agrees]' <<<"$OUT")" '["fra",false]'
	run_us 0 show 1
	has "$OUT" 'agreed "fra"'
	run_us 130 run route.lua eu
	has "$ERR" 'end of input at step "route"'
	for r in 1 2; do run_us 0 run route.lua eu --answer route=fra; done
	has "$ERR" "the candidate agreed (2/3 toward trust)"
	run_us 130 run route.lua eu
	run_us 0 run route.lua eu --answer route=fra
	has "$ERR" "the candidate agreed (3/3): it has earned trust"
	run_us 0 run route.lua eu
	has "$ERR" "answered by the candidate, trusted: the last 3 answers by a person agreed with it"
}

test_failing_candidate_never_breaks_the_run() {
	write bad.lua <<'LUA'
local a = manual("a", "?", { type = "number", candidate = function() error("no model loaded") end })
local b = manual("b", "?", { type = "number", candidate = function() return print end })
local c = manual("c", "?", { type = "number", candidate = function() return "seven" end, trust = 1 })
print(a, b, c)
LUA
	run_us 0 run bad.lua --answer a=1 --answer b=2 --answer c=3
	same "$OUT" "1	2	3"
	same "$(sql "SELECT group_concat(candidate_agrees) FROM (SELECT * FROM steps ORDER BY id) AS t")" "0,0,0"
	has "$(sql "SELECT error FROM steps WHERE name = 'a'")" "candidate failed: bad.lua:1: no model loaded"
	has "$(sql "SELECT error FROM steps WHERE name = 'b'")" "cannot be recorded: function value"
	has "$(sql "SELECT error FROM steps WHERE name = 'c'")" "not a valid answer: expected a number, got a string"
	same "$(sql "SELECT status FROM runs")" "ok"
	has "$ERR" "! the candidate failed: candidate failed: bad.lua:1: no model loaded"
}

test_show_offers_the_candidate_and_compare_decides() {
	write show.lua <<'LUA'
local v = manual("label", "Label it", { type = "string", show = true,
  candidate = function() return "Cat" end,
  compare = function(a, b) return a:lower() == b:lower() end })
print(v)
LUA
	echo | "$UNDERSTUDY" run show.lua >out.txt 2>err.txt || fail "exit $?"
	same "$(cat out.txt)" "Cat"
	has "$(cat err.txt)" "label (the candidate proposes Cat)>"
	echo cat | "$UNDERSTUDY" run show.lua >out.txt 2>err.txt || fail "exit $?"
	same "$(cat out.txt)" "cat"
	same "$(sql "SELECT group_concat(candidate_agrees) FROM (SELECT * FROM steps ORDER BY id) AS t")" "1,1"
}

test_ladder_option_mistakes() {
	echo 'manual("x", "?", { type = "string", trust = 2 })' | write t1.lua
	run_us 2 run t1.lua
	has "$ERR" 't1.lua:1: step "x": trust needs a candidate'
	echo 'manual("x", "?", { timeout = 5 })' | write t2.lua
	run_us 2 run t2.lua
	has "$ERR" 'step "x": timeout needs a default'
	echo 'manual("x", "?", { candidate = function() end, trust = 0 })' | write t3.lua
	run_us 2 run t3.lua
	has "$ERR" "trust must be a whole number"
}

test_timeout_takes_the_default_when_nobody_answers() {
	write wait.lua <<'LUA'
local v = manual("approve", "Approve?", { type = "boolean", default = false, timeout = 0.3 })
print(v)
LUA
	# A pipe that stays open and never answers.
	sleep 5 | "$UNDERSTUDY" run wait.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "false"
	has "$(cat err.txt)" "no answer in 0.3 s: the default is taken"
	same "$(sql "SELECT how, output FROM steps")" "default|false"
	# Answered in time, the answer counts.
	echo y | "$UNDERSTUDY" run wait.lua >out.txt 2>err.txt || fail "exit $?"
	same "$(cat out.txt)" "true"
}

test_notify_posts_when_a_step_waits() {
	httpd_start
	write n.lua <<LUA
local v = manual("sign-off", "Sign the release", { type = "boolean", inputs = { version = "1.4" },
  notify = "http://127.0.0.1:$PORT/hook" })
print(v)
LUA
	echo y | "$UNDERSTUDY" run n.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "true"
	same "$(wc -l <httpd.log)" "1"
	same "$(jq -r '[.method, .path, .headers["content-type"]] | join(" ")' httpd.log)" "POST /hook application/json"
	same "$(jq -c '.body | fromjson' httpd.log)" \
		'{"inputs":{"version":"1.4"},"instructions":"Sign the release","occurrence":1,"pipeline":"n","run":1,"step":"sign-off","text":"n: step \"sign-off\" of run 1 waits for a person. Answer it with: understudy answer 1 '"'sign-off'"' VALUE"}'
	# Answered by a flag, nobody waits: no notification.
	run_us 0 run n.lua --answer sign-off=y
	same "$(wc -l <httpd.log)" "1"
	# Once serve --url said where the page lives, the message links to it (text: what chat webhooks show).
	timeout 2 "$UNDERSTUDY" serve --listen 127.0.0.1:0 --url https://understudy.example.com/ 2>/dev/null || :
	echo y | "$UNDERSTUDY" run n.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(tail -1 httpd.log | jq -r '.body | fromjson | [.url, .text] | join(" | ")')" \
		'https://understudy.example.com/ | n: step "sign-off" of run 3 waits for a person. Answer it at https://understudy.example.com/'
	UNDERSTUDY_URL=http://box:8765 "$UNDERSTUDY" run n.lua <<<y >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(tail -1 httpd.log | jq -r '.body | fromjson | .url')" 'http://box:8765/'
	# A failed notification is a warning, never a failure.
	kill $HTTPD_PID; wait $HTTPD_PID 2>/dev/null
	echo y | "$UNDERSTUDY" run n.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	has "$(cat err.txt)" "warning: step \"sign-off\": notify http://127.0.0.1:$PORT/hook failed"
	same "$(cat out.txt)" "true"
}

test_ready_candidate_and_its_suggested_code() {
	route_pipeline
	local r
	for r in eu us eu us eu; do run_us 0 run route.lua $r --no-trust --answer route=$([ $r = eu ] && echo fra || echo iad); done
	run_us 0 report route --json
	same "$(jq -r '.[0].verdict' <<<"$OUT")" "ready: candidate"
	run_us 0 suggest route route
	cp out.txt suggestion.lua
	has "$OUT" "The candidate's code (from $PWD/route.lua:1-4)"
	has "$OUT" 'return auto(name, function(inputs)'
	run_us 0 check suggestion.lua
	{ cat suggestion.lua; sed 's/manual("route"/route_auto("route"/' route.lua; } >auto.lua
	run_us 0 run auto.lua us --name route
	same "$OUT" "iad"
	same "$(sql "SELECT kind, how, output FROM steps ORDER BY id DESC LIMIT 1")" 'auto|run|"iad"'
}
