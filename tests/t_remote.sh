# t_remote.sh: steps waiting for a person, answered from elsewhere: the
# waiting list, `understudy answer`, and the runner that takes the first answer.

# waiting_count N: `understudy waiting --json` lists N steps.
waiting_count() { [ "$("$UNDERSTUDY" waiting --json 2>/dev/null | jq length)" = "$1" ]; }

# A release sign-off and a target with a validate that says no to prod.
release_script() {
	write release.lua <<'LUA'
local ok = manual("sign-off", "Metrics look right?", { type = "boolean", inputs = { accuracy = 0.91 } })
local env = manual("target", "Deploy where?", {
  choices = { "staging", "prod" }, default = "staging",
  validate = function(v) if v == "prod" then return nil, "not on a Friday" end return true end,
})
print("done", ok, env)
LUA
}

test_answer_from_another_shell() {
	release_script
	runner_start release.lua
	local pid=$RUNNER_PID
	eventually waiting_count 1
	run_us 0 waiting --json
	same "$(jq -c '.[0] | [.run, .pipeline, .step, .occurrence, .type, .inputs, .operator, .secret]' <<<"$OUT")" \
		'[1,"release","sign-off",1,"boolean",{"accuracy":0.91},"tester",false]'
	[ "$(jq -r '.[0].since' <<<"$OUT")" != null ] || fail "no since: $OUT"
	run_us 0 waiting
	has "$OUT" "sign-off"
	has "$OUT" "STARTED BY"
	run_us 0 waiting release --json
	same "$(jq length <<<"$OUT")" 1
	run_us 2 waiting other --json
	has "$ERR" "waiting: no pipeline other in"
	# A wrong answer reaches the answerer, and the step still waits.
	run_us 1 answer 1 sign-off maybe
	has "$ERR" 'answer y or n, not "maybe"'
	run_us 0 answer 1 sign-off y --operator bob --note "numbers checked"
	has "$ERR" '"sign-off" answered by bob'
	# Someone later is told who was first.
	run_us 1 answer 1 sign-off n --operator carol
	has "$ERR" "already answered by bob at "
	# validate runs in the runner; its refusal reaches the answerer.
	eventually waiting_count 1
	run_us 0 waiting --json
	same "$(jq -c '.[0] | [.step, .type, .choices, .default]' <<<"$OUT")" '["target","choice",["staging","prod"],"staging"]'
	run_us 1 answer 1 target prod
	has "$ERR" "not on a Friday"
	run_us 0 answer 1 target 1 --operator carol
	wait $pid || fail "the runner failed: $(cat runner.err)"
	has "$(cat runner.out)" "done	true	staging"
	has "$(cat runner.err)" "answered by bob (remote)"
	has "$(cat runner.err)" "refused: not on a Friday"
	same "$(sql "SELECT name, how, operator, output, coalesce(note, '') FROM steps ORDER BY seq")" \
		"sign-off|remote|bob|true|numbers checked
target|remote|carol|\"staging\"|"
	run_us 0 show 1 --json
	same "$(jq -r '.steps[0].note' <<<"$OUT")" "numbers checked"
	run_us 0 waiting --json
	same "$OUT" "[]"
	same "$(sql "SELECT group_concat(state, ' ') FROM (SELECT state FROM waits ORDER BY id) AS t")" "answered answered"
	same "$(sql "SELECT group_concat(state, ' ') FROM (SELECT state FROM offers ORDER BY id) AS t")" \
		"refused taken refused taken"
}

test_answer_says_what_is_wrong_with_its_words() {
	release_script
	run_us 0 run release.lua --answer sign-off=y --answer target=staging
	run_us 2 answer x sign-off y
	has "$ERR" "RUN must be a run number, not 'x'"
	run_us 2 answer 1 sign-off
	has "$ERR" "usage: understudy answer RUN STEP VALUE"
	run_us 1 answer 1 sign-off y
	has "$ERR" 'run 1 has no step "sign-off" waiting for an answer'
	run_us 1 answer 7 nothing y
	has "$ERR" 'run 7 has no step "nothing" waiting'
	run_us 2 waiting --note x
	has "$ERR" "option --note does not apply to 'waiting'"
}

test_a_terminal_and_a_remote_answer_race() {
	release_script
	# The person at the terminal is beaten to the first step, and answers the second.
	(
		eventually waiting_count 1
		"$UNDERSTUDY" answer 1 sign-off n --operator bob >remote.out 2>&1
		echo $? >remote.code
	) &
	local helper=$!
	at_end "kill $helper 2>/dev/null"
	printf 'expect sign-off [y/n]> \nexpect answered by bob (remote)\nexpect target [1-2]\nsendline 1\n' |
		"$TEST_BIN/ptyrun" -t 20 -- "$UNDERSTUDY" run release.lua >pty.txt 2>pty.err
	CODE=$?
	wait $helper
	same "$CODE" 0
	same "$(cat remote.code)" 0
	same "$(sql "SELECT name, how, operator FROM steps ORDER BY seq")" "sign-off|remote|bob
target|prompt|tester"
	# The terminal's answer ended the wait: a late answer is told so.
	run_us 1 answer 1 target prod
	has "$ERR" "already answered by tester at "
}

test_a_killed_runner_is_not_listed_as_waiting() {
	release_script
	runner_start release.lua
	local pid=$RUNNER_PID
	eventually waiting_count 1
	kill -9 $pid
	wait $pid 2>/dev/null
	run_us 0 waiting --json
	same "$OUT" "[]"
	run_us 1 answer 1 sign-off y
	has "$ERR" 'run 1 stopped waiting at step "sign-off": its process (pid '"$pid"
	same "$(sql "SELECT count(*) FROM offers")" "0"
}

test_a_runner_elsewhere_is_listed_while_it_beats() {
	release_script
	runner_start release.lua
	local pid=$RUNNER_PID
	eventually waiting_count 1
	# As if the runner were on another machine: its pid cannot be checked, its beat can.
	sql "UPDATE waits SET host = 'elsewhere', pid = 1" >/dev/null
	run_us 0 waiting --json
	same "$(jq length <<<"$OUT")" "1"
	if on_pg; then
		sql "UPDATE waits SET beat = now() - interval '1 minute'" >/dev/null
	else
		sql "UPDATE waits SET beat = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds')" >/dev/null
	fi
	# A minute without a beat: listed no more. The runner beats again within 5 s.
	run_us 0 waiting --json
	same "$OUT" "[]"
	eventually waiting_count 1
	kill $pid
	wait $pid
	same "$?" 143
}

test_an_interrupted_or_timed_out_wait_ends() {
	write t.lua <<'LUA'
manual("quick", "?", { type = "boolean", default = true, timeout = 1 })
manual("slow", "?", { type = "boolean" })
LUA
	runner_start t.lua
	local pid=$RUNNER_PID
	eventually grep -q "the default is taken" runner.err
	eventually waiting_count 1
	kill -INT $pid
	wait $pid
	same "$?" 130
	same "$(sql "SELECT name, state, coalesce(how, '') FROM waits ORDER BY id")" "quick|default|default
slow|interrupted|"
	run_us 1 answer 1 quick n
	has "$ERR" "already answered: no answer came in time and the default was taken at "
	run_us 1 answer 1 slow n
	has "$ERR" 'run 1 stopped waiting at step "slow" at '
	has "$ERR" ": interrupted"
}

test_without_wait_standard_input_is_read_as_before() {
	release_script
	printf 'y\n1\n' | "$UNDERSTUDY" run release.lua >out.txt 2>err.txt || fail "$(cat err.txt)"
	same "$(sql "SELECT group_concat(how, ' ') FROM steps")" "stdin stdin"
	same "$(sql "SELECT count(*) FROM waits")" "0"
	# UNDERSTUDY_WAIT=1 is --wait.
	UNDERSTUDY_WAIT=1 "$UNDERSTUDY" run release.lua </dev/null >/dev/null 2>runner.err &
	local pid=$!
	at_end "kill $pid 2>/dev/null"
	eventually waiting_count 1
	run_us 0 answer 2 sign-off y
	run_us 0 answer 2 target 1
	wait $pid || fail "$(cat runner.err)"
	same "$(sql "SELECT group_concat(how, ' ') FROM steps WHERE run = 2")" "remote remote"
}

test_a_secret_step_is_answered_only_at_its_terminal() {
	write s.lua <<'LUA'
manual("token", "Paste the token", { secret = true })
LUA
	run_us 2 run s.lua --wait </dev/null
	has "$ERR" "step \"token\" is secret: it is answered only at a terminal or with --answer 'token=VALUE'"
	(
		eventually waiting_count 1
		"$UNDERSTUDY" answer 2 token guessed >remote.out 2>&1
		echo $? >remote.code
		touch remote.done
	) &
	local helper=$!
	at_end "kill $helper 2>/dev/null"
	printf 'expect (hidden)> \nsleep 1500\nsendline hunter2\n' |
		"$TEST_BIN/ptyrun" -t 20 -- "$UNDERSTUDY" run s.lua >pty.txt 2>pty.err
	wait $helper
	same "$(cat remote.code)" 1
	has "$(cat remote.out)" 'step "token" is secret: it is answered only at the runner'"'"'s terminal'
	same "$(sql "SELECT count(*) FROM offers")" "0"
	same "$(sql "SELECT how FROM steps WHERE run = 2")" "prompt"
}

test_pg_a_waiting_runner_listens_for_answers() {
	release_script
	runner_start release.lua
	local pid=$RUNNER_PID
	eventually waiting_count 1
	eventually [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN understudy_offers'")" = 1 ]
	run_us 0 answer 1 sign-off y
	run_us 0 answer 1 target 1
	wait $pid || fail "$(cat runner.err)"
}

test_a_done_step_answered_fail_fails_the_run() {
	write smoke.lua <<'LUA'
manual("smoke test", "Click through checkout")
print("after")
LUA
	# At the prompt (here, standard input), with the reason after "fail:".
	echo "fail: checkout gives 500" | "$UNDERSTUDY" run smoke.lua >out.txt 2>err.txt
	same "$?" 1
	same "$(cat out.txt)" ""
	has "$(cat err.txt)" 'step "smoke test" failed: answered fail by tester: checkout gives 500'
	lacks "$(cat err.txt)" "stack traceback"
	# From elsewhere, the reason in the note; the run can be resumed and the step asked again.
	runner_start smoke.lua
	local pid=$RUNNER_PID
	eventually waiting_count 1
	run_us 0 answer 2 "smoke test" fail --operator bob --note "the cart is empty"
	wait $pid
	same "$?" 1
	same "$(sql "SELECT run, status, how, operator, error FROM steps ORDER BY id")" \
		"1|failed|stdin|tester|answered fail by tester: checkout gives 500
2|failed|remote|bob|answered fail by bob: the cart is empty"
	run_us 0 resume 2 --answer "smoke test="
	same "$OUT" "after"
}
